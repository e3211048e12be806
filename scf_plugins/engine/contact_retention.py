"""Contact retention: reporters' names, emails and phones, and their private answers, are
blanked ``[privacy] purge_contact_after_days`` after their issue is archived; the issue keeps
``contact_purged_at``, so ``issues show`` says why they are gone and no email waiting for it
is sent.

Private answers go too: a question is private because its text names a private keyword of the
organization (an email, a phone, a name), so its answer is the reporter's contact detail as
much as the columns are. Comments are kept as they are: they are the issue's record.

Nothing is purged unless the setting is there: how long a city keeps reporters' details is
its records policy. Like the photos' purge (:mod:`.retention`), it runs in the archive step, a
few hundred issues per transaction and at most :data:`PER_PASS` per pass, and reads the
partial index of archived issues whose contact details are kept (``ix_issues_contact_due``),
so its cost follows the issues due, not the store's size.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from ..store.tables import answers, issues

BATCH = 200  # issues per transaction
PER_PASS = 2_000  # issues per pass; the rest go in the next passes


def purge_contacts(
    begin: Callable[[], AbstractContextManager[Connection]],
    now: datetime,
    after: timedelta,
    limit: int = PER_PASS,
) -> int:
    """Blank the contact details of up to ``limit`` issues archived before ``now - after``;
    returns how many issues were purged. ``begin`` opens a write transaction."""
    purged = 0
    while purged < limit:
        with begin() as conn:
            ids = list(
                conn.execute(
                    # Only archiving sets archived_at; no status condition, which would
                    # lead the planner to scan every archived issue.
                    select(issues.c.id)
                    .where(issues.c.contact_purged_at.is_(None), issues.c.archived_at < now - after)
                    .order_by(issues.c.archived_at)
                    .limit(min(BATCH, limit - purged))
                ).scalars()
            )
            if not ids:
                break
            conn.execute(
                issues.update()
                .where(issues.c.id.in_(ids))
                .values(
                    reporter_name=None,
                    reporter_email=None,
                    reporter_phone=None,
                    contact_purged_at=now,
                )
            )
            conn.execute(
                answers.update()
                .where(answers.c.issue_id.in_(ids), answers.c.private.is_(True))
                .values(answer="")
            )
        purged += len(ids)
    return purged
