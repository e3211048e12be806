"""Step 4 of a pass: attach residents' photos to the remote requests, each once (the rules of
:mod:`.outbox`).

A photo goes only once its issue is acknowledged, so it never delays the acknowledgement.
Its bytes are read from the store by the worker that sends it, just before the call: a pass
holds at most ``max_concurrency`` photos in memory, never all of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import RowMapping

from ..models import Attachment, Integration, Issue, attachment_name
from ..store.tables import attachments
from .context import StepContext
from .outbox import Outbox, keep_here, push

CLAIMED = tuple(
    attachments.c[name]
    for name in ("id", "issue_id", "filename", "content_type", "size", "push_attempted",
                 "remote_id")
)  # fmt: skip


def _item(row: RowMapping) -> Attachment:
    """A claimed photo, its bytes not read yet."""
    return Attachment(
        id=row["id"],
        issue_id=row["issue_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        content=b"",
        push_attempted=bool(row["push_attempted"]),
        remote_id=row["remote_id"],
    )


def _send(ctx: StepContext, integration: Integration, issue: Issue, photo: Attachment) -> str:
    """Read this one photo's bytes, then upload it (on a worker thread) under its unique
    name, the resident's own beside it."""
    content = ctx.store.photo_content(photo.id)
    named = dataclasses.replace(
        photo,
        content=content,
        filename=attachment_name(issue.marker, photo.id),
        original_name=photo.filename,
    )
    return ctx.host.push_attachment(integration, issue, named)


def _nothing_else(integration: Integration, issue: Issue, remote_id: str) -> dict[str, Any]:
    return {}


PHOTOS = Outbox(
    what="photo",
    table=attachments,
    where=(attachments.c.purged_at.is_(None),),
    columns=CLAIMED,
    item=_item,
    send=_send,
    sent=_nothing_else,
    count="photos_out",
)


def push_photos(ctx: StepContext, integration: Integration) -> None:
    """Step 4 for one integration; where its plugin takes no photos they are kept here."""
    if not ctx.host.takes_attachments(integration):
        keep_here(ctx, integration, PHOTOS, f"kept here: {integration.plugin} takes no photos")
        return
    push(ctx, integration, PHOTOS)
