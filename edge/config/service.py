"""Service settings: the zones around the counter, cues and acknowledgements, where events go."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from edge.config.base import Pair, Strict
from edge.contract import DEFAULT_PREFIX, Name


class ZoneConfig(Strict):
    """A ring around the counter; entering it is a zone event."""

    name: Name = Field(description="zone name used in topics and events (letters, digits, - _ .)")
    radius_ft: float = Field(gt=0, le=100, description="ring radius in feet")
    lead_s: float = Field(
        1.0,
        ge=0,
        le=10,
        description="the zone's cue fires this long before the person is predicted to reach "
        "the ring (or when they are inside it); the prediction looks presence.enter_s further "
        "ahead, so the debounce does not shorten the lead",
    )


def default_zones() -> list[ZoneConfig]:
    """The 10-5-3 rule: eye contact at 10 ft, a smile at 5 ft, a greeting at 3 ft."""
    return [ZoneConfig(name=f"{r}ft", radius_ft=r) for r in (10, 5, 3)]


class PresenceConfig(Strict):
    """How a tracked person's position becomes zone state: debounce, hysteresis, approach."""

    enter_s: float = Field(
        0.25,
        ge=0,
        le=5,
        description="a person must be inside a ring (or predicted to reach it) on consecutive "
        "frames for this long before it counts: one noisy frame never buzzes anyone",
    )
    exit_margin_ft: float = Field(
        1.0, ge=0, le=10, description="a person leaves a zone only beyond its radius plus this"
    )
    standing_ftps: float = Field(
        0.6, gt=0, le=10, description="slower than this (ft/s, any direction) is standing"
    )
    approach_cone_deg: float = Field(
        40.0,
        gt=0,
        lt=90,
        description="walking within this angle of straight at the counter is approaching; "
        "straight away from it within the same angle is leaving; otherwise passing",
    )
    approach_miss_ft: float = Field(
        4.0,
        gt=0,
        le=100,
        description="approaching also means walking on a line that passes within this of the "
        "counter: someone aimed wider only brushes the outer zone on the way past",
    )
    classify_s: float = Field(
        0.3,
        ge=0,
        le=5,
        description="a new approach class (approaching / passing / leaving / standing) must "
        "hold this long before it replaces the old one",
    )
    waiting_s: float = Field(
        5.0,
        gt=0,
        le=600,
        description="a person inside the innermost zone this long with no acknowledgement gets "
        "a `waiting` cue",
    )
    exclusion_ft: list[Pair] | None = Field(
        None,
        description="floor polygon (three or more [x, y] points, feet) where staff stand, "
        "e.g. behind the counter: people there are ignored",
    )
    rejoin_ft: float = Field(
        3.0,
        ge=0,
        le=30,
        description="a new track this close (feet) to where a lost or just-ended track was "
        "last seen, allowing for its walking on, is the same person: it keeps that visit, so "
        "a fragmented track never buzzes twice",
    )
    swap_ft: float = Field(
        8.0,
        ge=0,
        le=100,
        description="a track whose box jumps to this far (feet) from where its person was, "
        "walking on, has passed to someone else: the person's visit waits for the track that "
        "finds them again, the track starts a new one",
    )
    rejoin_s: float = Field(
        3.0,
        ge=0,
        le=60,
        description="a new track is taken for a lost or ended one only if it appears at most "
        "this long (seconds) after that track was last seen; 0: never",
    )

    @model_validator(mode="after")
    def _check_polygon(self) -> Self:
        if self.exclusion_ft is not None and len(self.exclusion_ft) < 3:
            raise ValueError(
                f"presence.exclusion_ft has {len(self.exclusion_ft)} points; a floor polygon "
                "needs at least 3 [x, y] corners in feet"
            )
        return self


class CueConfig(Strict):
    """Which zones cue staff, on which devices, and when an unanswered cue escalates."""

    zones: list[Name] | None = Field(
        None,
        description="zones whose entry cues staff; default: the outermost zone only (one buzz "
        "per customer); the counter light shows every zone regardless",
    )
    rota: list[Name] = Field(
        default_factory=lambda: ["counter"],
        min_length=1,
        max_length=32,
        description="devices in escalation order: a cue goes to the first; one not acknowledged "
        "within ack_timeout_s goes on to the next. A device is a GPIO buzzer of that name "
        "and/or a wearable or phone on greetcue/<site>/cue/<device>",
    )
    ack_timeout_s: float = Field(
        8.0, gt=0, le=600, description="an unacknowledged cue escalates after this long"
    )
    expiry_s: float = Field(
        3.0,
        gt=0,
        le=600,
        description="MQTT 5 message expiry of a device cue: a device that connects later never "
        "gets a stale buzz",
    )
    log: bool = Field(True, description="log every cue, escalation and acknowledgement")


Colour = tuple[float, float, float]


def _default_patterns() -> dict[str, list[float]]:
    return {
        "10ft": [0.15],
        "5ft": [0.1, 0.1, 0.1],
        "3ft": [0.1, 0.1, 0.1, 0.1, 0.1],
        "waiting": [0.4, 0.2, 0.4],
    }


def _default_colours() -> dict[str, Colour]:
    return {"10ft": (0.0, 0.0, 1.0), "5ft": (1.0, 0.6, 0.0), "3ft": (0.0, 1.0, 0.0)}


class BuzzerConfig(Strict):
    """A buzzer or vibration motor on a GPIO pin."""

    pin: int | str = Field(description="GPIO pin (BCM number such as 17, or a name like 'GPIO17')")
    device: Name = Field("counter", description="device name in cues.rota")
    active_high: bool = Field(True, description="the pin drives the buzzer on when high")
    patterns: dict[str, list[float]] = Field(
        default_factory=_default_patterns,
        description="per zone (and `waiting`): on, off, on, ... seconds of one cue",
    )


