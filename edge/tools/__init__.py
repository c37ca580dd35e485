"""Offline tools: replay, evaluation against ground truth, bench, demo and drawing."""
