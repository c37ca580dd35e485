"""Integration tests of the test infrastructure in tests/support."""
