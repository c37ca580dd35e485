"""Unit tests: no broker, database, browser, footage or weights; fakes and clocks the test holds."""
