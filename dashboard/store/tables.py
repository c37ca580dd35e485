"""The tables. Times are UTC seconds since the epoch (floats): portable between SQLite and
PostgreSQL, cheap to range over and to bucket by hour."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of every table."""


class EventRow(Base):
    """Every event, once (by id), with the fields pages filter on and the payload as sent."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[str | None] = mapped_column(String(64))
    cue_id: Mapped[str | None] = mapped_column(String(36))
    captured_s: Mapped[float] = mapped_column(Float)
    received_s: Mapped[float] = mapped_column(Float)
    payload: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        Index("ix_events_captured", "captured_s"),
        Index("ix_events_site_captured", "site", "captured_s"),
    )


class CueRow(Base):
    """One row per cue: what happened to it. Filled from cue, zone_enter, ack and
    left_unacknowledged events in whatever order they arrive; the first ack wins."""

    __tablename__ = "cues"
    cue_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(16))
    device: Mapped[str | None] = mapped_column(String(64), doc="first device cued")
    issued: Mapped[bool] = mapped_column(Boolean, default=False, doc="its cue event arrived")
    cued_s: Mapped[float | None] = mapped_column(Float)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    expires_s: Mapped[float | None] = mapped_column(Float)
    lead_s: Mapped[float | None] = mapped_column(Float)
    ack_event: Mapped[str | None] = mapped_column(String(36))
    acked_s: Mapped[float | None] = mapped_column(Float)
    latency_s: Mapped[float | None] = mapped_column(Float)
    ack_device: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(
        Text, doc="zones the first ack came before the customer reached: ',5ft,3ft,'"
    )
    acks: Mapped[int] = mapped_column(Integer, default=0, doc="acks received (repeats: > 1)")
    left_s: Mapped[float | None] = mapped_column(Float)
    closed_s: Mapped[float | None] = mapped_column(
        Float, doc="closed unanswered without the customer seen leaving (closed_why says why)"
    )
    closed_why: Mapped[str | None] = mapped_column(String(32), doc="camera_offline")
    __table_args__ = (
        Index("ix_cues_cued", "cued_s"),
        Index("ix_cues_site_cued", "site", "cued_s"),
    )


class CameraRow(Base):
    """A camera's availability and its latest metrics."""

    __tablename__ = "cameras"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    changed_s: Mapped[float] = mapped_column(Float)
    metrics: Mapped[str | None] = mapped_column(Text)
    metrics_s: Mapped[float | None] = mapped_column(Float)


class OccupancyRow(Base):
    """The latest retained occupancy of a zone."""

    __tablename__ = "occupancy"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    radius_ft: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    nearest_ft: Mapped[float | None] = mapped_column(Float)
    updated_s: Mapped[float] = mapped_column(Float)


class UserRow(Base):
    """A manager account (argon2 password hash)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_s: Mapped[float] = mapped_column(Float)


class SessionRow(Base):
    """A manager's logged-in session; only the sha256 of its id (in the signed cookie) is
    kept. Deleting the row ends the session, copies of its cookie included."""

    __tablename__ = "sessions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_s: Mapped[float] = mapped_column(Float)
    expires_s: Mapped[float] = mapped_column(Float)


class TokenRow(Base):
    """An API token for integrations, or a staff link for one device of one site (a device is
    its site and name); only the sha256 is kept."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), doc="api or staff")
    name: Mapped[str] = mapped_column(String(64), doc="token name, or the staff device")
    site: Mapped[str | None] = mapped_column(String(64), doc="staff links: the device's site")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_s: Mapped[float] = mapped_column(Float)
    revoked_s: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_tokens_kind_site_name", "kind", "site", "name"),)


class PushSubscriptionRow(Base):
    """A browser's Web Push subscription for one device of one site (dashboard/push.py)."""

    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_s: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_push_subscriptions_site_device", "site", "device"),)


class StaffMemberRow(Base):
    """Someone who works a site's counter: the name their acknowledgements carry, and an
    optional code they sign in with (only its digest)."""

    __tablename__ = "staff_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    code_digest: Mapped[str | None] = mapped_column(String(64))
    created_s: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_staff_members_site_name", "site", "name", unique=True),)


