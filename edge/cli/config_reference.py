"""The configuration reference of the edge and the dashboard in one document (``greetcue config
reference``): the edge's models and the dashboard's settings meet only here, in the CLI."""

from __future__ import annotations

from dashboard.settings import DashboardConfig
from edge.config import Config
from edge.config.reference import key_table


def reference_markdown() -> str:
    """Every configuration key of the edge and of the dashboard with its type, default and
    meaning, as Markdown tables."""
    return "\n".join(
        [
            "# greetcue configuration reference",
            "",
            "Generated from `edge/config/` and `dashboard/settings.py` by `greetcue config "
            "reference`; do not edit by hand. Each is one YAML file; unknown keys are errors.",
            "",
            "## Edge service (`greetcue run --config`; check with `greetcue config check`)",
            "",
            *key_table(Config),
            "",
            "## Dashboard (`greetcue dashboard --config`)",
            "",
            *key_table(DashboardConfig),
            "",
        ]
    )
