"""Replays: a source run through the detector or the turn, written as JSON lines, drawn on
video, plotted; the output files they write."""
