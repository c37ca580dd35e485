"""Unit tests of the dashboard on a SQLite store in the test's own folder."""
