"""Integration tests of deploy/: a chain of stores, install.sh, arm64."""
