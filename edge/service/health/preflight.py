"""What ``greetcue run`` needs of a configuration before it starts anything.

``run`` and ``greetcue config check`` call the same function, so a configuration the check
passes is one the service accepts, and both say what is missing and the command that fixes it.
"""

from __future__ import annotations

from edge.config import Config, ConfigError
from edge.perception.geometry.calibration import CalibrationError, load_camera


def problems(config: Config, path: str = "CONFIG") -> list[str]:
    """Each reason ``greetcue run`` would refuse ``config`` (read from ``path``), with its fix;
    [] when it is ready."""
    calibrate = f"greetcue calibrate --config {path} --image SNAPSHOT --out camera.yaml"
    calibration = config.calibration
    if calibration is None:
        return [
            "calibration: missing; the service measures distances with a calibrated camera: "
            "list four or more floor points (or an ArUco marker) under calibration, run "
            f"`{calibrate}` and set calibration.camera_file: camera.yaml "
            "(README, Setting up a camera)"
        ]
    if calibration.camera_file is not None:
        try:
            load_camera(calibration.camera_file)
        except CalibrationError as exc:
            return [f"calibration.camera_file: {exc}"]
    elif calibration.floor_points is None:
        return [
            "calibration.aruco: the marker is gone once the camera is set up, so the service "
            f"needs the camera solved from it: run `{calibrate}` and set "
            "calibration.camera_file: camera.yaml"
        ]
    return []


def check(config: Config, origin: str = "the configuration") -> None:
    """Raise a :class:`ConfigError` listing :func:`problems`, if there are any."""
    found = problems(config)
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        raise ConfigError(f"greetcue run cannot start with {origin}:\n{lines}")
