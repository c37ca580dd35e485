"""The Acknowledgement report as one printable A4 page (matplotlib's PDF backend): the plain
figures against the period before, the wait histogram, the trend by hour or day, and the
sites (or a site's cameras) ranked. One figure is one page, so it never runs over."""

from __future__ import annotations

import io
import textwrap
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from dashboard.reports.figures import Acknowledgement, Line, detail_words, lines

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

A4_IN = (8.27, 11.69)
INK, GREY, RULE = "#1f2328", "#59636e", "#d0d7de"
BLUE, ORANGE, GOAL = "#0b57d0", "#b45309", "#0a6b2d"
RAG_COLOURS = {"green": "#1a7f37", "amber": "#b7791f", "red": "#c62828", "none": "#8c959f"}
RAG_LABELS = {"green": "On target", "amber": "Near target", "red": "Below target"}
LEAGUE_ROWS = 12  # more: the best and the worst half each, the middle counted
DETAIL_CHARS = 40  # the detail column's width at 8 pt
LEFT, WIDTH = 0.08, 0.86


def report_pdf(ack: Acknowledgement, generated: datetime) -> bytes:
    """The report's one page as PDF bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_IN)
    _header(figure, ack, generated)
    _figures(figure, ack)
    if ack.report.overall.customers:
        _histogram(figure.add_axes((LEFT, 0.475, WIDTH, 0.125)), ack)
        _trend(figure.add_axes((LEFT, 0.275, WIDTH, 0.125)), ack)
        _league(figure.add_axes((0.24, 0.075, 0.70, 0.13)), ack)
    else:
        figure.text(0.5, 0.45, "No customers in this period.", ha="center", size=14, color=GREY)
    _footer(figure, ack)
    out = io.BytesIO()
    meta = {"Title": f"Acknowledgement report: {ack.scope}, {ack.period}", "Creator": "greetcue"}
    figure.savefig(out, format="pdf", metadata=meta)
    return out.getvalue()


def _header(figure: Figure, ack: Acknowledgement, generated: datetime) -> None:
    figure.text(LEFT, 0.955, "Acknowledgement report", size=20, weight="bold", color=INK)
    # a site's title is free text: its "$" is no formula (names are letters, digits, _ . -)
    figure.text(LEFT, 0.93, _short(ack.scope, 48), size=12.5, color=INK, parse_math=False)
    figure.text(LEFT, 0.908, ack.period, size=12.5, color=INK)
    figure.text(
        LEFT,
        0.888,
        f"How long customers waited from the staff cue to an acknowledgement, against "
        f"{ack.before}. Times in {ack.zone}.",
        size=8.5,
        color=GREY,
    )
    stamp = f"Generated {generated:%Y-%m-%d %H:%M}"
    figure.text(LEFT + WIDTH, 0.955, stamp, size=8, color=GREY, ha="right")


def _figures(figure: Figure, ack: Acknowledgement) -> None:
    """The plain figures as a table: words, this period, the period before, detail."""
    top, row = 0.862, 0.034
    columns = (LEFT, LEFT + 0.35, LEFT + 0.48, LEFT + 0.60)
    heads = ("", "This period", ack.before.capitalize(), "")
    for x, head in zip(columns, heads, strict=True):
        figure.text(x, top, head, size=8, color=GREY, weight="bold")
    rows = lines(ack)
    for i, line in enumerate(rows):
        y = top - 0.03 - i * row
        _rule(figure, y + 0.022)
        _figure_row(figure, columns, y, line)
    _rule(figure, top - 0.03 - len(rows) * row + 0.022)
    figure.text(
        LEFT, top - 0.04 - len(rows) * row, f"In detail: {detail_words(ack)}.", size=8, color=GREY
    )


def _figure_row(figure: Figure, columns: tuple[float, ...], y: float, line: Line) -> None:
    middle = y + 0.005  # every cell centred on the row
    figure.text(columns[0], middle, line.label, size=11, color=INK, va="center")
    colour = RAG_COLOURS[line.rag] if line.rag in RAG_LABELS else INK
    figure.text(columns[1], middle, line.value, size=13, weight="bold", color=colour, va="center")
    figure.text(columns[2], middle, line.previous, size=11, color=GREY, va="center")
    detail = textwrap.fill(line.detail, DETAIL_CHARS)
    figure.text(columns[3], middle, detail, size=8, color=GREY, va="center", linespacing=1.3)


def _rule(figure: Figure, y: float) -> None:
    figure.add_artist(_line(figure, [LEFT, LEFT + WIDTH], [y, y]))


def _line(figure: Figure, xs: list[float], ys: list[float]) -> Any:
    from matplotlib.lines import Line2D

    return Line2D(xs, ys, transform=figure.transFigure, color=RULE, linewidth=0.6)


def _style(axes: Axes, title: str, note: str) -> None:
    axes.set_title(title, loc="left", size=11, weight="bold", color=INK, pad=16)
    axes.text(0, 1.02, note, transform=axes.transAxes, size=7.5, color=GREY)
    axes.spines[["top", "right"]].set_visible(False)
    axes.spines[["left", "bottom"]].set_color(RULE)
    axes.tick_params(labelsize=7.5, colors=GREY)
    axes.grid(axis="y", color=RULE, linewidth=0.5)
    axes.set_axisbelow(True)


def _goals(ack: Acknowledgement) -> list[float]:
    return sorted({float(goal["goal_s"]) for goal in ack.report.goals})


def _histogram(axes: Axes, ack: Acknowledgement) -> None:
    from matplotlib.ticker import MaxNLocator

    bins = ack.report.histogram
    labels = [
        f"{b['from_s']}+" if b["to_s"] is None else f"{b['from_s']}-{b['to_s']}" for b in bins
    ]
    axes.bar(range(len(bins)), [b["count"] for b in bins], width=0.85, color=BLUE)
    axes.set_xticks(range(len(bins)), labels)
    axes.set_xlabel("seconds from cue to acknowledgement", size=7.5, color=GREY)
    axes.set_ylabel("customers", size=7.5, color=GREY)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for row, goal in enumerate(_goals(ack)):
        x = _bin_position(bins, goal)
        axes.axvline(x, color=GOAL, linestyle="--", linewidth=1.2)
        where = axes.get_xaxis_transform()
        label = f"goal {goal:g} s"
        axes.text(x + 0.1, 0.97 - 0.12 * row, label, transform=where, size=7, color=GOAL, va="top")
    _style(axes, "Waits", "Customers acknowledged, by seconds waited. Dashed: the daypart goals.")


def _bin_position(bins: list[dict[str, Any]], seconds: float) -> float:
    """Where ``seconds`` falls on the uneven bin axis (bar i spans i - 0.5 to i + 0.5)."""
    for i, b in enumerate(bins):
        if b["to_s"] is None or seconds < b["to_s"]:
            width = 0 if b["to_s"] is None else (seconds - b["from_s"]) / (b["to_s"] - b["from_s"])
            return float(i - 0.5 + width)
    return len(bins) - 0.5


def _trend(axes: Axes, ack: Acknowledgement) -> None:
    hourly = ack.days == 1
    rows = ack.report.by_hour if hourly else ack.report.by_day
    xs = list(range(len(rows)))
    labels = [r["key"] if hourly else _day_label(r["key"], len(rows)) for r in rows]
    for key, colour, name in (
        ("p90_s", ORANGE, "9 in 10 within (p90)"),
        ("p50_s", BLUE, "typical (p50)"),
    ):
        values = [float("nan") if r[key] is None else r[key] for r in rows]
        axes.plot(xs, values, color=colour, linewidth=2, marker="o", markersize=3.5, label=name)
    if hourly:
        goals = [_goal_at(ack.report.goals, int(r["key"][:2]) * 60) for r in rows]
        axes.step(xs, goals, where="mid", **_GOAL_LINE, label="goal")
    elif strictest := min(_goals(ack), default=None):
        axes.axhline(strictest, **_GOAL_LINE, label=f"goal {strictest:g} s (strictest daypart)")
    step = max(1, len(xs) // 16)
    axes.set_xticks(xs[::step], labels[::step])
    axes.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    axes.set_ylim(bottom=0)
    axes.set_ylabel("seconds", size=7.5, color=GREY)
    axes.legend(loc="upper right", fontsize=7, frameon=False, ncols=3, bbox_to_anchor=(1, 1.2))
    what = "hour of the day" if hourly else "day"
    _style(axes, f"By {what}", f"Waits by {what} (the store's local time).")


_GOAL_LINE: dict[str, Any] = {"color": GOAL, "linestyle": "--", "linewidth": 1.2}


def _goal_at(goals: list[dict[str, Any]], minute: int) -> float:
    """The goal of the daypart a local minute of the day is in (dayparts cover the day)."""
    for goal in goals:
        start, end = _minutes(goal["start"]), _minutes(goal["end"]) or 1440
        inside = start <= minute < end if end > start else (minute >= start or minute < end)
        if inside:
            return float(goal["goal_s"])
    return float("nan")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _day_label(day: str, days: int) -> str:
    """'Sat 28' within a fortnight, '28 Nov' over longer periods."""
    when = date.fromisoformat(day)
    return f"{when:%a} {when.day}" if days <= 14 else f"{when.day} {when:%b}"


def _league(axes: Axes, ack: Acknowledgement) -> None:
    rows, what = ack.report.league_sites, "Sites"
    if len(rows) <= 1 and ack.report.league_cameras:
        rows, what = ack.report.league_cameras, "Cameras"
    shown, hidden = _best_and_worst(rows)
    names = [_short(row["key"], 24) if row else f"... {hidden} more ..." for row in shown]
    shares = [(row["within_goal"] or 0) * 100 if row else 0 for row in shown]
    colours = [RAG_COLOURS[row["rag"]] if row else "none" for row in shown]
    slots = max(len(shown), 5)  # a few rows stay thin, at the top
    ys = [slots - 1 - i for i in range(len(shown))]
    axes.barh(ys, shares, color=colours, height=0.7)
    axes.set_yticks(ys, names)
    axes.set_xlim(0, 100)
    axes.set_ylim(-0.6, slots - 0.4)
    axes.axvline(ack.target * 100, color=GOAL, linestyle="--", linewidth=1.2)
    for y, row in zip(ys, shown, strict=True):
        if row:
            people = "customer" if row["customers"] == 1 else "customers"
            words = f"{(row['within_goal'] or 0) * 100:.0f} %  ·  {row['customers']:,} {people}"
            if row["p90_s"] is not None:
                words += f"  ·  9 in 10 within {row['p90_s']:.1f} s"
            axes.text(
                1.5,
                y,
                words,
                va="center",
                size=7,
                color="white" if (row["within_goal"] or 0) > 0.45 else INK,
            )
    axes.set_xlabel("acknowledged within the goal (%)", size=7.5, color=GREY)
    _style(axes, f"{what}, best first", f"Dashed: the target, {ack.target * 100:.0f} %.")
    axes.grid(axis="x", color=RULE, linewidth=0.5)
    axes.grid(axis="y", visible=False)


def _best_and_worst(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | None], int]:
    """All rows when they fit; else the best and the worst, a gap (None) between them."""
    if len(rows) <= LEAGUE_ROWS:
        return list(rows), 0
    half = (LEAGUE_ROWS - 1) // 2
    return [*rows[:half], None, *rows[-half:]], len(rows) - 2 * half


def _short(text: str, most: int) -> str:
    """Names are up to 64 characters (a site / camera twice that): the page keeps its width."""
    return text if len(text) <= most else text[: most - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _footer(figure: Figure, ack: Acknowledgement) -> None:
    goals = ", ".join(
        f"{g['name']} {g['start']}-{g['end']} {g['goal_s']:g} s" for g in ack.report.goals
    )
    words = (
        f"Goals by daypart: {goals}. Customers who left before anyone acknowledged count as "
        "missed in the service level and never in the waits. Waiting cues (customers cued "
        f"while already at the counter) are counted apart: {ack.report.waiting.customers}. "
        "p50, p90: the waits that half and 9 in 10 of the acknowledged customers stayed within."
    )
    text = "\n".join(textwrap.wrap(words, 150))
    figure.text(LEFT, 0.012, text, size=6.5, color=GREY, linespacing=1.5)
