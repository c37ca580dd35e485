"""Who may see what: manager accounts (argon2), API tokens, per-device staff links, CSRF
tokens for forms and a login rate limit. Secrets are stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from dashboard.store.tables import TokenRow, UserRow

_HASHER = PasswordHasher()
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


def add_user(connection: Connection, username: str, password: str) -> None:
    """Create a manager account, or set a new password for an existing one."""
    if not username or len(username) > 64 or not username.isprintable():
        raise AuthError("user names are 1-64 printable characters")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"passwords need at least {MIN_PASSWORD} characters")
    hashed = _HASHER.hash(password)
    found = connection.scalar(select(UserRow.id).where(UserRow.username == username))
    if found is None:
        row = {"username": username, "password_hash": hashed, "created_s": time.time()}
        connection.execute(insert(UserRow).values(**row))
    else:
        connection.execute(update(UserRow).where(UserRow.id == found).values(password_hash=hashed))


def check_password(connection: Connection, username: str, password: str) -> bool:
    """Whether the password is right (the same work is done for an unknown user)."""
    stored = connection.scalar(select(UserRow.password_hash).where(UserRow.username == username))
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


_DUMMY = _HASHER.hash("not a real password, only equal work for unknown users")


def issue_token(connection: Connection, kind: str, name: str, site: str | None = None) -> str:
    """A new API token or staff link key; shown once, kept as a hash. A new staff key
    revokes the device's previous one."""
    if kind == "staff":
        revoke(connection, "staff", name)
    token = secrets.token_urlsafe(32)
    row = {"kind": kind, "name": name, "site": site, "digest": digest(token)}
    connection.execute(insert(TokenRow).values(**row, created_s=time.time()))
    return token


def revoke(connection: Connection, kind: str, name: str) -> int:
    """Revoke every live token of this kind and name; how many were revoked."""
    result = connection.execute(
        update(TokenRow)
        .where(TokenRow.kind == kind, TokenRow.name == name, TokenRow.revoked_s.is_(None))
        .values(revoked_s=time.time())
    )
    return result.rowcount


def token_owner(connection: Connection, kind: str, token: str) -> Holder | None:
    """Who holds this live token (its name and site), or None."""
    row = connection.execute(
        select(TokenRow.name, TokenRow.site).where(
            TokenRow.digest == digest(token), TokenRow.kind == kind, TokenRow.revoked_s.is_(None)
        )
    ).first()
    return None if row is None else Holder(row.name, row.site)


def staff_link(base_url: str, device: str, key: str) -> str:
    """The link a staff member opens on their phone or watch."""
    return f"{base_url.rstrip('/')}/staff/{device}?key={key}"


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (None never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a, b)


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window_s``, per client address and per user."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self._attempts, self._window = attempts, window_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried again (0: now)."""
        now, wait = time.monotonic(), 0.0
        for key in keys:
            times = self._failures.get(key)
            while times and now - times[0] > self._window:
                times.popleft()
            if times and len(times) >= self._attempts:
                wait = max(wait, self._window - (now - times[0]))
        return wait

    def failed(self, *keys: str) -> None:
        """Record a failed login."""
        for key in keys:
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of a successful login."""
        for key in keys:
            self._failures.pop(key, None)
