"""Integration tests: a real Mosquitto, PostgreSQL, Chromium or greetcue process, started by
the tests."""
