"""Commands whose libraries come with an extra (``pip install 'greetcue[dashboard]'``, ``[tools]``).

The dashboard's command groups (``dashboard``, ``users``, ``tokens``, ``staff``) are imported
only when one is called, so ``greetcue run`` never loads the dashboard's libraries; on an
edge-only install each says which extra to install, and so does any command that imports a
library of an extra that is not installed (``missing_extra``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer's own click (typer >= 0.29 vendors it): the types its group uses
    from typer._click import Command, Context

GROUPS = ("dashboard", "users", "tokens", "staff")  # each is ``<name>_app`` in dashboard.cli
EXTRA_OF = {  # the top-level modules of each extra's libraries (pyproject.toml)
    **dict.fromkeys(
        [
            *("sqlalchemy", "alembic", "jinja2", "uvicorn", "argon2", "itsdangerous"),
            *("multipart", "psycopg", "sse_starlette", "httpx"),
        ],
        "dashboard",
    ),
    "matplotlib": "tools",
    "lgpio": "pi",
}


class MissingExtraError(RuntimeError):
    """A command needs an extra that is not installed; the message names it."""


class LazyDashboardGroups(TyperGroup):
    """The greetcue app's group: the dashboard's groups come last, loaded on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in GROUPS:
            return super().get_command(ctx, cmd_name)
        try:
            cli = importlib.import_module("dashboard.cli")
        except ModuleNotFoundError as missing:
            return _needs_extra(cmd_name, missing.name or "a dashboard library")
        group = typer.main.get_group(getattr(cli, f"{cmd_name}_app"))
        group.name = cmd_name
        return group


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """What to say when ``error`` is a library of an extra that is not installed, else None."""
    extra = EXTRA_OF.get((error.name or "").partition(".")[0])
    if extra is None:
        return None
    return f"{error.name} is not installed; it comes with the {extra} extra: {install(extra)}"


def install(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'greetcue[{extra}]'"


def _needs_extra(name: str, module: str) -> Command:
    """A stand-in for the group ``name`` that fails, naming the extra to install."""

    from rich.markup import escape

    def fail() -> None:
        raise MissingExtraError(
            f"greetcue {name} needs the dashboard extra, which is not installed ({module} is "
            f"missing): {install('dashboard')}"
        )

    return TyperCommand(
        name,
        callback=fail,
        help=escape(f"(not installed: {install('dashboard')})"),  # typer reads help as markup
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
