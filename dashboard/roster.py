"""Who works a site's counter: names a manager sets, which staff sign in with on the staff page
so that every acknowledgement carries who gave it (the contract's ``Ack.staff``).

A site with no roster asks nobody to sign in. A member may have a code (a few digits the
manager hands out): then signing in as them needs it. Only a digest of the code is kept.
Figures per person are a manager's choice (``privacy.per_person``); the team's come first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import auth
from dashboard.store.tables import StaffMemberRow


class RosterError(ValueError):
    """A roster change or a sign-in that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class Member:
    """One person on a site's roster."""

    site: str
    name: str
    has_code: bool


def add(connection: Connection, site: str, name: str, code: str | None = None) -> None:
    """Put ``name`` on ``site``'s roster (with a sign-in ``code``, if given)."""
    auth.check_name("the site", site)
    auth.check_name("the staff name", name)
    if code is not None and not (4 <= len(code) <= 32 and code.isalnum()):
        raise RosterError("a staff code is 4 to 32 letters or digits")
    row = {"site": site, "name": name, "created_s": time.time()}
    row["code_digest"] = auth.digest(_salted(site, name, code)) if code else None
    try:
        with connection.begin_nested():
            connection.execute(insert(StaffMemberRow).values(**row))
    except IntegrityError:
        raise RosterError(f"{name} is already on {site}'s staff list") from None


def remove(connection: Connection, site: str, name: str) -> bool:
    """Take ``name`` off ``site``'s roster; whether they were on it."""
    gone = connection.execute(
        delete(StaffMemberRow).where(StaffMemberRow.site == site, StaffMemberRow.name == name)
    )
    return bool(gone.rowcount)


def members(connection: Connection, site: str | None = None) -> list[Member]:
    """A site's roster (every site's: ``site`` None), by site and name."""
    query = select(StaffMemberRow.site, StaffMemberRow.name, StaffMemberRow.code_digest)
    if site is not None:
        query = query.where(StaffMemberRow.site == site)
    rows = connection.execute(query.order_by(StaffMemberRow.site, StaffMemberRow.name))
    return [Member(r.site, r.name, r.code_digest is not None) for r in rows]


def sign_in(connection: Connection, site: str, name: str, code: str | None) -> None:
    """Check that ``name`` may sign in at ``site`` with ``code``; raises otherwise."""
    row = connection.execute(
        select(StaffMemberRow.code_digest).where(
            StaffMemberRow.site == site, StaffMemberRow.name == name
        )
    ).first()
    if row is None:
        raise RosterError(f"{name} is not on this store's staff list; ask your manager")
    if row.code_digest is not None and not auth.same(
        auth.digest(_salted(site, name, code or "")), row.code_digest
    ):
        raise RosterError("wrong staff code; try again")


def _salted(site: str, name: str, code: str) -> str:
    return f"{site}\n{name}\n{code}"
