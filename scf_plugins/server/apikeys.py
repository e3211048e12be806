"""Open311 API keys: created once, stored as hashes, rotated and revoked by name.

A key is 32 random bytes (URL-safe base64), so a plain SHA-256 of it is enough to store: no
dictionary can reach it, and checking one costs microseconds on every POST. The key itself is
shown once, when it is made, and never stored, logged or shown again.

Rotating gives the client (the name) a new key while its previous one keeps working for a
grace period, so the client can switch without a refused POST; what either key sends is the
same client's, under the same name.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
    hours = f"{grace.total_seconds() / 3600:g}"
    detail = f"rotated API key {name}; the previous key works {hours} more hours"
    audit.record(store, actor, "api_keys.rotate", detail=detail)
    return Rotated(key, now + grace, ended)


# Built once: it runs for every POST (a revoked key is refused at once, so nothing is cached).
_LIVE_KEY = select(api_keys.c.name).where(
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
    and past its grace period)."""
    if not key or len(key) > 200:
        return None
    wanted = digest(key)
    with store.read() as conn:
        row = conn.execute(_LIVE_KEY, {"b_hash": wanted, "b_now": utcnow()}).first()
    # The lookup is by hash, so its timing says nothing about the key itself.
    return None if row is None else str(row.name)
