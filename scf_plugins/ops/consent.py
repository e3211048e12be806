"""A resident's say over the emails they get: signed unsubscribe tokens, and what one does.

A token carries an issue id and a scope ("issue": stop emails about this report; "address":
stop all emails to the reporter's address), signed with HMAC-SHA256 under a key kept in the
store (``scf_meta`` key ``unsubscribe_signing_key``, made on first use). It never carries the
address: a link in an email, a URL in an access log or a browser's history names no one. An
address that asked for no email is kept only as a salted SHA-256 hash (the salt is the store's,
``scf_meta`` key ``email_optout_salt``), so the opt-out list names no one either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, RowMapping, select

from ..store.meta_secrets import meta_secret
from ..store.tables import email_optouts, issues, meta
from ..timeutil import utcnow

if TYPE_CHECKING:
    from ..store.store import Store

log = logging.getLogger(__name__)

Scope = Literal["issue", "address"]
SCOPES: tuple[Scope, ...] = ("issue", "address")
SIGNING_KEY = "unsubscribe_signing_key"
OPTOUT_SALT = "email_optout_salt"
_LETTER = {"issue": "i", "address": "a"}
_SCOPE_OF: dict[str, Scope] = {"i": "issue", "a": "address"}
_MAC_BYTES = 16  # 128 bits: unguessable, and a link short enough for any mail client
_TOKEN = re.compile(r"([1-9][0-9]{0,17})([ia])([A-Za-z0-9_-]{22})")
_keys: weakref.WeakKeyDictionary[Store, dict[str, bytes]] = weakref.WeakKeyDictionary()


def token(store: Store, issue_id: int, scope: Scope) -> str:
    """The unsubscribe token for ``issue_id`` and ``scope`` (the same every time)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown unsubscribe scope {scope!r}")
    body = f"{int(issue_id)}{_LETTER[scope]}"
    return body + _mac(_key(store, SIGNING_KEY), body)


def verify(store: Store, value: str) -> tuple[int, Scope] | None:
    """The issue id and scope a token was signed for; None for anything forged or garbled."""
    match = _TOKEN.fullmatch(value)
    if match is None:
        return None
    body = match[1] + match[2]
    if not hmac.compare_digest(_mac(_key(store, SIGNING_KEY), body), match[3]):
        return None
    return int(match[1]), _SCOPE_OF[match[2]]


def unsubscribe(store: Store, issue_id: int, scope: Scope) -> str:
    """Stop the emails ``scope`` names; returns what was done, in words for the resident.

    "issue" switches the issue's notifications off; "address" does that too and adds the
    reporter's address (its hash) to the opt-outs, so no other report of theirs is emailed.

    :raises LookupError: when there is no such issue.
    """
    salt = _key(store, OPTOUT_SALT) if scope == "address" else b""
    with store.transaction() as conn:
        row = conn.execute(select(issues.c.reporter_email).where(issues.c.id == issue_id)).first()
        if row is None:
            raise LookupError(f"no issue {issue_id}")
        conn.execute(issues.update().where(issues.c.id == issue_id).values(notify_off=True))
        if scope == "address" and row.reporter_email:
            digest = address_hash(salt, str(row.reporter_email))
            known = conn.execute(
                select(email_optouts.c.address_hash).where(email_optouts.c.address_hash == digest)
            ).first()
            if known is None:
                conn.execute(
                    email_optouts.insert().values(address_hash=digest, created_at=utcnow())
                )
    log.info("issue %s: a resident stopped emails (%s)", issue_id, scope)
    if scope == "issue":
        return f"You will get no more emails about report {issue_id}."
    return "You will get no more emails at this address, about this report or any other."


def wants_mail(conn: Connection, issue: RowMapping | Mapping[str, Any]) -> bool:
    """Whether the reporter of ``issue`` (a row of ``issues``) may be emailed: the issue not
    switched off, and the address not opted out."""
    if issue["notify_off"]:
        return False
    address = issue["reporter_email"]
    if not address:
        return False
    salt = conn.execute(select(meta.c.value).where(meta.c.key == OPTOUT_SALT)).scalar()
    if salt is None:
        return True  # made with the first opt-out: none yet
    digest = address_hash(bytes.fromhex(str(salt)), str(address))
    found = conn.execute(
        select(email_optouts.c.address_hash).where(email_optouts.c.address_hash == digest)
    ).first()
    return found is None


def address_hash(salt: bytes, address: str) -> str:
    """The opt-out list's name for ``address``: SHA-256 of the salt and the address, trimmed
    and lowercased (64 hex characters)."""
    return hashlib.sha256(salt + address.strip().lower().encode("utf-8")).hexdigest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, f"scf unsubscribe {body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode().rstrip("=")


def _key(store: Store, name: str) -> bytes:
    """The store's secret ``name`` (:func:`~scf_plugins.store.meta_secrets.meta_secret`), read
    once per store."""
    cached = _keys.setdefault(store, {})
    if name not in cached:
        cached[name] = meta_secret(store, name)
    return cached[name]
