"""The generator of hostile MQTT messages (tests/support/hostile_payloads.py) against the
contract's own decoder, without processes: every message meant to be refused is refused. The
same generator floods the real services in tests/footage/test_fuzz_mqtt.py."""

from __future__ import annotations

import uuid
from collections import Counter

from tests.support.hostile_payloads import PREFIX, Names, Verdict, contract_accepts, generate


def test_the_contract_refuses_every_message_the_rules_refuse() -> None:
    """Without processes: the contract's own decoder refuses every generated message meant
    to be refused (the names are those of the PETS kiosk)."""
    names = Names("pets2009", "view001", ("counter",))
    taken = Counter(
        f"{shot.kind}: {shot.label}"
        for shot in generate(names, 3000)
        if shot.verdict is Verdict.REFUSE
        and shot.topic.startswith(f"{PREFIX}/")
        and contract_accepts(shot.topic, shot.payload(lambda: str(uuid.uuid4())))
    )
    assert not taken, taken
