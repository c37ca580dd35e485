"""Writing what arrives: each event once by id, and what it means for its cue, the camera and
the zone. Safe with several ingest workers on one database: an event's effects are applied
only by the worker whose insert created it, and each of a cue's facts is written once.

A cue has one outcome, and the first one stored stays. The edge closes a cue once, by an ack
or by the customer leaving, and sends that event once (a redelivery has the same id and is
refused above), so a second outcome for a cue is forged or a bug:

- a later ack, whatever time it claims, never rewrites the stored ack (its latency, device,
  staff, zones), nor turns a customer who left into an acknowledged one; it only adds to the
  cue's ``acks`` (so ``acks`` > 1, or ``acks`` with no ``acked_s``, shows that it happened);
- a later ``left_unacknowledged`` never turns an acknowledged customer into one who left;
- a later first cue (escalation 0) or zone entry never rewrites when the cue was issued, to
  which device, or its lead.

Its event row is stored all the same (the record of what arrived)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from dashboard.store import rollups, staging
from dashboard.store.event_inserts import insert_events
from dashboard.store.staging import STAGED_CUES
from dashboard.store.tables import CameraRow, CueRow, EventRow, OccupancyRow
from edge.contract import AckRecorded, CueIssued, CueUnacknowledged, Event, ZoneEnter

Row = dict[str, Any]


@dataclass(frozen=True)
class Availability:
    """A camera went online or offline."""

    site: str
    camera: str
    online: bool
    at_s: float


@dataclass(frozen=True)
class MetricsSeen:
    """A camera's latest metrics payload."""

    site: str
    camera: str
    payload: str
    at_s: float


@dataclass(frozen=True)
class Received:
    """A valid event with the time it reached the dashboard."""

    event: Event
    received_s: float
    payload: bytes | None = None  # as it arrived (validated); None: serialise the event


def _insert(connection: Connection, table: Any) -> Any:
    """A dialect insert with ``on_conflict_*`` (SQLite and PostgreSQL spell it alike)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# The ``events`` columns in the order the raw inserts bind them.
EVENT_COLUMNS = (
    "id",
    "type",
    "site",
    "camera",
    "track_id",
    "zone",
    "device",
    "staff",
    "cue_id",
    "captured_s",
    "received_s",
    "payload",
)


def _event_values(item: Received) -> tuple[Any, ...]:
    """An event's ``events`` row as values in ``EVENT_COLUMNS`` order. The fields only some
    event types have are read from the model's dict (pydantic's ``getattr`` fallback for a
    missing attribute costs more than the rest of the row)."""
    event = item.event
    fields = event.__dict__
    cue = fields.get("cue_id")
    return (
        str(event.id),
        event.type,
        event.site,
        event.camera,
        event.track_id,
        event.zone,
        fields.get("device"),
        fields.get("staff"),
        str(cue) if cue else None,
        event.captured_at.timestamp(),
        item.received_s,
        item.payload.decode() if item.payload else event.model_dump_json(),
    )


def store_events(connection: Connection, items: Sequence[Received]) -> list[Received]:
    """Insert the events not stored yet; apply the effects of those, return them."""
    if not items:
        return []
    if connection.dialect.name == "postgresql":
        staging.prepare(connection)
    rows = {values[0]: (values, item) for item in items for values in [_event_values(item)]}
    ordered = [rows[key][0] for key in sorted(rows)]  # one lock order for all workers
    new_ids = insert_events(connection, EVENT_COLUMNS, ordered)
    fresh = [item for key, (_, item) in rows.items() if key in new_ids]
    effects: dict[str, list[Row]] = {name: [] for name in _UPDATES}
    for item in fresh:
        _effects(item.event, effects)
    _apply(connection, effects)
    return fresh


def _effects(event: Event, effects: dict[str, list[Row]]) -> None:
    """What an event changes in its cue's row, by kind of change."""
    cue_id = getattr(event, "cue_id", None)
    if cue_id is None:
        return
    base = {
        "cue_id": str(cue_id),
        "site": event.site,
        "camera": event.camera,
        "track_id": event.track_id,
        "zone": event.zone,
    }
    if isinstance(event, CueIssued) and event.escalation == 0:
        effects["first_cue"].append(
            base
            | {
                "issued": True,
                "reason": event.reason,
                "device": event.device,
                "cued_s": event.captured_at.timestamp(),
                "expires_s": event.expires_at.timestamp(),
            }
        )
    elif isinstance(event, CueIssued):
        effects["escalation"].append(
            base | {"escalations": event.escalation, "expires_s": event.expires_at.timestamp()}
        )
    elif isinstance(event, ZoneEnter):
        effects["lead"].append(base | {"lead_s": event.lead_s})
    elif isinstance(event, AckRecorded):
        effects["outcome"].append(
            base
            | _NO_OUTCOME
            | {
                "ack_event": str(event.id),
                "acked_s": event.cued_at.timestamp() + event.latency_s,
                "latency_s": event.latency_s,
                "ack_device": event.device,
                "staff": event.staff,
                "acks": 1,
                "cued_s": event.cued_at.timestamp(),
                "before": "," + "".join(f"{z}," for z, b in sorted(event.before.items()) if b),
            }
        )
    elif isinstance(event, CueUnacknowledged):
        effects["outcome"].append(
            base
            | _NO_OUTCOME
            | {
                "left_s": event.captured_at.timestamp(),
                "cued_s": event.cued_at.timestamp(),
                "reason": event.reason,
            }
        )


