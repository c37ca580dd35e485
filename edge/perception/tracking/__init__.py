"""Tracking: boxes matched to tracks across frames (optimal assignment, Kalman-smoothed boxes)."""
