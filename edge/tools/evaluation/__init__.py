"""Evaluation against ground truth: detection, tracking, ranging, and the mounting simulation."""