class CueHourRow(Base):
    """The rollup of one local hour of one camera's cues (waiting customers apart): the
    counts, and the latencies and lead times of its customers in 0.1 s bins ("bin,count,...";
    bin k holds ((k - 1) / 10, k / 10] seconds). Rebuilt from the cue rows whenever one of
    them changes (``dashboard/store/rollups.py``)."""

    __tablename__ = "cue_hours"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_s: Mapped[float] = mapped_column(Float, primary_key=True, doc="UTC start of the hour")
    waiting: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    local_day: Mapped[int] = mapped_column(Integer, doc="days since 1970-01-01, local time")
    local_hour: Mapped[int] = mapped_column(Integer)
    customers: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    latency_bins: Mapped[int] = mapped_column(Integer, doc="bins in latency")
    latency: Mapped[str | None] = mapped_column(Text)
    lead_bins: Mapped[int] = mapped_column(Integer, doc="bins in lead")
    lead: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_cue_hours_start", "start_s"),)


class CueHourZoneRow(Base):
    """Of an hour's acknowledged customers, how many were acknowledged before each zone."""

    __tablename__ = "cue_hour_zones"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_s: Mapped[float] = mapped_column(Float, primary_key=True)
    waiting: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    acknowledged: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_cue_hour_zones_start", "start_s"),)


class SumRow(Base):
    """Running totals of the hourly rollups over whole chain days (``dashboard/store/sums.py``):
    the figures of every hour up to and including ``day``, per store camera (level ``site``,
    key ``site/camera``), per local hour of the chain (``hour``, key the hour) or per zone
    acknowledged before (``zone``: ``acknowledged`` only). A range's figures are the row at
    its last day less the row before its first."""

    __tablename__ = "cue_sums"
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    waiting: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, doc="the chain's local day")
    customers: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    within_goal: Mapped[int] = mapped_column(Integer, doc="acknowledged within the goal")
    latency_bins: Mapped[int] = mapped_column(Integer)
    latency: Mapped[str | None] = mapped_column(Text)
    lead_bins: Mapped[int] = mapped_column(Integer)
    lead: Mapped[str | None] = mapped_column(Text)


class SumKeyRow(Base):
    """Every key of ``cue_sums``, so a report finds each key's row by index, not by scan."""

    __tablename__ = "cue_sum_keys"
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    waiting: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class DaySumRow(Base):
    """The chain's figures of one chain day, per local day of the stores (a store in another
    time zone spans two): what the by-day chart of a chain report reads."""

    __tablename__ = "cue_day_sums"
    waiting: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    within_goal: Mapped[int] = mapped_column(Integer)
    latency_bins: Mapped[int] = mapped_column(Integer)
    latency: Mapped[str | None] = mapped_column(Text)


class SumStateRow(Base):
    """How far the sums are built, and with which goals (``within_goal`` depends on them):
    days up to ``through_day`` are in; a change of goals rebuilds them from the first day."""

    __tablename__ = "cue_sums_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    goals: Mapped[str] = mapped_column(Text)
    through_day: Mapped[int] = mapped_column(Integer)


class RollupDirtyRow(Base):
    """A cue changed since its hour was rolled up; written in the transaction that changed
    it, removed by the rollup that reads it."""

    __tablename__ = "rollup_dirty"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cue_id: Mapped[str] = mapped_column(String(36))


class GoalsRow(Base):
    """The goals as saved on the settings page, one row per save; the highest version is in
    force (none: the YAML's). The version is set by the saver, so two managers saving over the
    same version cannot both win."""

    __tablename__ = "goals"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    goals: Mapped[str] = mapped_column(Text, doc="the Goals model as JSON")
    saved_s: Mapped[float] = mapped_column(Float)
    saved_by: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """Who changed a setting on the pages, when, and what changed (in words and as JSON)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_s: Mapped[float] = mapped_column(Float, index=True)
    who: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(String(32), doc="the setting changed: goals")
    summary: Mapped[str] = mapped_column(Text, doc="the changes, in words")
    before: Mapped[str | None] = mapped_column(Text, doc="JSON; none: the YAML's defaults")
    after: Mapped[str] = mapped_column(Text, doc="JSON")