class LightConfig(Strict):
    """An LED (one pin) or RGB LED (three pins) at the counter showing the nearest zone."""

    pins: list[int | str] = Field(
        min_length=1, max_length=3, description="one pin (LED) or three pins [red, green, blue]"
    )
    active_high: bool = Field(True, description="pins light the LED when high")
    colours: dict[str, Colour] = Field(
        default_factory=_default_colours,
        description="per zone: [red, green, blue] from 0 to 1 (a one-pin LED lights for any)",
    )

    @model_validator(mode="after")
    def _check_pins(self) -> Self:
        if len(self.pins) == 2:
            raise ValueError("gpio.light.pins needs one pin (LED) or three (red, green, blue)")
        return self


class ButtonConfig(Strict):
    """A push button that acknowledges the oldest open cue of its device."""

    pin: int | str = Field(description="GPIO pin of the button (wired to ground)")
    device: Name = Field("counter", description="device whose cues it acknowledges")
    bounce_s: float = Field(0.05, ge=0, le=1, description="ignore contact bounce this long")


class GpioConfig(Strict):
    """Outputs and inputs wired to the box's GPIO header (gpiozero)."""

    pin_factory: Literal["auto", "lgpio", "mock"] = Field(
        "auto",
        description="gpiozero pin factory: auto (lgpio on a Raspberry Pi), lgpio, or mock "
        "(simulated pins, for tests and a box without GPIO)",
    )
    buzzer: BuzzerConfig | None = Field(None, description="buzzer or vibration motor")
    light: LightConfig | None = Field(None, description="counter light")
    button: ButtonConfig | None = Field(None, description="acknowledge button")


class TlsConfig(Strict):
    """TLS to the broker."""

    ca_file: Path | None = Field(None, description="CA bundle; default: the system's")
    cert_file: Path | None = Field(None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(None, description="client key (mutual TLS)")
    insecure: bool = Field(False, description="skip the host name check (testing only)")


class MqttConfig(Strict):
    """The MQTT broker events go to."""

    host: str = Field("localhost", min_length=1, description="broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="broker TCP port")
    prefix: str = Field(
        DEFAULT_PREFIX, pattern=r"^[^#+/]+$", description="first topic level of every message"
    )
    client_id: str | None = Field(
        None, description="MQTT client id; default greetcue-<site>-<camera>"
    )
    username: str | None = Field(None, description="broker user name")
    password_env: str = Field(
        "GREETCUE_MQTT_PASSWORD",
        description="environment variable holding the broker password (never in this file)",
    )
    tls: TlsConfig | None = Field(None, description="TLS settings; none: plain TCP")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive")
    reconnect_max_s: float = Field(
        30.0, ge=1, le=600, description="longest wait between reconnect attempts"
    )
    discovery_prefix: str | None = Field(
        "homeassistant", description="Home Assistant discovery prefix; none: no discovery"
    )


class EmbeddedBrokerConfig(Strict):
    """The private Mosquitto started when there is no mqtt section."""

    port: int = Field(
        1884,
        ge=0,
        le=65535,
        description="localhost port (0: any free port); not 1883, which the system Mosquitto "
        "that Debian's package starts already holds",
    )
    executable: str = Field("mosquitto", description="Mosquitto program name or path")
    state_dir: Path | None = Field(
        None, description="persistence folder; default: greetcue's state folder"
    )


class OutboxConfig(Strict):
    """The SQLite outbox every event is written to before it is published."""

    path: Path | None = Field(
        None,
        description="SQLite file; default: outbox-<site>-<camera>.sqlite3 in greetcue's state "
        "folder (/var/lib/greetcue as a service)",
    )
    max_rows: int = Field(
        100_000,
        ge=100,
        le=100_000_000,
        description="at this many unsent events the oldest are dropped (logged and counted)",
    )
    max_age_s: float = Field(
        7 * 24 * 3600.0,
        gt=0,
        description="unsent events older than this are dropped (logged and counted)",
    )
    inflight: int = Field(
        64, ge=1, le=1000, description="events published and awaiting PUBACK at once"
    )
    sync: Literal["normal", "full"] = Field(
        "normal",
        description="normal: a written event survives a crash or kill -9 of the service; full: "
        "also a power cut, at the cost of an fsync per write (milliseconds on an SD card)",
    )


class ServiceConfig(Strict):
    """The running service: camera retries, metrics."""

    camera_stall_s: float = Field(
        5.0, gt=0, le=600, description="a live camera with no frame for this long is offline"
    )
    camera_retry_max_s: float = Field(
        30.0, ge=1, le=600, description="longest wait between attempts to open a camera"
    )
    metrics_interval_s: float = Field(
        5.0, ge=0.5, le=3600, description="metrics on MQTT and in the log this often"
    )
    metrics_port: int | None = Field(
        9464,
        ge=0,
        le=65535,
        description="Prometheus /metrics port (0: any free port; none: no endpoint)",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="address the /metrics endpoint listens on: 127.0.0.1 serves this box "
        "only; 0.0.0.0 (or the box's LAN address) lets a Prometheus on another machine "
        "scrape it, so open it on purpose, on a network you trust",
    )
    occupancy_refresh_s: float = Field(
        60.0, ge=1, le=3600, description="retained zone occupancy is republished this often"
    )
    drain_timeout_s: float = Field(
        30.0, ge=0, le=3600, description="at the end of a file, wait this long for the outbox"
    )
