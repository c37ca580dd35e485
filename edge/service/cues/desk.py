"""The open cues of one camera, from the first buzz to an acknowledgement or the customer leaving.

Pure logic, no I/O: the caller passes wall-clock seconds in and gets contract events back, and
takes the cue commands to deliver with :meth:`CueDesk.take_commands`. What staff can rely on:

- A customer is a *visit* (:mod:`edge.service.presence.zones`): the fragments of a track that the
  tracker lost and found again are one customer, so they share cues, an ack and a waiting cue.
- A zone cue goes to the first device of the rota, under the id its zone decision minted. One
  not acknowledged within ``ack_timeout_s`` (since it was sent or last escalated) escalates to
  the next device, with the same ``cue_id``; at the end of the rota it stays open and this is
  logged once.
- A customer who waits gets one ``waiting`` cue, unless they were already acknowledged. It
  goes to the device after the furthest one their open cues reached (someone not buzzed yet),
  or the first.
- An ack counts only against an open cue, and once. It acknowledges the customer: every open
  cue of theirs closes, each with its own ``AckRecorded``, so nobody is buzzed again for a
  customer already greeted. A button names no cue: it takes the oldest open cue sent to its
  device, or, when none is, the oldest open cue at all (a press at the counter means the
  customer there was greeted, whoever was buzzed); cues opened after the press are not its.
- An ack over MQTT counts only from a device the cue was sent to so far (its first device
  and each escalation's). Cue ids are readable by whoever reads cue topics, so a cue id alone
  proves nothing; a device learns a cue's id legitimately only from its own cue topic (the
  broker's ACL lets it read no other), so only those devices can hold a real ack for it. The
  whole rota would let a device acknowledge a customer it was never told about. Others are
  refused, counted (``not_cued_acks``) and logged, rate-limited. The button is wired to this
  box, so its press is trusted for any open cue, as above.
- A customer whose tracks all ended and who is not taken up again by a new track within
  ``presence.rejoin_s`` has left: each open cue becomes ``CueUnacknowledged``. Meanwhile
  their cues do not escalate: nobody is buzzed for a customer who may have gone.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from uuid import UUID

from edge.config import Config
from edge.contract import (
    AckRecorded,
    Approach,
    CueCommand,
    CueIssued,
    CueReason,
    CueUnacknowledged,
    new_id,
    utc,
)
from edge.plumbing.throttle import LogThrottle

log = logging.getLogger(__name__)

CueEvent = CueIssued | AckRecorded | CueUnacknowledged
# Zones a track's visit has entered (edge.service.presence.zones.Zones.reached).
Reached = Callable[[int], Collection[str]]
# Closed cue ids remembered to tell a duplicate ack from an unknown one.
CLOSED_MEMORY = 4096


@dataclass(frozen=True, slots=True)
class PersonSnapshot:
    """The customer a cue is for, as seen on the frame that caused it (``visit``: its id)."""

    track_id: int
    visit: UUID
    distance_ft: float | None
    speed_ftps: float | None
    next_ring_s: float | None
    approach: Approach


@dataclass(frozen=True, slots=True)
class OpenCue:
    """A cue awaiting acknowledgement: where it is in the rota, who had it and since when
    (``cued_wall`` first issued, ``sent_wall`` issued or last escalated)."""

    cue_id: UUID
    zone: str
    reason: CueReason
    person: PersonSnapshot
    cued_wall: float
    sent_wall: float
    rota_index: int
    device: str
    sent_to: frozenset[str]  # every device it was sent to so far
    escalation: int = 0
    exhausted: bool = False


@dataclass(frozen=True, slots=True)
class StaffAck:
    """An acknowledgement as it arrived: ``cue_id`` None for a button, which names no cue;
    ``received_wall`` is stamped on arrival (latency uses it, never the sender's clock)."""

    cue_id: UUID | None
    device: str
    via: Literal["button", "mqtt"]
    received_wall: float
    staff: str | None = None


@dataclass(slots=True)
class CueCounts:
    """Totals since start, for metrics."""

    issued: int = 0
    escalated: int = 0
    acked: int = 0
    left_unacknowledged: int = 0
    rota_exhausted: int = 0
    unknown_acks: int = 0
    duplicate_acks: int = 0
    not_cued_acks: int = 0


@dataclass(slots=True)
class _Customer:
    """One visit with cues: its live tracks, and when the last of them ended."""

    tracks: set[int] = field(default_factory=set)
    acked: bool = False
    waited: bool = False
    gone_wall: float | None = None


class CueDesk:
    """Open cues and their lifecycle; see the module docstring. Not thread-safe: it lives in
    the frame loop (acks from other threads come in through an inbox)."""

    def __init__(self, config: Config) -> None:
        self._site, self._camera = config.site, config.camera.name
        self._rota = list(config.cues.rota)
        self._ack_timeout_s, self._expiry_s = config.cues.ack_timeout_s, config.cues.expiry_s
        self._zones = [zone.name for zone in config.zones]
        self._grace_s = config.presence.rejoin_s
        self._level = logging.INFO if config.cues.log else logging.DEBUG
        self._commands: list[CueCommand] = []
        self._open: dict[UUID, OpenCue] = {}
        self._closed: OrderedDict[UUID, None] = OrderedDict()
        self._customers: dict[UUID, _Customer] = {}
        self._visit_of: dict[int, UUID] = {}
        self._counts = CueCounts()
        self._throttle = LogThrottle()

    @property
    def counts(self) -> CueCounts:
        """A copy of the totals."""
        return replace(self._counts)

    def open_cues(self) -> list[OpenCue]:
        """Open cues, oldest first (for a live console)."""
        return list(self._open.values())

    def take_commands(self) -> list[CueCommand]:
        """The cue commands issued (and escalated) since the last call, oldest first: for the
        outputs to deliver."""
        commands, self._commands = self._commands, []
        return commands

    # Cues in.

    def issue(
        self,
        person: PersonSnapshot,
        zone: str,
        cue_id: UUID,
        now_wall: float,
        captured_wall: float,
    ) -> list[CueEvent]:
        """A zone's cue ``cue_id`` for this customer, to the first device of the rota."""
        self._attach(person, now_wall)
        return [self._new_cue(cue_id, person, zone, "zone", 0, now_wall, captured_wall)]

    def waiting(
        self, person: PersonSnapshot, zone: str, now_wall: float, captured_wall: float
    ) -> list[CueEvent]:
        """A waiting customer: one ``waiting`` cue per visit, none once they were acked."""
        customer = self._attach(person, now_wall)
        if customer.acked or customer.waited:
            return []
        customer.waited = True
        positions = [cue.rota_index for cue in self._cues_of(person.visit)]
        index = min(max(positions) + 1, len(self._rota) - 1) if positions else 0
        cue = self._new_cue(new_id(), person, zone, "waiting", index, now_wall, captured_wall)
        return [cue]

    def track_started(self, track_id: int, visit: UUID) -> None:
        """A new track took up a visit (the tracker found the customer again)."""
        customer = self._customers.get(visit)
        if customer is not None:
            self._visit_of[track_id] = visit
            customer.tracks.add(track_id)
            customer.gone_wall = None

    def track_ended(self, track_id: int, visit: UUID, now_wall: float) -> None:
        """A track ended; its customer has left once no track takes the visit up within
        ``presence.rejoin_s`` (``tick`` then reports their open cues)."""
        self._visit_of.pop(track_id, None)
        self._detach(track_id, visit, now_wall)

    # Time.

    def tick(self, now_wall: float) -> list[CueEvent]:
        """Report customers who left; escalate cues unanswered for ``ack_timeout_s``. A cue
        whose customer is out of sight waits: it escalates if a track takes the visit up
        again, and never buzzes anyone for a customer who has gone."""
        events = self._leavers(now_wall)
        for cue in list(self._open.values()):
            due = now_wall - cue.sent_wall >= self._ack_timeout_s
            if due and self._customers[cue.person.visit].gone_wall is None:
                events += self._escalate(cue, now_wall)
        return events

    # Acks in.

    def ack(self, ack: StaffAck, reached: Reached) -> list[CueEvent]:
        """Close the acked cue and every other open cue of its customer; an ack for no open
        cue returns nothing and is counted (unknown or duplicate)."""
        cue = self._find(ack)
        if cue is None:
            return []
        self._customers[cue.person.visit].acked = True
        zones = set(reached(cue.person.track_id))
        return [self._close(sibling, ack, zones) for sibling in self._cues_of(cue.person.visit)]

    def _find(self, ack: StaffAck) -> OpenCue | None:
        if ack.cue_id is not None:
            cue = self._open.get(ack.cue_id)
            if cue is None:
                self._refuse(ack, "duplicate" if ack.cue_id in self._closed else "unknown")
            elif ack.via == "mqtt" and ack.device not in cue.sent_to:
                self._refuse_not_cued(ack, cue)
                return None
            return cue
        before = [cue for cue in self._open.values() if cue.cued_wall <= ack.received_wall]
        at_device = [cue for cue in before if cue.device == ack.device]
        found = (at_device or before)[:1]
        if not found:
            self._refuse(ack, "unknown")
        return found[0] if found else None

    def _refuse(self, ack: StaffAck, kind: Literal["unknown", "duplicate"]) -> None:
        if kind == "duplicate":
            self._counts.duplicate_acks += 1
        else:
            self._counts.unknown_acks += 1
        log.debug(
            "ack from %s via %s for %s cue %s: ignored", ack.device, ack.via, kind, ack.cue_id
        )

    def _refuse_not_cued(self, ack: StaffAck, cue: OpenCue) -> None:
        self._counts.not_cued_acks += 1
        held = self._throttle.ready()
        if held is not None:
            log.warning(
                "ack from device %r for cue %s refused: the cue was sent only to %s. A device "
                "acknowledges only its own cues: check that the staff page, wearable or app "
                "uses the device name its cues are sent to (cues.rota)%s",
                ack.device,
                cue.cue_id,
                sorted(cue.sent_to),
                LogThrottle.since(held),
            )

    # Lifecycle.

    def _new_cue(
        self,
        cue_id: UUID,
        person: PersonSnapshot,
        zone: str,
        reason: CueReason,
        index: int,
        now_wall: float,
        captured_wall: float,
    ) -> CueIssued:
        device = self._rota[index]
        cue = OpenCue(
            cue_id, zone, reason, person, now_wall, now_wall, index, device, frozenset({device})
        )
        self._open[cue.cue_id] = cue
        self._counts.issued += 1
        return self._send(cue, now_wall, captured_wall)

    def _escalate(self, cue: OpenCue, now_wall: float) -> list[CueEvent]:
        index = cue.rota_index + 1
        if index < len(self._rota):
            cue = replace(
                cue,
                rota_index=index,
                device=self._rota[index],
                sent_to=cue.sent_to | {self._rota[index]},
                escalation=cue.escalation + 1,
                sent_wall=now_wall,
            )
            self._open[cue.cue_id] = cue
            self._counts.escalated += 1
            return [self._send(cue, now_wall, now_wall)]
        if not cue.exhausted:
            self._open[cue.cue_id] = replace(cue, exhausted=True)
            self._counts.rota_exhausted += 1
            log.warning(
                "cue %s (track %d, %s) unacknowledged after every device of the rota %s; "
                "it stays open",
                cue.cue_id,
                cue.person.track_id,
                cue.zone,
                self._rota,
            )
        return []

    def _close(self, cue: OpenCue, ack: StaffAck, reached: set[str]) -> AckRecorded:
        self._forget(cue)
        self._counts.acked += 1
        latency = max(0.0, ack.received_wall - cue.cued_wall)
        log.log(
            self._level, "cue %s acknowledged by %s after %.1f s", cue.cue_id, ack.device, latency
        )
        return AckRecorded(
            **self._common(cue, ack.received_wall),
            cue_id=cue.cue_id,
            device=ack.device,
            staff=ack.staff,
            via=ack.via,
            cued_at=utc(cue.cued_wall),
            latency_s=latency,
            before={zone: zone not in reached for zone in self._zones},
        )

    def _leavers(self, now_wall: float) -> list[CueEvent]:
        events: list[CueEvent] = []
        for visit, customer in list(self._customers.items()):
            gone = customer.gone_wall
            if gone is None or now_wall - gone < self._grace_s:
                continue
            del self._customers[visit]
            events += [self._left(cue, gone) for cue in self._cues_of(visit)]
        return events

    def _left(self, cue: OpenCue, gone_wall: float) -> CueUnacknowledged:
        self._forget(cue)
        self._counts.left_unacknowledged += 1
        log.log(self._level, "cue %s: the customer left unacknowledged", cue.cue_id)
        return CueUnacknowledged(
            **self._common(cue, gone_wall),
            cue_id=cue.cue_id,
            reason=cue.reason,
            cued_at=utc(cue.cued_wall),
            open_s=max(0.0, gone_wall - cue.cued_wall),
        )

    def _forget(self, cue: OpenCue) -> None:
        del self._open[cue.cue_id]
        self._closed[cue.cue_id] = None
        while len(self._closed) > CLOSED_MEMORY:
            self._closed.popitem(last=False)

    # Customers.

    def _attach(self, person: PersonSnapshot, now_wall: float) -> _Customer:
        """The person's customer; a track now in a new visit has left its old one."""
        previous = self._visit_of.get(person.track_id)
        if previous is not None and previous != person.visit:
            self._detach(person.track_id, previous, now_wall)
        self._visit_of[person.track_id] = person.visit
        customer = self._customers.setdefault(person.visit, _Customer())
        customer.tracks.add(person.track_id)
        customer.gone_wall = None
        return customer

    def _detach(self, track_id: int, visit: UUID, now_wall: float) -> None:
        customer = self._customers.get(visit)
        if customer is None:
            return
        customer.tracks.discard(track_id)
        if not customer.tracks:
            customer.gone_wall = now_wall

    def _cues_of(self, visit: UUID) -> list[OpenCue]:
        return [cue for cue in self._open.values() if cue.person.visit == visit]

    # Events out.

    def _send(self, cue: OpenCue, now_wall: float, captured_wall: float) -> CueIssued:
        """Queue the cue's command for the outputs and return its event."""
        person = cue.person
        about: dict[str, Any] = {
            "cue_id": cue.cue_id,
            "device": cue.device,
            "reason": cue.reason,
            "escalation": cue.escalation,
            "expires_at": utc(now_wall + self._expiry_s),
        }
        self._commands.append(
            CueCommand(
                **about,
                site=self._site,
                camera=self._camera,
                zone=cue.zone,
                track_id=person.track_id,
                distance_ft=person.distance_ft,
                tta_s=person.next_ring_s,
                issued_at=utc(now_wall),
            )
        )
        return CueIssued(**self._common(cue, captured_wall), **about, approach=person.approach)

    def _common(self, cue: OpenCue, captured_wall: float) -> dict[str, Any]:
        """The fields every event shares; the person as they were when the cue was issued."""
        person = cue.person
        return {
            "id": new_id(),
            "site": self._site,
            "camera": self._camera,
            "track_id": person.track_id,
            "visit_id": person.visit,
            "zone": cue.zone,
            "distance_ft": person.distance_ft,
            "speed_ftps": person.speed_ftps,
            "tta_s": person.next_ring_s,
            "captured_at": utc(captured_wall),
        }
