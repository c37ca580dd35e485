"""The ``greetcue`` command line: one entry point, one sub-command per job.

Importing the command modules registers their commands on the app.
"""

from dashboard.cli import dashboard_app, staff_app, tokens_app, users_app
from edge.cli import (  # noqa: F401
    measure_commands,
    replay_commands,
    service_commands,
    setup_commands,
)
from edge.cli.apps import app, run

app.add_typer(dashboard_app, name="dashboard")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(staff_app, name="staff")

__all__ = ["app", "run"]
