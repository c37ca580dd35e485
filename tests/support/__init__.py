"""What the tests share: the fixtures tests/conftest.py loads as plugins, fakes, payloads and the
on-demand arm64 check."""