# The outcome columns: an ack and a leaving fill different ones, but both are written by one
# statement with every key, so the first outcome to arrive is the one stored.
_OUTCOME_KEYS = ("ack_event", "acked_s", "latency_s", "ack_device", "staff", "before", "left_s")
_NO_OUTCOME: Row = dict.fromkeys(_OUTCOME_KEYS) | {"acks": 0, "reason": None}


def _later(old: Any, new: Any) -> Any:
    """The later of two expiry times, whichever of a cue's events arrives first."""
    return case((old.is_(None) | (old < new), new), else_=old)


def _first(condition: Any, statement: Any, table: Any, keys: Sequence[str]) -> Row:
    """Each of ``keys`` from the new row while ``condition`` holds, else the stored value."""
    new = statement.excluded
    return {key: case((condition, new[key]), else_=table[key]) for key in keys}


def _first_cue(statement: Any, table: Any) -> Row:
    keys = ("issued", "reason", "device", "cued_s", "track_id", "zone")
    update = _first(table.issued.is_not(True), statement, table, keys)
    update["expires_s"] = _later(table.expires_s, statement.excluded.expires_s)
    return update


def _escalation(statement: Any, table: Any) -> Row:
    new = statement.excluded.escalations
    return {
        "escalations": case((table.escalations < new, new), else_=table.escalations),
        "expires_s": _later(table.expires_s, statement.excluded.expires_s),
    }


def _lead(statement: Any, table: Any) -> Row:
    return _first(table.lead_s.is_(None), statement, table, ("lead_s",))


def _outcome(statement: Any, table: Any) -> Row:
    """An ack or a leaving, only while the cue has neither; every ack adds to ``acks``."""
    still_open = table.acked_s.is_(None) & table.left_s.is_(None)
    update = _first(still_open, statement, table, _OUTCOME_KEYS)
    update["acks"] = table.acks + statement.excluded.acks
    return update


_UPDATES = {
    "first_cue": _first_cue,
    "escalation": _escalation,
    "lead": _lead,
    "outcome": _outcome,
}


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _cue_statement(connection: Connection, update: Any) -> Any:
    """The upsert for one kind of change, built once per dialect."""
    key = (connection.dialect.name, update)
    if key not in _STATEMENTS:
        statement = _insert(connection, CueRow)
        _STATEMENTS[key] = statement.on_conflict_do_update(
            index_elements=["cue_id"], set_=update(statement, CueRow.__table__.c)
        )
    return _STATEMENTS[key]


def _rounds(rows: list[Row]) -> list[list[Row]]:
    """The rows in as few rounds as can be in which each cue appears once (PostgreSQL refuses
    a statement that updates one row twice), each in cue order (one lock order for all
    workers)."""
    rounds: list[dict[str, Row]] = []
    for row in sorted(rows, key=lambda row: str(row["cue_id"])):
        free = next((r for r in rounds if row["cue_id"] not in r), None)
        if free is None:
            free = {}
            rounds.append(free)
        free[row["cue_id"]] = row
    return [list(batch.values()) for batch in rounds]


def _apply(connection: Connection, effects: dict[str, list[Row]]) -> None:
    """Each kind of change to its cue rows, and the marks of the cues changed: a statement a
    round and kind. On PostgreSQL every change is staged by one ``COPY``, then the upserts and
    the marks run as one request (a round trip each cost more than the statement under load)."""
    if connection.dialect.name != "postgresql":
        for name, rows in effects.items():
            for batch in _rounds(rows):
                sql, keys = _driver_upsert(connection, name, tuple(batch[0]))
                values = [tuple(row.get(key, _DEFAULTS.get(key)) for key in keys) for row in batch]
                connection.exec_driver_sql(sql, values)
        rollups.mark(connection, (row["cue_id"] for rows in effects.values() for row in rows))
        return
    staged: list[tuple[Any, ...]] = []
    statements = []
    for name, rows in effects.items():
        for step, batch in enumerate(_rounds(rows)):
            staged += [(name, step, *(row.get(key) for key in STAGED_KEYS)) for row in batch]
            statements.append(_staged_upsert(connection, name, step, tuple(batch[0])))
    if staged:
        staging.copy_rows(connection, STAGED_CUES.name, ("kind", "step", *STAGED_KEYS), staged)
        connection.exec_driver_sql(";".join([*statements, MARK_STAGED]))


