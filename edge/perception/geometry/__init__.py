"""Camera geometry: calibration, the pinhole camera, and each person's floor position and
distance to the counter from their boxes."""
