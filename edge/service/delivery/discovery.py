"""Home Assistant MQTT discovery: one device-based config message per camera.

Home Assistant builds its entities from a retained message on
``<discovery_prefix>/device/<object_id>/config``: the device and origin once, then one
component per entity (``cmps``, each with its platform ``p``). greetcue needs no
Home-Assistant-specific topics: every entity reads the retained zone occupancy the service
publishes anyway, and the availability topic (also the will) greys them out when the service
is gone. Home Assistant forgets discovered entities when it restarts without a broker session,
so the message is sent again, after a random delay that keeps many cameras from answering the
same birth message at once, whenever ``homeassistant/status`` says ``online``.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any, NamedTuple

from edge.config import Config, MqttConfig, ZoneConfig
from edge.contract import Topic
from edge.plumbing.throttle import LogThrottle
from edge.service.delivery.publisher import Send

log = logging.getLogger(__name__)

QOS = 1
RESEND_DELAY_S = (1.0, 5.0)
EXPIRE_REFRESHES = 3  # entities go unavailable after this many missed occupancy refreshes
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class DiscoveryMessage(NamedTuple):
    """One message to publish, exactly as it goes on the wire."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


def object_id(site: str, camera: str) -> str:
    """The device's id in discovery topics and unique ids: derived from names only, so it is
    stable across restarts, and limited to the characters Home Assistant accepts."""
    return _UNSAFE.sub("_", f"greetcue_{site}_{camera}")


def package_version() -> str:
    """The installed greetcue version, shown as the device's and the origin's software."""
    return metadata.version("greetcue")


def _support_url() -> str | None:
    """The project's home page from the package metadata, if it names one."""
    meta = metadata.metadata("greetcue")
    urls = [entry.split(",", 1)[-1].strip() for entry in meta.get_all("Project-URL") or []]
    urls += meta.get_all("Home-page") or []
    return urls[0] if urls else None


