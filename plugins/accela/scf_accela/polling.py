"""A poll: records read many ids per call, their comments read in one ``POST /v4/batch``.

Accela answers a multi-id read in its own order and matches nothing by position, so records
are matched by ``id``. An unknown id is expected to be left out of the answer (then MISSING);
an agency whose server answers the whole call 404 instead is read again in halves until the
unknown id stands alone. Accela has no read of many records' comments: they are read in one
batch call of ``GET …/comments`` sub-requests where the agency has ``/v4/batch``, else one
call per record (an agency whose version lacks the batch operation).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from scf_plugins import (
    DefiniteError,
    Integration,
    LoginRefused,
    RemoteState,
    RemoteUpdate,
    Tracked,
)

from . import records
from .client import AccelaClient, NotFound
from .settings import option

log = logging.getLogger(__name__)

BATCH_LIMIT = 50  # sub-requests per POST /v4/batch
BATCH_REFUSED = "batch_refused_at"  # the integration state's key: when the batch was refused
BATCH_RETRY = timedelta(days=1)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


class Reading:
    """The records of one poll as they are read, and why those that could not be were not."""

    def __init__(self, client: AccelaClient) -> None:
        self.client = client
        self.found: dict[str, dict[str, Any]] = {}
        self.damaged: dict[str, str] = {}
        self.missing: set[str] = set()

    def read(self, ids: list[str]) -> None:
        """``GET /v4/records/{ids}`` for ``ids``, halving a batch that fails as a whole."""
        try:
            answer = self.client.get_salvaged(f"records/{','.join(ids)}", what="GET records")
        except LoginRefused:
            raise
        except NotFound:
            if len(ids) == 1:
                self.missing.add(ids[0])
                return
            self._halves(ids)
            return
        except DefiniteError as exc:  # a 400 naming one id of the batch, say
            if len(ids) == 1:
                self.damaged[ids[0]] = f"Accela refused to read record {ids[0]}: {exc}"
                return
            self._halves(ids)
            return
        result = answer.at("result")
        items = result.value if isinstance(result.value, list) else [result.value]
        broken = result.broken() if isinstance(result.value, list) else {}
        asked, unnamed = set(ids), []
        for index, record in enumerate(items):
            rid = record.get("id") if isinstance(record, dict) else None
            why = broken.get(index)
            if rid not in asked:
                if why:
                    unnamed.append(why)
            elif why:
                self.damaged[rid] = f"Accela sent record {rid} damaged: {why}"
            else:
                self.found[rid] = record
        lost = result.cut() or next(iter(unnamed), None)
        for rid in ids if lost else ():
            if rid not in self.found:
                self.damaged.setdefault(
                    rid,
                    f"record {rid} may be in the part of Accela's "
                    f"answer that could not be read: {lost}",
                )

    def _halves(self, ids: list[str]) -> None:
        middle = len(ids) // 2
        self.read(ids[:middle])
        self.read(ids[middle:])


def comments(
    client: AccelaClient, integration: Integration, ids: list[str]
) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Every comment of each record in ``ids`` (by record), and the records whose comments
    could not be read (and why).

    Whether the agency has ``POST /v4/batch`` is kept in the integration's state (shared by
    every worker and process): once refused, comments are read record by record, and the
    batch is tried again a day later (an agency may be upgraded).
    """
    out: dict[str, list[Any]] = {}
    unread: dict[str, str] = {}
    pending = list(ids)
    if _batch_may_work(integration):
        try:
            for chunk in _chunks(pending, BATCH_LIMIT):
                _batch(client, chunk, out, unread)
            _batch_worked(integration)
            return out, unread
        except LoginRefused:
            raise
        except DefiniteError as exc:  # no such operation here (404), or not for these calls
            log.info(
                "the agency refused POST /v4/batch (%s); reading comments record by record",
                exc,
                extra={"integration": integration.name},
            )
            now = datetime.now(UTC).isoformat(timespec="seconds")
            integration.state.update(lambda old: {**old, BATCH_REFUSED: now})
            pending = [rid for rid in ids if rid not in out and rid not in unread]
    for rid in pending:
        try:
            body = client.get(f"records/{rid}/comments", what="GET comments")
        except LoginRefused:
            raise
        except DefiniteError as exc:
            unread[rid] = f"its comments could not be read: {exc}"
            continue
        result = body.get("result")
        out[rid] = result if isinstance(result, list) else []
    return out, unread


