"""Staff console sessions: begun at sign-in, found by their token, ended.

A session is a random token given to the browser; only its SHA-256 is stored, beside the
session's CSRF token. A session ends when it is idle or old (the console's limits), when its
account is disabled, or when the password changed after it began; an account keeps its
:data:`MAX_SESSIONS` most recently seen. The accounts are :mod:`.staff`'s.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..timeutil import utcnow
from .staff import StaffAccount, account_of

if TYPE_CHECKING:
    from ..store.store import Store

SEEN_EVERY = timedelta(minutes=1)  # a session's seen_at is written at most this often
MAX_SESSIONS = 20  # per account: a new sign-in past this ends the least recently seen


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(store: Store, name: str) -> tuple[str, str]:
    """Begin a session for the account ``name`` (signed in just now); its token (for the
    cookie, never stored) and its CSRF token."""
    from sqlalchemy import select

    from ..store.tables import staff_sessions

    token = secrets.token_urlsafe(32)
    csrf = secrets.token_hex(32)
    now = utcnow()
    mine = staff_sessions.c.staff_name == name
    with store.transaction() as conn:
        conn.execute(
            staff_sessions.insert().values(
                token_hash=_token_hash(token),
                staff_name=name,
                csrf=csrf,
                created_at=now,
                seen_at=now,
            )
        )
        # Sessions nobody signed out of would pile up: keep the most recently seen few.
        kept = select(staff_sessions.c.token_hash).where(mine)
        kept = kept.order_by(staff_sessions.c.seen_at.desc()).limit(MAX_SESSIONS)
        conn.execute(staff_sessions.delete().where(mine, staff_sessions.c.token_hash.not_in(kept)))
    return token, csrf


def session(
    store: Store, token: str, now: datetime, idle: timedelta, absolute: timedelta
) -> tuple[StaffAccount, str] | None:
    """The account signed in with ``token`` and the session's CSRF token; None when the
    token is unknown, the session idle longer than ``idle`` or older than ``absolute``, the
    account disabled, or its password changed after the session began (a dead session's row
    is deleted)."""
    from sqlalchemy import select

    from ..store.tables import staff, staff_sessions

    if not token or len(token) > 200:
        return None
    hashed = _token_hash(token)
    query = (
        select(
            staff,
            staff_sessions.c.csrf,
            staff_sessions.c.created_at.label("began_at"),
            staff_sessions.c.seen_at,
        )
        .join(staff, staff.c.name == staff_sessions.c.staff_name)
        .where(staff_sessions.c.token_hash == hashed)
    )
    with store.read() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    this = staff_sessions.c.token_hash == hashed
    dead = (
        now - row["seen_at"] > idle
        or now - row["began_at"] > absolute
        or row["disabled_at"] is not None
        or row["began_at"] < row["password_set_at"]
    )
    if dead:
        with store.transaction() as conn:
            conn.execute(staff_sessions.delete().where(this))
        return None
    if now - row["seen_at"] >= SEEN_EVERY:
        with store.transaction() as conn:
            conn.execute(staff_sessions.update().where(this).values(seen_at=now))
    account = account_of(row)
    return account, str(row["csrf"])


def end_session(store: Store, token: str) -> None:
    """End the session of ``token`` (signing out); nothing when there is none."""
    from ..store.tables import staff_sessions

    if not token or len(token) > 200:
        return
    with store.transaction() as conn:
        conn.execute(
            staff_sessions.delete().where(staff_sessions.c.token_hash == _token_hash(token))
        )
