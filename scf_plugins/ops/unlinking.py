"""``scf issues withdraw`` and ``scf issues resubmit``: one issue, several, or every one a
filter of ``scf issues list`` names, each done whole or not at all.

Each issue is decided and changed in a transaction of its own (its status, its message to the
resident, its photos), so a refusal or a failure leaves it as it was and the others are done
anyway; each gets one :class:`Outcome` line saying what was done, or why not and what to do.

A withdraw with ``remote`` (``scf issues withdraw --remote``) first cancels the remote request,
once, with the reason, through the plugin's ``cancel_request`` (:mod:`.remote_cancel`); where
it cannot (the plugin does not declare it, a create with no id yet, a link of another
environment, the remote refused) the issue is left as it is and the line says why.

A resubmit is refused where it would do harm: a create that may have reached the remote system
or that a worker is sending now (sending anew under a new marker could make a second
request), an issue held for its address
(resubmitting would skip the check), a request closed remotely with a status nobody mapped (the
work is done: map the status), and an issue no integration serves. Linked issues whose remote
request is gone are flagged (``missing``), so ``resubmit --attention`` sends them anew, which
``retry`` cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UserError
from . import audit

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store

Verb = Literal["withdraw", "resubmit"]
Selection = Literal["failing", "stuck", "attention"]
_DONE = {"withdraw": "withdrawn", "resubmit": "resubmitted"}


@dataclass(frozen=True)
class Outcome:
    """What became of one issue: done or not, and a sentence saying what, or why not."""

    issue_id: int
    verb: Verb
    done: bool
    text: str

    def line(self) -> str:
        """One line for the operator."""
        return f"issue {self.issue_id} {'' if self.done else 'not '}{_DONE[self.verb]}: {self.text}"

    def json(self) -> dict[str, Any]:
        """The ``--json`` shape of one issue's outcome."""
        return {"id": self.issue_id, "action": self.verb, "done": self.done, "text": self.text}


def checked_reason(text: str, field: str = "--reason") -> str:
    """A reason told to residents (withdrawing or resubmitting issues, here or by link):
    1 to 500 printable characters once trimmed; else a refusal naming ``field`` (the CLI's
    option, or a form's label)."""
    text = text.strip()
    if not text or len(text) > 500 or not text.isprintable():
        raise UserError(f"{field} must be 1 to 500 printable characters")
    return text


def choose(
    settings: Settings,
    store: Store,
    issue_ids: Sequence[int],
    selection: Selection | None,
    integration: str | None,
    verb: Verb,
) -> list[int]:
    """The issues to act on: ``issue_ids`` as given (each once), or every issue of
    ``selection`` (of ``integration``, if given), oldest first."""
    from . import counts

    if (len(issue_ids) > 0) + (selection is not None) != 1:
        raise UserError("give issue ids, or --failing, --stuck or --attention (one of them)")
    if integration is not None and selection is None:
        raise UserError("--integration goes with --failing, --stuck or --attention, not with ids")
    if integration is not None and integration not in settings.integrations:
        known = ", ".join(settings.integrations) or "none"
        raise UserError(f"there is no integration {integration!r}; the integrations: {known}")
    if selection is None:
        return list(dict.fromkeys(issue_ids))
    with store.read() as conn:
        chosen = sorted(counts.ids(conn, selection, integration))
    if not chosen:
        of = f" of {integration}" if integration else ""
        what = "waiting for a person" if selection == "attention" else selection
        raise UserError(f"no issue{of} is {what}; nothing to {verb}")
    return chosen


