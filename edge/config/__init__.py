"""One validated YAML configuration: every key typed, documented and checked at start-up.

Unknown keys are rejected (a misspelt key must fail, not be ignored), and every error names
the key, the bad value and what to do about it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import Field, ValidationError, model_validator

from edge.config.base import ConfigError, Pair, Strict
from edge.config.perception import (
    ArucoMarker,
    CalibrationConfig,
    CameraConfig,
    CounterConfig,
    DetectorConfig,
    FloorPoint,
    RangingConfig,
    TilesConfig,
    TrackerConfig,
)
from edge.config.service import (
    ButtonConfig,
    BuzzerConfig,
    CueConfig,
    EmbeddedBrokerConfig,
    GpioConfig,
    LightConfig,
    MqttConfig,
    OutboxConfig,
    PresenceConfig,
    ServiceConfig,
    TlsConfig,
    ZoneConfig,
    default_zones,
)
from edge.contract import Name
from edge.plumbing.config_errors import invalid

__all__ = [
    "ArucoMarker",
    "ButtonConfig",
    "BuzzerConfig",
    "CalibrationConfig",
    "CameraConfig",
    "Config",
    "ConfigError",
    "CounterConfig",
    "CueConfig",
    "DetectorConfig",
    "EmbeddedBrokerConfig",
    "FloorPoint",
    "GpioConfig",
    "LightConfig",
    "MqttConfig",
    "OutboxConfig",
    "Pair",
    "PresenceConfig",
    "RangingConfig",
    "ServiceConfig",
    "Strict",
    "TilesConfig",
    "TlsConfig",
    "TrackerConfig",
    "ZoneConfig",
    "load_config",
    "parse_config",
    "write_config",
]

_EVERY_KEY = " (`greetcue config reference` lists every key)"


class Config(Strict):
    """The whole greetcue edge configuration."""

    site: Name = Field(
        "store-1", description="site name used in MQTT topics (letters, digits, - _ .)"
    )
    camera: CameraConfig = Field(default_factory=lambda: CameraConfig())
    calibration: CalibrationConfig | None = Field(
        None, description="camera pose; needed for distances"
    )
    counter: CounterConfig = Field(default_factory=lambda: CounterConfig())
    zones: list[ZoneConfig] = Field(default_factory=default_zones, min_length=1)
    mqtt: MqttConfig | None = Field(None, description="no mqtt section: an embedded broker")
    detector: DetectorConfig = Field(default_factory=lambda: DetectorConfig())
    tracker: TrackerConfig = Field(default_factory=lambda: TrackerConfig())
    ranging: RangingConfig = Field(default_factory=lambda: RangingConfig())
    presence: PresenceConfig = Field(default_factory=lambda: PresenceConfig())
    cues: CueConfig = Field(default_factory=lambda: CueConfig())
    gpio: GpioConfig | None = Field(
        None, description="GPIO buzzer, light and button; none: no GPIO"
    )
    embedded_broker: EmbeddedBrokerConfig = Field(default_factory=lambda: EmbeddedBrokerConfig())
    outbox: OutboxConfig = Field(default_factory=lambda: OutboxConfig())
    service: ServiceConfig = Field(default_factory=lambda: ServiceConfig())

    @model_validator(mode="after")
    def _check_zones(self) -> Self:
        names = [zone.name for zone in self.zones]
        if len(set(names)) != len(names):
            raise ValueError(f"zones: names must be unique, got {names}")
        if "waiting" in names:
            raise ValueError(
                "zones: `waiting` is the waiting-customer cue; name the zone otherwise"
            )
        unknown = [name for name in self.cues.zones or [] if name not in names]
        if unknown:
            raise ValueError(
                f"cues.zones names {unknown}, which are not zones; the zones are {names}"
            )
        devices = [d for d in (self._buzzer_device(), self._button_device()) if d is not None]
        for key, device in devices:
            if device not in self.cues.rota:
                raise ValueError(
                    f"{key} is {device!r}, which is not in cues.rota {self.cues.rota}: "
                    "add it there (or name a device of the rota)"
                )
        for key, table in self._per_zone_tables():
            extra = sorted(set(table) - {*names, "waiting"})
            if extra:
                raise ValueError(f"{key} has entries {extra} for no zone; the zones are {names}")
        return self

    @property
    def cue_zones(self) -> list[str]:
        """Names of the zones whose entry cues staff (default: the outermost)."""
        if self.cues.zones is not None:
            return list(self.cues.zones)
        return [max(self.zones, key=lambda zone: zone.radius_ft).name]

    def _buzzer_device(self) -> tuple[str, str] | None:
        buzzer = self.gpio.buzzer if self.gpio is not None else None
        return ("gpio.buzzer.device", buzzer.device) if buzzer is not None else None

    def _button_device(self) -> tuple[str, str] | None:
        button = self.gpio.button if self.gpio is not None else None
        return ("gpio.button.device", button.device) if button is not None else None

    def _per_zone_tables(self) -> list[tuple[str, dict[str, Any]]]:
        tables: list[tuple[str, dict[str, Any]]] = []
        if self.gpio is not None and self.gpio.buzzer is not None:
            tables.append(("gpio.buzzer.patterns", dict(self.gpio.buzzer.patterns)))
        if self.gpio is not None and self.gpio.light is not None:
            tables.append(("gpio.light.colours", dict(self.gpio.light.colours)))
        return tables


def parse_config(data: Any, origin: str = "configuration") -> Config:
    """Validate already-parsed YAML data into a Config, with readable errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, got {data!r}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(invalid(origin, exc, _EVERY_KEY)) from None


def write_config(config: Config, path: Path) -> Path:
    """``config`` as a YAML file ``load_config`` reads back equal: every key is written, an
    explicit none (a key turned off, such as ``service.metrics_port``) included."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path


def load_config(path: Path | str | None) -> Config:
    """Load and validate the YAML file at ``path``; ``None`` gives the embedded defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; check the --config path") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    return parse_config(data, origin=str(path))
