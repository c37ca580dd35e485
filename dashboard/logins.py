"""The login guard: every try is reserved before its password is checked, checks run on a
small pool of their own, and failures back off per (user, address).

- Per client address, at most ``login_attempts`` tries per ``login_window_s``; a try counts
  from the moment it is reserved (before argon2 runs), so concurrent tries cannot slip past;
  a successful one is given back.
- Per (user, address), past ``login_attempts`` failures in a row the wait doubles from
  ``login_window_s`` up to ``login_backoff_max_s``. A stranger elsewhere cannot lock a manager out.
- argon2 runs on ``login_hash_threads`` threads with at most ``login_hash_queue`` logins
  waiting; past that a login is refused at once, so a burst never takes the threads pages use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from dashboard.settings import Security
from edge.plumbing.throttle import LogThrottles

log = logging.getLogger("greetcue.dashboard.logins")
T = TypeVar("T")
TRACKED = 50_000  # addresses and (user, address) pairs kept; past it, stale ones are swept
LOG_EVERY_S = 60.0


class LoginRefusedError(Exception):
    """A login not tried: ``status`` 429 (too many) or 503 (busy), and when to retry."""

    def __init__(self, kind: str, wait_s: float, status: int) -> None:
        super().__init__(kind)
        self.kind, self.wait_s, self.status = kind, wait_s, status

    @property
    def message(self) -> str:
        """What the login page says."""
        wait = int(self.wait_s) + 1
        if self.status == 503:
            return f"too many logins at once; try again in {wait} s"
        return f"too many failed logins; try again in {wait} s"


@dataclass(frozen=True)
class Ticket:
    """A reserved try: who, from where, when."""

    address: str
    user: str
    at: float


@dataclass
class _Failures:
    count: int = 0
    until: float = 0.0


@dataclass
class LoginGuard:
    """Reserves, runs and records login tries (see the module docstring)."""

    attempts: int
    window_s: float
    backoff_max_s: float
    threads: int
    queue: int
    checks: int = 0  # password checks run
    refused: Counter[str] = field(default_factory=Counter)
    _tries: dict[str, deque[float]] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _busy: int = 0
    _throttles: LogThrottles = field(default_factory=lambda: LogThrottles(LOG_EVERY_S))
    _pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="greetcue-login")

    @classmethod
    def from_settings(cls, security: Security) -> LoginGuard:
        """The guard with the configured limits."""
        return cls(
            security.login_attempts,
            security.login_window_s,
            security.login_backoff_max_s,
            security.login_hash_threads,
            security.login_hash_queue,
        )

    def reserve(self, address: str, user: str) -> Ticket:
        """Count a try now, before its password is checked; ``LoginRefusedError`` if too many."""
        now = time.monotonic()
        with self._lock:
            if len(self._tries) + len(self._pairs) > TRACKED:
                self._sweep(now)
            pair = self._pairs.get((user, address))
            if pair is not None and pair.until > now:
                raise self._refuse("user_backoff", pair.until - now, 429, address, user)
            tries = self._tries.setdefault(address, deque())
            while tries and now - tries[0] > self.window_s:
                tries.popleft()
            if len(tries) >= self.attempts:
                wait = self.window_s - (now - tries[0])
                raise self._refuse("address_limit", wait, 429, address, user)
            tries.append(now)
        return Ticket(address, user, now)

    async def check(self, ticket: Ticket, work: Callable[[], T | None]) -> T | None:
        """Run ``work`` (the password check: a result, or None for a wrong password) on the
        guard's own threads and record the outcome."""
        with self._lock:
            if self._busy >= self.threads + self.queue:
                self._give_back(ticket)
                raise self._refuse("busy", 1.0, 503, ticket.address, ticket.user)
            self._busy += 1
            self.checks += 1
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            with self._lock:
                self._busy -= 1
        with self._lock:
            if result is None:
                self._failed(ticket)
            else:
                self._give_back(ticket)
                self._pairs.pop((ticket.user, ticket.address), None)
        return result

    def _failed(self, ticket: Ticket) -> None:
        pair = self._pairs.setdefault((ticket.user, ticket.address), _Failures())
        pair.count += 1
        if pair.count >= self.attempts:
            wait = self.window_s * 2.0 ** (pair.count - self.attempts)
            pair.until = time.monotonic() + min(wait, self.backoff_max_s)

    def _give_back(self, ticket: Ticket) -> None:
        tries = self._tries.get(ticket.address)
        if tries is not None and ticket.at in tries:
            tries.remove(ticket.at)

    def _sweep(self, now: float) -> None:
        """Forget addresses with no try in the window and pairs long past their wait."""
        for address in [a for a, t in self._tries.items() if not t or now - t[-1] > self.window_s]:
            del self._tries[address]
        quiet = self.backoff_max_s + self.window_s
        for key in [k for k, p in self._pairs.items() if now - p.until > quiet]:
            del self._pairs[key]

    def _refuse(
        self, kind: str, wait_s: float, status: int, address: str, user: str
    ) -> LoginRefusedError:
        self.refused[kind] += 1
        if self._throttles.ready(kind) is not None:
            log.warning(
                "login refused (%s) for user %r from %s; %d refused so far (this line at most "
                "every %.0f s); if it is a person, they wait %.0f s or log in from another "
                "address; else block the address",
                kind,
                user[:64],
                address,
                self.refused[kind],
                LOG_EVERY_S,
                wait_s,
            )
        return LoginRefusedError(kind, max(wait_s, 0.0), status)
