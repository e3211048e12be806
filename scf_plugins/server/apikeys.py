"""Open311 API keys: created once, stored as hashes, rotated and revoked by name.

A key is 32 random bytes (URL-safe base64), so a plain SHA-256 of it is enough to store: no
dictionary can reach it, and checking one costs microseconds on every POST. The key itself is
shown once, when it is made, and never stored, logged or shown again.

Rotating gives the client (the name) a new key while its previous one keeps working for a
grace period, so the client can switch without a refused POST; what either key sends is the
same client's, under the same name.

The door remembers a key it found live for a second (:func:`known_owner`), so a client's
stream of reports reads its key once a second, not once a report; revoking or rotating in
this process forgets at once, in another process within that second.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..errors import UserError
from ..net.redaction import register_secret
from ..ops import audit
from ..store.store import Store
from ..store.tables import api_keys, issues
from ..timeutil import iso, utcnow

PREFIX = "scf_"  # so a leaked key is recognisable in a scanner or a log
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ApiKey:
    """A key as listed (never the key itself)."""

    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None  # when its client last reported an issue
    previous_until: datetime | None = None  # the rotated-out key works until then (if later)


def digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(store: Store, name: str, *, actor: str) -> str:
    """Make a key called ``name`` and return it (the only time it is seen).

    :raises UserError: a bad name, or a name already used (revoked keys keep their names).
    """
    if not _NAME.match(name):
        raise UserError(
            f"API key name {name!r} is not usable; use letters, digits, '.', '_' or '-' "
            f"(at most 100), e.g. the client's name: fixmystreet"
        )
    key = PREFIX + secrets.token_urlsafe(32)
    register_secret(key)
    try:
        with store.transaction() as conn:
            conn.execute(
                api_keys.insert().values(name=name, key_hash=digest(key), created_at=utcnow())
            )
    except IntegrityError:
        raise UserError(
            f"an API key named {name!r} exists already; pick another name "
            f"(`scf api-keys list` shows them)"
        ) from None
    audit.record(store, actor, "api_keys.create", detail=f"created API key {name}")
    return key


def listed(store: Store) -> list[ApiKey]:
    """Every key, by name, revoked ones included."""
    with store.read() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.name)).mappings().all()
        used = dict(
            conn.execute(
                select(issues.c.reported_via, func.max(issues.c.created_at))
                .where(issues.c.reported_via.is_not(None))
                .group_by(issues.c.reported_via)
            ).all()
        )
    now = utcnow()
    return [
        ApiKey(
            r["name"],
            r["created_at"],
            r["revoked_at"],
            used.get(r["name"]),
            _live_until(r["previous_until"], r["revoked_at"], now),
        )
        for r in rows
    ]


def _live_until(
    until: datetime | None, revoked_at: datetime | None, now: datetime
) -> datetime | None:
    """When a previous key stops working, while it still works (None: it does not)."""
    return until if until is not None and until > now and revoked_at is None else None


def listed_json(store: Store) -> list[dict[str, Any]]:
    """The ``scf api-keys list --json`` shape."""
    return [
        {
            "name": k.name,
            "created_at": iso(k.created_at),
            "revoked_at": iso(k.revoked_at),
            "last_used_at": iso(k.last_used_at),
            "active": k.revoked_at is None,
            "previous_key_until": iso(k.previous_until),
        }
        for k in listed(store)
    ]


def revoke(store: Store, name: str, *, actor: str) -> None:
    """Revoke the key ``name`` at once (its hash stays, so the name is not reused).

    :raises UserError: no such key, or revoked already.
    """
    with store.transaction() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.name == name)).mappings().first()
        if row is None:
            raise UserError(f"no API key named {name!r}; `scf api-keys list` shows them")
        if row["revoked_at"] is not None:
            raise UserError(f"API key {name!r} is revoked already")
        conn.execute(api_keys.update().where(api_keys.c.name == name).values(revoked_at=utcnow()))
    forget_known()
    audit.record(store, actor, "api_keys.revoke", detail=f"revoked API key {name}")


@dataclass(frozen=True)
class Rotated:
    """A rotation's outcome: the new key, until when the previous one works, and whether a
    key from an earlier rotation, still in its grace period, stopped working now."""

    key: str
    previous_until: datetime
    ended_earlier: bool


MAX_GRACE = timedelta(days=90)


def rotate(
    store: Store, name: str, grace: timedelta = timedelta(hours=24), *, actor: str
) -> Rotated:
    """Give client ``name`` a new key; the current one keeps working for ``grace`` (none: it
    stops now). A key rotated out earlier and still in its grace stops now: a client has at
    most two keys.

    :raises UserError: no such key, a revoked one, or a grace out of range.
    """
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise UserError(f"the grace period must be 0 to {MAX_GRACE.days * 24} hours")
    key = PREFIX + secrets.token_urlsafe(32)
    register_secret(key)
    now = utcnow()
    with store.transaction() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.name == name)).mappings().first()
        if row is None:
            raise UserError(f"no API key named {name!r}; `scf api-keys list` shows them")
        if row["revoked_at"] is not None:
            raise UserError(
                f"API key {name!r} is revoked; make a new one with `scf api-keys create`"
            )
        ended = _live_until(row["previous_until"], None, now) is not None
        conn.execute(
            api_keys.update()
            .where(api_keys.c.name == name)
            .values(key_hash=digest(key), previous_hash=row["key_hash"], previous_until=now + grace)
        )
    forget_known()
    hours = f"{grace.total_seconds() / 3600:g}"
    detail = f"rotated API key {name}; the previous key works {hours} more hours"
    audit.record(store, actor, "api_keys.rotate", detail=detail)
    return Rotated(key, now + grace, ended)


# Built once: it runs for every POST whose key was not seen in the last KEY_FRESH seconds.
_LIVE_KEY = select(api_keys.c.name, api_keys.c.key_hash, api_keys.c.previous_until).where(
    api_keys.c.revoked_at.is_(None),
    or_(
        api_keys.c.key_hash == bindparam("b_hash"),
        and_(
            api_keys.c.previous_hash == bindparam("b_hash"),
            api_keys.c.previous_until > bindparam("b_now"),
        ),
    ),
)


def owner(store: Store, key: str | None) -> str | None:
    """The name of the live key ``key``, or None (missing, unknown, revoked, or rotated out
    and past its grace period), read from the store now."""
    if not key or len(key) > 200:
        return None
    found = _live(store, digest(key))
    return None if found is None else found[0]


def _live(store: Store, wanted: str) -> tuple[str, datetime | None] | None:
    """The name of the live key whose digest is ``wanted``, and when it stops working when
    it is a rotated-out key (None: while it is not revoked); None when there is none."""
    with store.read() as conn:
        row = conn.execute(_LIVE_KEY, {"b_hash": wanted, "b_now": utcnow()}).first()
    # The lookup is by hash, so its timing says nothing about the key itself.
    if row is None:
        return None
    return str(row.name), None if row.key_hash == wanted else row.previous_until


# The door asks for a key's owner on every POST. A live key's answer is kept this long in
# the process: a key revoked or rotated out by another process (`scf api-keys revoke` beside
# `scf serve`) stops working within KEY_FRESH seconds; by this process (the console), at once.
KEY_FRESH = 1.0
MAX_KNOWN = 1024  # keys kept at once (only live ones are kept: a crowd of wrong keys adds none)
# (store, digest) -> (monotonic deadline, wall-clock end of a rotated-out key's grace, name)
_known: WeakKeyDictionary[Store, dict[str, tuple[float, datetime | None, str]]]
_known = WeakKeyDictionary()
_known_lock = threading.Lock()
_forgotten = 0  # how many times forget_known ran: a look-up begun before one is not kept


def known_owner(store: Store, key: str | None) -> str | None:
    """The name of the live key ``key`` when this process found it live less than
    ``KEY_FRESH`` seconds ago (a dictionary look-up: fit for the event loop); None when it
    did not (then :func:`checked_owner` asks the store)."""
    if not key or len(key) > 200:
        return None
    seen = _known.get(store)
    entry = seen.get(digest(key)) if seen is not None else None
    if entry is None:
        return None
    deadline, grace_ends, name = entry
    if time.monotonic() >= deadline or (grace_ends is not None and utcnow() >= grace_ends):
        return None
    return name


def checked_owner(store: Store, key: str | None) -> str | None:
    """:func:`owner`, read from the store, remembering a live key for :func:`known_owner`."""
    if not key or len(key) > 200:
        return None
    wanted = digest(key)
    began = _forgotten
    found = _live(store, wanted)
    if found is None:
        return None
    name, grace_ends = found
    with _known_lock:
        if began == _forgotten:  # else a revocation may have committed after the read
            seen = _known.setdefault(store, {})
            if len(seen) >= MAX_KNOWN:
                seen.clear()
            seen[wanted] = (time.monotonic() + KEY_FRESH, grace_ends, name)
    return name


def forget_known() -> None:
    """Forget every key :func:`checked_owner` remembered (a key was revoked or rotated)."""
    global _forgotten
    with _known_lock:
        _forgotten += 1
        _known.clear()
