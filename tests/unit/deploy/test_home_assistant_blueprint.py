"""The Home Assistant blueprint (deploy/home-assistant/): its templates, rendered as Home
Assistant renders them (Jinja2, with its `now`, `as_datetime` and `to_json`), listen on the
device's cue topic, name the cue in staff words, and turn the Acknowledge action into an ack
the edge's own contract accepts, on the device's ack topic; a cue past its expiry is not shown.
"""

from __future__ import annotations

import ast
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from edge.contract import Ack, CueCommand, Topic, decode, encode
from tests.support.paths import REPO

BLUEPRINT = REPO / "deploy" / "home-assistant" / "greetcue-cue-to-phone.yaml"
INPUTS = {"site": "store-1", "device": "phone-1", "topic_prefix": "greetcue", "phone": "abc123"}


class _Loader(yaml.SafeLoader):
    """Home Assistant's `!input name` tag, replaced by the automation's value."""


def _input(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return INPUTS[str(loader.construct_scalar(node))]


_Loader.add_constructor("!input", _input)


def _home_assistant() -> SandboxedEnvironment:
    env = SandboxedEnvironment()
    env.globals["now"] = lambda: datetime.now(UTC)
    env.globals["as_datetime"] = datetime.fromisoformat
    env.filters["to_json"] = json.dumps
    return env


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(BLUEPRINT.read_text(), Loader=_Loader)
    return loaded


def native(text: str) -> Any:
    """A rendered variable as Home Assistant keeps it: a number, truth value, list or mapping
    when the text is one, else the text."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text


def render(blueprint: dict[str, Any], cue: CueCommand) -> dict[str, Any]:
    """The trigger's topic, each variable in order, the condition and the ack's payload, as an
    automation run renders them."""
    env = _home_assistant()
    scope: dict[str, Any] = {}
    for name, value in blueprint["trigger_variables"].items():
        scope[name] = value
    scope["trigger"] = {"payload_json": json.loads(encode(cue))}
    scope["topic"] = env.from_string(blueprint["triggers"][0]["topic"]).render(scope)
    for name, template in blueprint["variables"].items():
        text = env.from_string(template).render(scope)
        scope[name] = scope["trigger"]["payload_json"] if name == "cue" else native(text)
    condition = blueprint["conditions"][0]["value_template"]
    scope["shown"] = env.from_string(condition).render(scope) == "True"
    [publish] = blueprint["actions"][2]["then"]
    scope["ack_payload"] = env.from_string(publish["data"]["payload"]).render(scope)
    return scope


def command(life_s: float = 60.0, zone: str = "10ft", reason: str = "zone") -> CueCommand:
    now = datetime.now(UTC)
    return CueCommand(
        cue_id=uuid.uuid4(),
        site="store-1",
        camera="counter-1",
        device="phone-1",
        zone=zone,
        reason=reason,
        escalation=0,
        track_id=3,
        distance_ft=8.4,
        issued_at=now - timedelta(seconds=1),
        expires_at=now + timedelta(seconds=life_s),
    )


def test_the_acknowledge_action_sends_an_ack_the_contract_accepts(
    blueprint: dict[str, Any],
) -> None:
    cue = command()
    run = render(blueprint, cue)
    assert run["topic"] == Topic.CUE.build(prefix="greetcue", site="store-1", device="phone-1")
    assert run["shown"]
    assert run["ack_topic"] == Topic.ACK.build(prefix="greetcue", site="store-1", device="phone-1")
    ack = decode(Ack, run["ack_payload"].encode())
    assert (ack.cue_id, ack.device) == (cue.cue_id, "phone-1")
    assert run["title"] == "Customer coming — look up"
    assert run["body"] == "8 ft away"
    assert 55 <= run["left_s"] <= 60


@pytest.mark.parametrize(
    ("zone", "reason", "words"),
    [
        ("5ft", "zone", "Customer close — smile"),
        ("3ft", "waiting", "Customer waiting at the counter"),
    ],
)
def test_staff_words_not_zone_names(
    blueprint: dict[str, Any], zone: str, reason: str, words: str
) -> None:
    assert render(blueprint, command(zone=zone, reason=reason))["title"] == words


def test_a_cue_past_its_expiry_is_not_shown(blueprint: dict[str, Any]) -> None:
    assert not render(blueprint, command(life_s=0.5))["shown"]


def test_the_notification_has_the_action_the_automation_waits_for(
    blueprint: dict[str, Any],
) -> None:
    notify, wait, publish = blueprint["actions"]
    assert notify["domain"] == "mobile_app" and notify["type"] == "notify"
    assert notify["device_id"] == INPUTS["phone"]
    [action] = notify["data"]["actions"]
    assert action == {"action": "{{ action_id }}", "title": "Acknowledge"}
    [trigger] = wait["wait_for_trigger"]
    assert trigger["event_type"] == "mobile_app_notification_action"
    assert trigger["event_data"]["action"] == "{{ action_id }}"
    [sent] = publish["then"]
    assert sent["action"] == "mqtt.publish" and sent["data"]["qos"] == 1
