"""Step 5 of a pass, once for all integrations: Closed -> Archived after
``archive_after_days``; then the bytes of photos purged ``[images] purge_after_days`` after
their issue was archived (:mod:`.retention`), and reporters' contact details ``[privacy]
purge_contact_after_days`` after (:mod:`.contact_retention`), where those are set."""

from __future__ import annotations

import logging
from datetime import timedelta

from ..ops import telemetry
from . import contact_retention, retention, transitions
from .context import StepContext

log = logging.getLogger(__name__)


def archive(ctx: StepContext) -> None:
    """Archive what is due, then purge the photos that are due."""
    after = timedelta(days=ctx.settings.organization.archive_after_days)
    with ctx.store.transaction() as conn:
        archived = transitions.archive(conn, ctx.clock(), after)
    ctx.report.archived += archived
    if archived:
        telemetry.record_transition("*", "archived")
    keep = ctx.settings.images.purge_after_days
    if keep is not None:
        purged = retention.purge_photos(ctx.store.transaction, ctx.clock(), timedelta(days=keep))
        ctx.report.photos_purged += purged
        if purged:
            log.info("purged the bytes of %s photos archived over %g days ago", purged, keep,
                     extra={"photos_purged": purged})  # fmt: skip
    days = ctx.settings.privacy.purge_contact_after_days
    if days is not None:
        gone = contact_retention.purge_contacts(
            ctx.store.transaction, ctx.clock(), timedelta(days=days)
        )
        ctx.report.contacts_purged += gone
        if gone:
            log.info("purged the reporters' contact details of %s issues archived over %d days "
                     "ago", gone, days, extra={"contacts_purged": gone})  # fmt: skip
