"""The ``greetcue`` command line: one entry point, one sub-command per job.

Importing the command modules registers their commands on the app; the dashboard's groups are
imported when called (``edge.cli.extras``).
"""

from edge.cli import (  # noqa: F401
    cue_commands,
    measure_commands,
    replay_commands,
    service_commands,
    setup_commands,
)
from edge.cli.apps import app, run

__all__ = ["app", "run"]