def act(
    settings: Settings,
    store: Store,
    issue_ids: Sequence[int],
    verb: Verb,
    reason: str,
    *,
    actor: str,
    host: PluginHost | None = None,
    remote: bool = False,
) -> Iterator[Outcome]:
    """Withdraw (close here, with ``reason`` told to the resident; the remote system is not
    touched, unless ``remote``: then its request is cancelled first, through ``host``) or
    resubmit (send anew, under a new marker, photos too) each issue in turn, yielding its
    outcome as soon as it is committed (and, when done, audited)."""
    from sqlalchemy import select

    from ..engine import transitions
    from ..store.tables import issues
    from ..timeutil import utcnow
    from .remote_cancel import cancel_first

    if remote and (verb != "withdraw" or host is None):
        raise UserError("only a withdraw cancels the remote request (--remote)")
    for issue_id in issue_ids:
        cancelled: str | None = None  # what --remote did (or found nothing to do)
        remote_done: str | None = None  # ... when it changed the remote system
        if remote:
            assert host is not None
            said = cancel_first(settings, store, host, issue_id, reason)
            if not said.done:
                yield Outcome(issue_id, verb, False, said.text)
                continue
            cancelled = said.text or None
            if said.cancelled:
                remote_done = said.text
        with store.transaction() as conn:
            # Locked (PostgreSQL), so a worker cannot claim it between this read and the
            # change; the change re-checks that no worker holds it all the same.
            row = (
                conn.execute(select(issues).where(issues.c.id == issue_id).with_for_update())
                .mappings()
                .first()
            )
            refused = refusal(settings, row, issue_id, verb)
            if refused is None and not getattr(transitions, verb)(
                conn, settings, issue_id, reason, utcnow()
            ):
                refused = (
                    f"a worker is sending it now; see `scf issues show {issue_id}` after its pass"
                    if verb == "resubmit"
                    else f"it changed meanwhile; see `scf issues show {issue_id}`"
                )
        if refused is not None and remote_done:
            refused = f"{remote_done}, but here {refused}"
        if refused is not None:
            yield Outcome(issue_id, verb, False, refused)
        else:
            assert row is not None
            done = "withdrew" if verb == "withdraw" else "resubmitted"
            remotely = f" ({cancelled})" if cancelled else ""
            audit.record(
                store,
                actor,
                f"issues.{verb}",
                issue_id=issue_id,
                integration=row["integration"],
                detail=f"{done}{remotely}: {reason}",
            )
            text = _done(row, verb) if cancelled is None else f"closed here; {cancelled}"
            yield Outcome(issue_id, verb, True, text)


def refusal(settings: Settings, row: RowMapping | None, issue_id: int, verb: Verb) -> str | None:
    """Why the issue cannot be withdrawn or resubmitted, with what to do; None when it can."""
    if row is None:
        return "there is no such issue; see `scf issues list`"
    status = row["status"]
    if status not in ("open", "acknowledged"):
        return f"it is {status} already"
    if verb == "withdraw":
        return None
    name = row["integration"]
    if name is None:
        return (
            f"no integration serves it (cancelled remotely): give it a type first, "
            f"`scf issues recategorize {issue_id} --type CODE`"
        )
    if name not in settings.integrations:
        return f"its integration {name!r} is not in the config any more"
    if row["held"]:
        return (
            f"it is held for its address, so sending it anew would skip the check: "
            f"`scf issues release {issue_id}` sends it on"
        )
    if row["remote_id"] is None and (row["submit_attempted"] or row["pending_token"]):
        return (
            f"its create may have reached {name} already, and under a new marker that request "
            f"would never be found: the next pass looks it up first (`scf issues retry "
            f"{issue_id}`), or withdraw it"
        )
    if row["attention_kind"] == "unmapped":
        return (
            f"its request {row['remote_id']} is closed in {name} with status "
            f"{row['remote_status']!r}, which nothing maps: add it to closed_statuses or "
            f"cancel_statuses (the next poll then closes the issue), or withdraw it"
        )
    return None


def _done(row: RowMapping, verb: Verb) -> str:
    """What was done to the issue (its row as it was before)."""
    where = row["link_environment"] or "a link made before links were scoped"
    if verb == "withdraw":
        kept = (
            f" (request {row['remote_id']} in {where} stays as it is)" if row["remote_id"] else ""
        )
        return f"closed here; the remote system was not touched{kept}"
    left = f" (it leaves request {row['remote_id']} in {where})" if row["remote_id"] else ""
    return f"sent anew on the next pass, its photos too{left}"
