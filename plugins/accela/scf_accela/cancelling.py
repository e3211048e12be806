"""Cancelling a record from here, because staff withdrew its issue (``scf issues withdraw
--remote``): where the agency lets the integration set a VOID status (``withdraw_status``)."""

from __future__ import annotations

import logging
from typing import Any

from scf_plugins import DefiniteError, Integration, Issue, RemoteState

from . import records
from .client import AccelaClient, Refused, path_id, results_of
from .settings import option

log = logging.getLogger(__name__)


def cancel(client: AccelaClient, integration: Integration, issue: Issue, reason: str) -> str:
    """Cancel the issue's record because staff withdrew the issue here: its status set to
    ``withdraw_status`` (a VOID status the agency lets the integration set) with the reason
    as ``statusReason`` (``PUT /v4/records/{id}``; the status alone where the agency refuses
    a reason it has not listed), and the reason added as a comment. Once: a record already in
    that status (an earlier answer lost) only gets the comment it may lack.

    :returns: what was done, in one line.
    :raises DefiniteError: without ``withdraw_status``; for a record that is not the
        issue's, or that is closed; when Accela (or the agency's script) refuses.
    """
    status = str(option(integration, "withdraw_status")).strip()
    if not status:
        raise DefiniteError(
            f"integration {integration.name} cannot cancel Accela records: set "
            f'withdraw_status to the status the agency allows (e.g. "Withdrawn")'
        )
    rid = records.issue_record(issue)
    found = client.get(f"records/{path_id(rid)}", what="GET records").get("result")
    record = found[0] if isinstance(found, list) and found else found
    if not isinstance(record, dict):
        raise DefiniteError(f"Accela has no record {rid}; there is nothing to cancel")
    if str(record.get("shortNotes") or "").strip() != issue.marker:
        raise DefiniteError(
            f"record {rid} in Accela does not carry this issue's marker {issue.marker}; it is "
            f"not cancelled from here"
        )
    now = records.status_value(record) or "?"
    already = now.lower() == status.lower()
    if not already:
        state, _ = records.state_of(integration, record)
        if state is RemoteState.CLOSED:
            raise DefiniteError(
                f"record {rid} is closed in Accela with status {now}; a closed record is not "
                f"cancelled"
            )
        if state is RemoteState.CANCELED:
            return f"it was cancelled already, with status {now}"
        _set_status(client, rid, status, reason)
    note = f"Withdrawn: {reason}" if reason.strip() else "Withdrawn"
    listed = client.get(f"records/{path_id(rid)}/comments", what="GET comments")
    if not any(isinstance(c, dict) and c.get("text") == note for c in listed.get("result") or []):
        results_of(
            client.send(
                "POST",
                f"records/{path_id(rid)}/comments",
                [{"text": note, "displayOnInspection": "N"}],
                what="POST comments",
            ),
            "the reason",
        )
    return (
        f"it was cancelled already, with status {now}"
        if already
        else (f"cancelled with status {status}")
    )


def _set_status(client: AccelaClient, rid: str, status: str, reason: str) -> None:
    """``PUT /v4/records/{id}`` with the status and, where the agency takes it, the reason."""
    body: dict[str, Any] = {"status": {"value": status}}
    if reason.strip():
        body["statusReason"] = {"value": reason.strip()[:240]}
    try:
        client.send("PUT", f"records/{path_id(rid)}", body, what="PUT records (cancel)")
    except Refused as exc:
        if "statusReason" not in body or exc.status != 400:
            raise
        log.info(
            "Accela refused the cancel's reason as a status reason (%s); setting the status "
            "alone, the reason goes in a comment",
            exc,
            extra={"integration": client.integration.name},
        )
        client.send(
            "PUT",
            f"records/{path_id(rid)}",
            {"status": {"value": status}},
            what="PUT records (cancel)",
        )
