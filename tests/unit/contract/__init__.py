"""Unit tests of edge/contract.py, its JSON Schemas and the guide's contract page."""
