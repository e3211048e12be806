"""What staff may do to an issue now, read from its row with the conditions the core functions
themselves check: the console offers only these actions (and the core still refuses the
others, whatever is posted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store


@dataclass(frozen=True)
class Allowed:
    """Each action of ``scf issues …`` and whether the issue's state allows it now."""

    retry: bool  # Open, not sent yet, routed and not held: `scf issues retry`
    edit: bool  # Open and surely not sent (no create that may have arrived): `issues edit`
    withdraw: bool  # Open or Acknowledged: `issues withdraw`
    release: bool  # held for its address: `issues release`
    recategorize: bool  # Open and not linked: `issues recategorize`
    resubmit: bool  # what `issues resubmit` would not refuse
    comment: bool = True  # always: a closed issue's comment stays here, and says so


def allowed(settings: Settings, store: Store, issue_id: int) -> Allowed | None:
    """The actions issue ``issue_id``'s state allows; None when there is no such issue."""
    from sqlalchemy import select

    from ..store.tables import issues
    from .unlinking import refusal

    with store.read() as conn:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
    if row is None:
        return None
    live = row["status"] in ("open", "acknowledged")
    unsent = row["status"] == "open" and row["remote_id"] is None
    held = bool(row["held"])
    return Allowed(
        retry=unsent and row["integration"] in settings.integrations and not held,
        edit=unsent and not row["submit_attempted"] and row["pending_token"] is None,
        withdraw=live,
        release=held,
        recategorize=unsent,
        resubmit=live and refusal(settings, row, issue_id, "resubmit") is None,
    )
