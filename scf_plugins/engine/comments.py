"""Step 3 of a pass: push local comments of Acknowledged issues, each once (the rules of
:mod:`.outbox`)."""

from __future__ import annotations

from typing import Any

from ..models import Comment, Integration, Issue
from ..store.store import comment_from_row
from ..store.tables import comments, fit
from .context import StepContext
from .outbox import Outbox, keep_here, push


def _send(ctx: StepContext, integration: Integration, issue: Issue, comment: Comment) -> str:
    return ctx.host.push_comment(integration, issue, comment)


def _sent(integration: Integration, issue: Issue, remote_id: str) -> dict[str, Any]:
    # Scoped to integration and request, so a comment is never pulled back as a new one.
    key = f"{integration.name}:{issue.remote_id}:{remote_id}"
    return {"remote_key": fit(comments.c.remote_key, key)}


COMMENTS = Outbox(
    what="comment",
    table=comments,
    where=(comments.c.kind == "comment",),
    columns=tuple(comments.c),
    item=comment_from_row,
    send=_send,
    sent=_sent,
    count="comments_out",
)


def push_comments(ctx: StepContext, integration: Integration) -> None:
    """Step 3 for one integration; where the remote system takes no comments
    (``push_comments`` False) they are kept here instead."""
    if not ctx.host.capabilities(integration).push_comments:
        keep_here(ctx, integration, COMMENTS, f"kept here: {integration.plugin} has no comment API")
        return
    push(ctx, integration, COMMENTS)
