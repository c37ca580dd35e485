"""``python -m edge.cli``: the ``greetcue`` command without its console script."""

from edge.cli import run

run()
