"""``scf issues retry``: someone put a cause right, so what waited on it is tried at once.

The issues chosen (ids, or every ``failing`` or ``stuck`` one) get their back-off cleared, and
so do their comments and photos not yet pushed. An integration that is down would still send
nothing until its next probe, up to five minutes away: so the circuits of the integrations
concerned end their wait too, and the next pass probes them first. The answer says what the
next pass will really do, and why (down since when, a create a stopped worker may have in
flight).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import UserError
from . import audit

if TYPE_CHECKING:
    from datetime import datetime

    from ..config.settings import Settings
    from ..engine.circuits import Circuit
    from ..models import Integration
    from ..store.store import Store

Selection = Literal["failing", "stuck"]
_CHUNK = 500  # ids per IN list


@dataclass(frozen=True)
class Retried:
    """What ``scf issues retry`` changed: how many issues were chosen, how many of them and
    of their comments and photos will be tried again, the circuits whose wait it ended, and
    how many of the issues a stopped worker may have created already (they are looked up)."""

    chosen: int
    issues: int
    pushed: int
    down: tuple[Circuit, ...]
    in_flight: int
    now: datetime
    selection: Selection | None = None

    def text(self) -> str:
        """One line for the operator: what the next pass does, and why."""
        if not self.issues and not self.pushed:
            head = f"no issue is {self.selection}" if self.selection else "nothing waits here"
        else:
            head = (f"{self.issues} issue(s) and {self.pushed} comment(s) or photo(s) will be "
                    f"tried again on the next pass")  # fmt: skip
            if self.chosen > self.issues:
                head += f" ({self.chosen - self.issues} others are not waiting to be sent)"
        parts = [head, *(circuit.waiting(self.now) for circuit in self.down)]
        if self.in_flight:
            parts.append(
                f"{self.in_flight} may have been created by a worker that stopped mid-call: each "
                f"is looked up first, and sent again only once that call cannot still be under way"
            )
        return "; ".join(parts)


def retry(
    settings: Settings,
    store: Store,
    issue_ids: Sequence[int],
    selection: Selection | None,
    integration: str | None,
    *,
    actor: str,
) -> Retried:
    """Clear the back-off of the issues given, or of every ``failing`` or ``stuck`` one (of
    ``integration``, if given), and of their comments and photos not yet pushed; end the wait
    of the circuits of the integrations concerned (theirs, or with a selection every one that
    is down: a down integration is failing as a whole). The audit log has an entry per issue
    named, or one for a selection."""
    from ..engine import circuits
    from ..timeutil import utcnow
    from .counts import STUCK_AFTER

    if integration is not None and integration not in settings.integrations:
        known = ", ".join(settings.integrations) or "none"
        raise UserError(f"there is no integration {integration!r}; the integrations: {known}")
    if integration is not None and issue_ids:
        raise UserError("--integration goes with --failing or --stuck, not with issue ids")
    now = utcnow()
    ids = list(issue_ids)
    concerned: dict[str, Integration] = {}
    if selection is not None:
        ids = list(store.select_ids(selection, integration, STUCK_AFTER))
        names = [integration] if integration else list(settings.integrations)
        concerned = {name: settings.integrations[name] for name in names}
    routed, in_flight = _routed(settings, store, ids, now)
    concerned.update(routed)
    if not ids and not _any_down(store, concerned.values()):
        raise UserError(f"no issue is {selection}; nothing to retry")
    count, pushed = store.retry(ids) if ids else (0, 0)
    if ids and not count and not pushed:
        raise UserError(
            "none of these issues is Open and waiting to be sent, nor has a comment waiting "
            "(linked issues are polled each round anyway)"
        )
    with store.transaction() as conn:
        down = circuits.end_waits(conn, concerned.values(), now)
    waiting = in_flight if count else 0
    retried = Retried(len(ids), count, pushed, tuple(down), waiting, now, selection)
    _audit(store, actor, retried, issue_ids, integration)
    return retried


def _audit(
    store: Store,
    actor: str,
    retried: Retried,
    issue_ids: Sequence[int],
    integration: str | None,
) -> None:
    """One entry per issue named, or one naming how many a selection retried."""
    if retried.selection is None:
        audit.record_each(store, actor, "issues.retry", issue_ids, detail="retried")
        return
    ended = "".join(f"; ended the wait of {c.integration}" for c in retried.down)
    audit.record(
        store,
        actor,
        "issues.retry",
        integration=integration,
        detail=f"retried {retried.issues} {retried.selection} issues{ended}",
    )


def _routed(
    settings: Settings, store: Store, ids: Sequence[int], now: datetime
) -> tuple[dict[str, Integration], int]:
    """The integrations of the Open, unlinked issues ``ids``, and how many of those a
    stopped worker may have in flight (their create sent less than a call timeout ago)."""
    from sqlalchemy import select

    from ..engine import inflight
    from ..models import Status
    from ..store.tables import issues

    routed: dict[str, Integration] = {}
    in_flight = 0
    columns = (issues.c.integration, issues.c.submit_attempted, issues.c.submit_attempted_at)
    with store.read() as conn:
        for start in range(0, len(ids), _CHUNK):
            rows = conn.execute(
                select(*columns).where(
                    issues.c.id.in_(ids[start : start + _CHUNK]),
                    issues.c.status == Status.OPEN.value,
                    issues.c.remote_id.is_(None),
                )
            )
            for name, attempted, sent in rows:
                found = settings.integrations.get(name or "")
                if found is None:
                    continue
                routed[found.name] = found
                in_flight += inflight.sent_at(attempted, sent, found, now) is not None
    return routed, in_flight


def _any_down(store: Store, integrations: Iterable[Integration]) -> bool:
    """Whether one of ``integrations`` is down on its live settings."""
    from ..engine import circuits

    with store.read() as conn:
        down = circuits.read_all(conn)
    return any(i.name in down and down[i.name].applies_to(i) for i in integrations)