def _batch_may_work(integration: Integration) -> bool:
    """False within a day of the agency refusing ``POST /v4/batch``."""
    refused = str(integration.state.read().value.get(BATCH_REFUSED) or "")
    try:
        when = datetime.fromisoformat(refused) if refused else None
    except ValueError:
        return True
    return when is None or when.tzinfo is None or datetime.now(UTC) - when > BATCH_RETRY


def _batch_worked(integration: Integration) -> None:
    """Forget a refusal of the batch (written only when there was one)."""
    if BATCH_REFUSED in integration.state.read().value:
        integration.state.update(lambda old: {k: v for k, v in old.items() if k != BATCH_REFUSED})


def _batch(
    client: AccelaClient, ids: list[str], out: dict[str, list[Any]], unread: dict[str, str]
) -> None:
    """One ``POST /v4/batch`` of ``GET /v4/records/{id}/comments``: answers in the order
    asked, each ``{"status", "result"}`` or an error envelope."""
    body = [{"method": "GET", "relativeUrl": f"/v4/records/{rid}/comments"} for rid in ids]
    answer = client.search("batch", body, what="POST batch (comments)")
    items = answer.get("result")
    items = items if isinstance(items, list) else []
    for index, rid in enumerate(ids):
        item = items[index] if index < len(items) else None
        if isinstance(item, list):  # an agency answering each with its bare result
            out[rid] = item
        elif (
            isinstance(item, dict)
            and item.get("status") in (200, "200", None)
            and isinstance(item.get("result"), list)
        ):
            out[rid] = item["result"]
        elif isinstance(item, dict) and item.get("status") in (200, "200", None):
            out[rid] = []  # no comments: an empty result may be left out
        else:
            said = (
                f"{item.get('code') or item.get('status')}: {item.get('message') or ''}"
                if isinstance(item, dict)
                else "no answer in the batch"
            )
            unread[rid] = f"its comments could not be read ({said.strip()[:200]})"


def poll(
    client: AccelaClient, integration: Integration, tracked: list[Tracked]
) -> list[RemoteUpdate]:
    """One update per tracked issue: records read ``ids_per_request`` at a time, the
    comments of those found read in as few calls as the agency allows."""
    reading = Reading(client)
    wanted = list(dict.fromkeys(rid for t in tracked if (rid := records.record_id(t.remote_id))))
    for chunk in _chunks(wanted, int(option(integration, "ids_per_request"))):
        reading.read(chunk)
    found_comments, unread = (
        comments(client, integration, sorted(reading.found)) if reading.found else ({}, {})
    )
    updates = []
    for t in tracked:
        rid = records.record_id(t.remote_id)
        record = reading.found.get(rid) if rid else None
        if rid is None:
            updates.append(
                RemoteUpdate(
                    t.issue_id,
                    t.remote_id,
                    RemoteState.UNREADABLE,
                    error=f"{t.remote_id!r} is not an Accela record id",
                )
            )
        elif record is None:
            why = reading.damaged.get(rid)
            state = RemoteState.UNREADABLE if why else RemoteState.MISSING
            updates.append(RemoteUpdate(t.issue_id, t.remote_id, state, error=why))
        else:
            update = records.update_of(integration, t.issue_id, t.remote_id, record)
            pulled = records.resident_comments(integration, found_comments.get(rid, []))
            updates.append(dataclasses.replace(update, comments=pulled, error=unread.get(rid)))
    return updates
