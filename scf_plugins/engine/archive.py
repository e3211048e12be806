"""Step 5 of a pass, once for all integrations: Closed -> Archived after
``archive_after_days``; then the bytes of photos purged ``[images] purge_after_days`` after
their issue was archived, where that is set (:mod:`.retention`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from ..ops import telemetry
from . import retention, transitions
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
