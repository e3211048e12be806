"""Staff console accounts: made, listed, disabled and reset by name, and signing in (the
sessions a sign-in starts are :mod:`.sessions`').

Passwords are hashed with Argon2id (argon2-cffi's defaults); a hash made with older costs is
rehashed at the next sign-in. Signing in with an unknown name, or to a locked or disabled
account, still costs one verify, against a dummy hash, so the time taken does not tell which
names exist. Five failed sign-ins in a row lock an account for 15 minutes; the count and the
lock are in the account's row, so they hold across workers and restarts, and each try is
counted there before its password is verified, so that tries sent at once are held to five
too (a success clears the count). Disabling an account or resetting its password ends its
sessions.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import UserError
from ..net.redaction import register_secret
from ..timeutil import iso, utcnow
from . import audit

if TYPE_CHECKING:
    from sqlalchemy import Connection, RowMapping

    from ..store.store import Store

ROLES = ("admin", "staff")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILURES = 5  # failed sign-ins in a row that lock an account
LOCK = timedelta(minutes=15)
WRONG = (
    "wrong username or password, or the account is locked after 5 failed sign-ins in a "
    "row: wait 15 minutes, or ask an administrator to reset it"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# The library's default costs (about 50 ms a hash). Tests replace it with a cheap one; a
# module-level object so that they can, and so that every hash in a process agrees.
HASHER = PasswordHasher()
_dummy: dict[int, str] = {}  # per hasher: the hash an unknown name is verified against


class SignInRefused(UserError):
    """A sign-in refused; the message is safe to show whoever tried."""


@dataclass(frozen=True)
class StaffAccount:
    """An account as listed and as signed in (never its hash)."""

    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None
    locked_until: datetime | None

    @property
    def admin(self) -> bool:
        """Whether the account may open the admin pages."""
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """Who the audit log says acted, for what this account does in the console."""
        return f"{self.name} (console)"

    def state(self, now: datetime) -> str:
        """``disabled``, ``locked`` (failed sign-ins, until :attr:`locked_until`) or
        ``active``."""
        if self.disabled_at is not None:
            return "disabled"
        if self.locked_until is not None and self.locked_until > now:
            return "locked"
        return "active"


def account_of(row: RowMapping) -> StaffAccount:
    """The account a row of ``staff`` (or a query selecting all its columns) holds."""
    return StaffAccount(
        row["name"],
        row["role"],
        row["created_at"],
        row["disabled_at"],
        row["last_login_at"],
        row["locked_until"],
    )


def check_password(name: str, password: str) -> None:
    """Refuse a password an account may not have: 12 to 1024 characters, not its name.

    :raises UserError: one line saying which rule it breaks (never the password).
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters; a few "
            f"unrelated words make a good one"
        )
    if password.strip().casefold() == name.casefold():
        raise UserError("the password must not be the account's name")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise UserError(
            f"staff account name {name!r} is not usable; use letters, digits, '.', '_' or "
            f"'-' (at most 100), e.g. jsmith"
        )


def create(store: Store, name: str, role: str, password: str, *, actor: str) -> None:
    """Make the account ``name`` with ``role`` (admin or staff) and ``password``.

    :raises UserError: a bad name, role or password, or a name already used.
    """
    from sqlalchemy.exc import IntegrityError

    from ..store.tables import staff

    _check_name(name)
    if role not in ROLES:
        raise UserError(f"the role must be admin or staff, not {role!r}")
    check_password(name, password)
    register_secret(password)
    hashed = HASHER.hash(password)
    now = utcnow()
    try:
        with store.transaction() as conn:
            conn.execute(
                staff.insert().values(
                    name=name,
                    role=role,
                    password_hash=hashed,
                    created_at=now,
                    password_set_at=now,
                    failed_logins=0,
                )
            )
    except IntegrityError:
        raise UserError(
            f"a staff account named {name!r} exists already; `scf staff list` shows them"
        ) from None
    audit.record(store, actor, "staff.create", detail=f"created {role} account {name}")


def listed(store: Store) -> list[StaffAccount]:
    """Every account, by name, disabled ones included."""
    from sqlalchemy import select

    from ..store.tables import staff

    with store.read() as conn:
        rows = conn.execute(select(staff).order_by(staff.c.name)).mappings().all()
    return [account_of(r) for r in rows]


def listed_json(store: Store) -> list[dict[str, Any]]:
    """The ``scf staff list --json`` shape (times in ISO 8601 UTC; never a hash)."""
    now = utcnow()
    return [
        {
            "name": a.name,
            "role": a.role,
            "state": a.state(now),
            "created_at": iso(a.created_at),
            "disabled_at": iso(a.disabled_at),
            "locked_until": iso(a.locked_until) if a.state(now) == "locked" else None,
            "last_login_at": iso(a.last_login_at),
        }
        for a in listed(store)
    ]


def disable(store: Store, name: str, *, actor: str) -> None:
    """Disable the account ``name``: it cannot sign in, and its sessions end at once.

    :raises UserError: no such account, or disabled already.
    """
    from sqlalchemy import select

    from ..store.tables import staff

    with store.transaction() as conn:
        disabled = conn.execute(
            select(staff.c.disabled_at).where(staff.c.name == name)
        ).one_or_none()
        if disabled is None:
            raise UserError(f"no staff account named {name!r}; `scf staff list` shows them")
        if disabled[0] is not None:
            raise UserError(f"staff account {name!r} is disabled already")
        conn.execute(staff.update().where(staff.c.name == name).values(disabled_at=utcnow()))
        _end_sessions(conn, name)
    audit.record(store, actor, "staff.disable", detail=f"disabled account {name}")


