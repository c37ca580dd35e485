"""Who may see what: manager accounts (argon2) and their revocable sessions, API tokens,
per-device staff links (a device is its site and name), CSRF comparison. Secrets are stored
only as hashes. The login guard is in :mod:`dashboard.logins`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, delete, func, insert, select, update

from dashboard.store.tables import PushSubscriptionRow, SessionRow, TokenRow, UserRow
from edge.contract import Name

_HASHER = PasswordHasher()
_NAME = TypeAdapter(Name)
MIN_PASSWORD = 10


class AuthError(ValueError):
    """A bad user name, password or token request; the message says what to change."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: a manager (session) or an integration (API token)."""

    name: str
    kind: str  # "user" or "token"


@dataclass(frozen=True)
class Holder:
    """The holder of a token: an integration's name, or a staff device and its site."""

    name: str
    site: str | None


def digest(token: str) -> str:
    """The sha256 of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(what: str, value: str) -> str:
    """``value`` if it follows the contract's name rule, else an ``AuthError`` saying so."""
    try:
        return _NAME.validate_python(value)
    except ValidationError:
        raise AuthError(
            f"{what} {value!r} is not a valid name: use 1-64 letters, digits, '_', '.' or '-' "
            "(no spaces or slashes)"
        ) from None


# --- manager accounts -------------------------------------------------------------------------


def add_user(connection: Connection, username: str, password: str) -> None:
    """Create a manager account; an ``AuthError`` if it exists (use :func:`set_password`)."""
    if not username or len(username) > 64 or not username.isprintable():
        raise AuthError("user names are 1-64 printable characters")
    if _user_id(connection, username) is not None:
        raise AuthError(f"manager {username} exists; `greetcue users password` changes it")
    row = {"username": username, "password_hash": _hash(password), "created_s": time.time()}
    connection.execute(insert(UserRow).values(**row))


def set_password(connection: Connection, username: str, password: str) -> int:
    """Give a manager a new password and end every session of theirs; how many ended."""
    found = _existing_user(connection, username)
    connection.execute(
        update(UserRow).where(UserRow.id == found).values(password_hash=_hash(password))
    )
    return end_sessions(connection, username)


def remove_user(connection: Connection, username: str) -> None:
    """Remove a manager; their sessions end at once."""
    found = _existing_user(connection, username)
    connection.execute(delete(SessionRow).where(SessionRow.user_id == found))
    connection.execute(delete(UserRow).where(UserRow.id == found))


def list_users(connection: Connection) -> list[tuple[str, float, int]]:
    """Every manager: name, created (UTC s) and live sessions now."""
    live = (
        select(SessionRow.user_id, func.count().label("n"))
        .where(SessionRow.expires_s > time.time())
        .group_by(SessionRow.user_id)
        .subquery()
    )
    query = (
        select(UserRow.username, UserRow.created_s, live.c.n)
        .outerjoin(live, live.c.user_id == UserRow.id)
        .order_by(UserRow.username)
    )
    return [(r.username, r.created_s, r.n or 0) for r in connection.execute(query)]


def check_password(connection: Connection, username: str, password: str) -> bool:
    """Whether the password is right (the same work is done for an unknown user)."""
    stored = connection.scalar(select(UserRow.password_hash).where(UserRow.username == username))
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"passwords need at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def _user_id(connection: Connection, username: str) -> int | None:
    return connection.scalar(select(UserRow.id).where(UserRow.username == username))


def _existing_user(connection: Connection, username: str) -> int:
    found = _user_id(connection, username)
    if found is None:
        raise AuthError(f"there is no manager {username!r}; `greetcue users list` shows them")
    return found


_DUMMY = _HASHER.hash("not a real password, only equal work for unknown users")


# --- sessions ---------------------------------------------------------------------------------


def start_session(connection: Connection, username: str, lifetime_s: float) -> str:
    """A new session for a manager who just logged in: its id, for the signed cookie."""
    session = secrets.token_urlsafe(32)
    now = time.time()
    connection.execute(delete(SessionRow).where(SessionRow.expires_s <= now))  # tidy up
    user_id = _existing_user(connection, username)
    row = {"digest": digest(session), "created_s": now, "expires_s": now + lifetime_s}
    connection.execute(insert(SessionRow).values(user_id=user_id, **row))
    return session


def session_user(connection: Connection, session: str) -> str | None:
    """The manager a live session belongs to, or None (ended, expired or unknown)."""
    query = (
        select(UserRow.username)
        .join(SessionRow, SessionRow.user_id == UserRow.id)
        .where(SessionRow.digest == digest(session), SessionRow.expires_s > time.time())
    )
    return connection.scalar(query)


def end_session(connection: Connection, session: str) -> None:
    """Log this session out: a copy of its cookie stops working too."""
    connection.execute(delete(SessionRow).where(SessionRow.digest == digest(session)))


def end_sessions(connection: Connection, username: str) -> int:
    """End every session of a manager, on every browser; how many ended."""
    query = delete(SessionRow).where(SessionRow.user_id == _existing_user(connection, username))
    return connection.execute(query).rowcount


# --- API tokens and staff links ---------------------------------------------------------------


def issue_token(connection: Connection, kind: str, name: str, site: str | None = None) -> str:
    """A new API token or staff link key; shown once, kept as a hash. A staff key is for one
    device of one site and revokes that device's previous key (only at that site)."""
    check_name("the token name" if kind == "api" else "the device", name)
    if kind == "staff":
        if site is None:
            raise AuthError("a staff link needs the device's site")
        revoke(connection, "staff", name, check_name("the site", site))
    token = secrets.token_urlsafe(32)
    row = {"kind": kind, "name": name, "site": site, "digest": digest(token)}
    connection.execute(insert(TokenRow).values(**row, created_s=time.time()))
    return token


def revoke(connection: Connection, kind: str, name: str, site: str | None = None) -> int:
    """Revoke every live token of this kind and name (staff links: of that site's device);
    how many were revoked."""
    query = update(TokenRow).where(
        TokenRow.kind == kind, TokenRow.name == name, TokenRow.revoked_s.is_(None)
    )
    if kind == "staff":
        if site is None:
            raise AuthError("a staff link is revoked by its site and device; name the site")
        query = query.where(TokenRow.site == site)
        # The phones of a revoked link must not go on getting the device's cues by push.
        connection.execute(
            delete(PushSubscriptionRow).where(
                PushSubscriptionRow.site == site, PushSubscriptionRow.device == name
            )
        )
    return connection.execute(query.values(revoked_s=time.time())).rowcount


def token_owner(connection: Connection, kind: str, token: str) -> Holder | None:
    """Who holds this live token (its name and site), or None."""
    row = connection.execute(
        select(TokenRow.name, TokenRow.site).where(
            TokenRow.digest == digest(token), TokenRow.kind == kind, TokenRow.revoked_s.is_(None)
        )
    ).first()
    return None if row is None else Holder(row.name, row.site)


def live_tokens(connection: Connection, kind: str) -> list[tuple[str, str | None, float]]:
    """Name, site and creation time of every live token of a kind, by site and name."""
    query = select(TokenRow.name, TokenRow.site, TokenRow.created_s).where(
        TokenRow.kind == kind, TokenRow.revoked_s.is_(None)
    )
    rows = connection.execute(query.order_by(TokenRow.site, TokenRow.name))
    return [(r.name, r.site, r.created_s) for r in rows]


def staff_link(base_url: str, device: str, key: str) -> str:
    """The link a staff member opens on their phone or watch (the key names the site)."""
    return f"{base_url.rstrip('/')}/staff/{device}?key={key}"


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (None never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a, b)