class Discovery:
    """Publishes the discovery config on connect and again after Home Assistant's birth."""

    def __init__(
        self,
        config: Config,
        send: Send,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
        resend_delay_s: tuple[float, float] = RESEND_DELAY_S,
    ) -> None:
        mqtt = config.mqtt or MqttConfig()
        if mqtt.discovery_prefix is None:
            raise ValueError("mqtt.discovery_prefix is none: Home Assistant discovery is off")
        self._config = config
        self._prefix = mqtt.prefix
        self._send = send
        self._uniform = uniform
        self._resend_delay_s = resend_delay_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False
        self._ignored = self._coalesced = 0
        self._info, self._debug = LogThrottle(), LogThrottle()
        self.object_id = object_id(config.site, config.camera.name)
        self.config_topic = Topic.HA_DISCOVERY.build(
            discovery_prefix=mqtt.discovery_prefix, object_id=self.object_id
        )
        self.status_topic = Topic.HA_STATUS.build(discovery_prefix=mqtt.discovery_prefix)

    def payload(self) -> dict[str, Any]:
        """The device-based discovery payload."""
        return {
            "dev": self._device(),
            "o": self._origin(),
            "availability_topic": self._topic(Topic.AVAILABILITY),
            "payload_available": "online",
            "payload_not_available": "offline",
            "qos": QOS,
            "cmps": self._components(),
        }

    def messages(self) -> list[DiscoveryMessage]:
        """What to publish: the retained config message."""
        body = json.dumps(self.payload(), separators=(",", ":")).encode()
        return [DiscoveryMessage(self.config_topic, body, QOS, True)]

    def on_connect(self) -> None:
        """Publish the config now (the client calls this on every (re)connect)."""
        self._publish(self.messages())

    @property
    def counts(self) -> dict[str, int]:
        """Status messages that caused no re-send, by kind: ``ha_status_ignored`` (not
        ``online``) and ``ha_status_coalesced`` (``online`` while a re-send was pending)."""
        return {"ha_status_ignored": self._ignored, "ha_status_coalesced": self._coalesced}

    def on_status(self, payload: bytes) -> None:
        """A message on ``homeassistant/status``: on ``online``, publish again after a delay.

        Anyone may write this topic, so a flood costs little: one re-send is pending at a
        time, later births join it, and the log says so at most once per interval.
        """
        if payload.strip() != b"online":
            self._ignored += 1
            if log.isEnabledFor(logging.DEBUG) and (held := self._debug.ready()) is not None:
                status = payload[:40].decode("utf-8", "replace")
                log.debug(
                    "Home Assistant status %r: nothing to do%s", status, LogThrottle.since(held)
                )
            return
        with self._lock:
            if self._closed:
                return
            if self._timer is not None:
                self._coalesced += 1
                when = "is due already"
            else:
                delay_s = self._uniform(*self._resend_delay_s)
                self._timer = threading.Timer(delay_s, self._resend)
                self._timer.daemon = True
                self._timer.start()
                when = f"again in {delay_s:.1f} s"
        if (held := self._info.ready()) is not None:
            log.info("Home Assistant is online: discovery %s%s", when, LogThrottle.since(held))

    def close(self) -> None:
        """Cancel a pending re-send; later birth messages are ignored."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _resend(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._timer is threading.current_thread():
                self._timer = None
        try:
            self._publish(self.messages())
        except Exception:  # a timer thread has nobody to raise to
            log.exception("Home Assistant discovery could not be re-sent")

    def _publish(self, messages: list[DiscoveryMessage]) -> None:
        for message in messages:
            self._send(message.topic, message.payload, message.qos, message.retain)

    def _topic(self, topic: Topic, **names: str) -> str:
        site, camera = self._config.site, self._config.camera.name
        return topic.build(prefix=self._prefix, site=site, camera=camera, **names)

    def _device(self) -> dict[str, Any]:
        return {
            "identifiers": [self.object_id],
            "name": f"greetcue {self._config.site} {self._config.camera.name}",
            "manufacturer": "greetcue",
            "model": "greetcue edge counter camera",
            "sw_version": package_version(),
        }

    def _origin(self) -> dict[str, Any]:
        origin = {"name": "greetcue", "sw": package_version()}
        url = _support_url()
        return origin if url is None else {**origin, "url": url}

    def _components(self) -> dict[str, dict[str, Any]]:
        expire_after = round(EXPIRE_REFRESHES * self._config.service.occupancy_refresh_s)
        zones = sorted(self._config.zones, key=lambda zone: zone.radius_ft, reverse=True)
        outer = self._topic(Topic.ZONE, zone=zones[0].name)
        components = {f"zone_{_UNSAFE.sub('_', z.name)}": self._zone(z) for z in zones}
        components["nearest"] = {
            "p": "sensor",
            "name": "Nearest person",
            "unique_id": f"{self.object_id}_nearest",
            "device_class": "distance",
            "unit_of_measurement": "ft",
            "state_class": "measurement",
            "suggested_display_precision": 1,
            "state_topic": outer,
            # null (nobody inside) renders as "None", which Home Assistant shows as unknown
            "value_template": "{{ value_json.nearest_ft }}",
        }
        components["people"] = {
            "p": "sensor",
            "name": f"People within {zones[0].name}",
            "unique_id": f"{self.object_id}_people",
            "icon": "mdi:account-multiple",
            "unit_of_measurement": "people",
            "state_class": "measurement",
            "state_topic": outer,
            "value_template": "{{ value_json.count }}",
        }
        for component in components.values():
            component["expire_after"] = expire_after
        return components

    def _zone(self, zone: ZoneConfig) -> dict[str, Any]:
        return {
            "p": "binary_sensor",
            "name": f"Zone {zone.name}",
            "unique_id": f"{self.object_id}_zone_{_UNSAFE.sub('_', zone.name)}",
            "device_class": "occupancy",
            "state_topic": self._topic(Topic.ZONE, zone=zone.name),
            "value_template": "{{ 'ON' if value_json.count > 0 else 'OFF' }}",
        }