def reset(store: Store, name: str, password: str, *, actor: str) -> None:
    """Give the account ``name`` a new password: its lock is cleared and its sessions end (a
    disabled account stays disabled).

    :raises UserError: no such account, or a password it may not have.
    """
    from ..store.tables import staff

    check_password(name, password)
    register_secret(password)
    hashed = HASHER.hash(password)
    with store.transaction() as conn:
        changed = conn.execute(
            staff.update()
            .where(staff.c.name == name)
            .values(
                password_hash=hashed,
                password_set_at=utcnow(),
                failed_logins=0,
                locked_until=None,
            )
        )
        if changed.rowcount == 0:
            raise UserError(f"no staff account named {name!r}; `scf staff list` shows them")
        _end_sessions(conn, name)
    audit.record(store, actor, "staff.reset", detail=f"reset the password of account {name}")


def _end_sessions(conn: Connection, name: str) -> None:
    """End every session of ``name`` in ``conn``'s transaction (on the table itself:
    :mod:`.sessions` imports this module)."""
    from ..store.tables import staff_sessions

    conn.execute(staff_sessions.delete().where(staff_sessions.c.staff_name == name))


# -- signing in -------------------------------------------------------------------------------


def authenticate(store: Store, name: str, password: str, now: datetime) -> StaffAccount:
    """The account ``name`` if ``password`` is its password and it may sign in now.

    :raises SignInRefused: wrong name or password, a disabled account, or a locked one: the
        same words for each (they name the lock's rule), and the same cost (an unknown name is
        verified against a dummy hash), so that trying a name five times does not tell whether
        it exists.
    """
    from sqlalchemy import select

    from ..store.tables import staff

    with store.read() as conn:
        row = (
            None
            if len(name) > 100
            else conn.execute(select(staff).where(staff.c.name == name)).mappings().first()
        )
    if (
        row is None
        or len(password) > MAX_PASSWORD
        or account_of(row).state(now) != "active"
        or not _reserve(store, name, now)
    ):
        # A locked or disabled account is refused after the verify an unknown name costs: an
        # answer faster than a wrong password's would tell that the name exists.
        _verify(_dummy_hash(), password[:MAX_PASSWORD])
        raise SignInRefused(WRONG)
    if not _verify(row["password_hash"], password):
        _failed(store, name, now)
        raise SignInRefused(WRONG)
    return _signed_in(store, row, password, now)


def _verify(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (a malformed hash matches nothing)."""
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A hash of a random password, made by the current hasher: verifying against it costs
    what verifying against an account's does."""
    key = id(HASHER)
    if key not in _dummy:
        _dummy[key] = HASHER.hash(secrets.token_urlsafe(16))
    return _dummy[key]


def _reserve(store: Store, name: str, now: datetime) -> bool:
    """Count a sign-in of ``name`` as failed before its password is verified, so that guesses
    sent at once cannot all pass the lock's check before any is counted: whether it may be
    tried. An account with as many tries under way or failed as the lock allows is locked by
    the next (a burst, or tries a crash left counted) and that one is not tried."""
    from sqlalchemy import or_, select

    from ..store.tables import staff

    where = staff.c.name == name
    unlocked = or_(staff.c.locked_until.is_(None), staff.c.locked_until <= now)
    with store.transaction() as conn:
        taken = conn.execute(
            staff.update()
            .where(where, unlocked, staff.c.disabled_at.is_(None))
            .values(failed_logins=staff.c.failed_logins + 1)
        )
        if taken.rowcount == 0:
            return False
        tries = conn.execute(select(staff.c.failed_logins).where(where)).scalar() or 0
        if tries <= MAX_FAILURES:
            return True
        conn.execute(staff.update().where(where).values(failed_logins=0, locked_until=now + LOCK))
    return False


def _failed(store: Store, name: str, now: datetime) -> None:
    """A reserved sign-in of ``name`` failed (it is counted already): the account locks when
    that makes :data:`MAX_FAILURES` in a row (the count starts again after the lock)."""
    from sqlalchemy import or_

    from ..store.tables import staff

    unlocked = or_(staff.c.locked_until.is_(None), staff.c.locked_until <= now)
    with store.transaction() as conn:
        conn.execute(
            staff.update()
            .where(staff.c.name == name, unlocked, staff.c.failed_logins >= MAX_FAILURES)
            .values(failed_logins=0, locked_until=now + LOCK)
        )


def _signed_in(store: Store, row: RowMapping, password: str, now: datetime) -> StaffAccount:
    """Record a good sign-in (the failure count cleared, a hash of old costs replaced); a
    lock another worker set meanwhile still refuses it."""
    from sqlalchemy import or_

    from ..store.tables import staff

    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if HASHER.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = HASHER.hash(password)
    unlocked = or_(staff.c.locked_until.is_(None), staff.c.locked_until <= now)
    with store.transaction() as conn:
        done = conn.execute(
            staff.update()
            .where(staff.c.name == row["name"], unlocked)
            # a reset meanwhile wins: its hash is not replaced by one of the old password
            .where(staff.c.password_hash == row["password_hash"])
            .values(**values)
        )
    if done.rowcount == 0:
        raise SignInRefused(WRONG)
    return StaffAccount(row["name"], row["role"], row["created_at"], row["disabled_at"], now, None)