# What a new cue row takes for the columns a kind of change leaves out.
_DEFAULTS = {
    column.name: column.default.arg
    for column in CueRow.__table__.c
    if isinstance(column.default, ScalarElementColumnDefault)
}
_DRIVER_SQL: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}


def _driver_upsert(
    connection: Connection, name: str, keys: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """The upsert of one kind of change (the rows' ``keys``) as the driver's SQL and the
    columns it binds, in order (those with a default included), made once: SQLAlchemy's
    binding of each row cost more than SQLite's work."""
    key = (connection.dialect.name, name, keys)
    if key not in _DRIVER_SQL:
        columns = [*keys, *(column for column in _DEFAULTS if column not in keys)]
        compiled = _cue_statement(connection, _UPDATES[name]).compile(
            dialect=connection.dialect, column_keys=columns
        )
        bound = tuple(compiled.positiontup or ())
        if sorted(bound) != sorted(columns):  # a value bound in the update itself
            raise RuntimeError(f"the {name} upsert binds {bound}, not the columns {columns}")
        _DRIVER_SQL[key] = (str(compiled), bound)
    return _DRIVER_SQL[key]


STAGED_KEYS = tuple(CueRow.__table__.c.keys())
MARK_STAGED = (
    f"INSERT INTO rollup_dirty (cue_id) SELECT DISTINCT cue_id FROM {STAGED_CUES.name} "
    "ORDER BY cue_id"
)
_STAGED_SQL: dict[tuple[Any, ...], str] = {}


def _staged_upsert(connection: Connection, name: str, step: int, keys: tuple[str, ...]) -> str:
    """The SQL of the upsert of one kind and round of staged changes (their ``keys``), made
    once: it binds nothing (its kind and round are literals), so several go in one request."""
    key = (name, step, keys)
    if key not in _STAGED_SQL:
        s, c = STAGED_CUES.c, CueRow.__table__.c
        defaults = {  # what a new row takes for the columns this kind leaves out
            name: literal(value, c[name].type).label(name)
            for name, value in _DEFAULTS.items()
            if name not in keys
        }
        rows = (
            select(*(s[column] for column in keys), *defaults.values())
            .where(s.kind == name, s.step == step)
            .order_by(s.cue_id)
        )
        statement = postgresql.insert(CueRow).from_select(
            [*keys, *defaults], rows, include_defaults=False
        )
        statement = statement.on_conflict_do_update(
            index_elements=["cue_id"], set_=_UPDATES[name](statement, CueRow.__table__.c)
        )
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        _STAGED_SQL[key] = str(compiled)
    return _STAGED_SQL[key]


def store_availability(connection: Connection, item: Availability) -> None:
    """A camera's availability; an older message never overwrites a newer one."""
    values = {"site": item.site, "camera": item.camera, "online": item.online}
    values["changed_s"] = item.at_s
    statement = _insert(connection, CameraRow).values(**values)
    table = CameraRow.__table__.c
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera"],
        set_={"online": item.online, "changed_s": item.at_s},
        where=table.changed_s <= item.at_s,
    )
    connection.execute(statement)
    if not item.online:
        close_cues(connection, item.site, item.camera, item.at_s, "camera_offline")


def close_cues(connection: Connection, site: str, camera: str, at_s: float, why: str) -> int:
    """Close the cues of a camera still open at ``at_s`` (neither acknowledged nor left nor
    closed): it stopped, so nobody will answer them; how many."""
    cues = CueRow.__table__.c
    statement = (
        update(CueRow)
        .where(
            cues.site == site,
            cues.camera == camera,
            cues.cued_s <= at_s,
            cues.acked_s.is_(None),
            cues.left_s.is_(None),
            cues.closed_s.is_(None),
        )
        .values(closed_s=at_s, closed_why=why)
        .returning(cues.cue_id)
    )
    closed = list(connection.scalars(statement))
    rollups.mark(connection, closed)
    return len(closed)


def store_metrics(connection: Connection, item: MetricsSeen) -> None:
    """A camera's latest metrics (creating the camera, offline-unknown, if new)."""
    values = {"site": item.site, "camera": item.camera, "online": True, "changed_s": item.at_s}
    statement = _insert(connection, CameraRow).values(
        **values, metrics=item.payload, metrics_s=item.at_s
    )
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera"], set_={"metrics": item.payload, "metrics_s": item.at_s}
    )
    connection.execute(statement)


def store_occupancy(connection: Connection, values: Row) -> None:
    """A zone's retained occupancy; an older message never overwrites a newer one."""
    statement = _insert(connection, OccupancyRow).values(**values)
    keep = {k: v for k, v in values.items() if k not in ("site", "camera", "zone")}
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera", "zone"],
        set_=keep,
        where=OccupancyRow.__table__.c.updated_s <= values["updated_s"],
    )
    connection.execute(statement)


def count_events(connection: Connection) -> int:
    """How many events are stored."""
    return int(connection.scalar(select(func.count()).select_from(EventRow)) or 0)
