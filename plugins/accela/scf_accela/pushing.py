"""A resident's comments and photos added to their record, each once: after an uncertain
attempt the record's comments (by text) or documents (by the photo's unique name) are looked
through before it is sent again."""

from __future__ import annotations

import json

from scf_plugins import (
    AmbiguousError,
    Attachment,
    Comment,
    Integration,
    Issue,
    attachment_name,
)

from .client import AccelaClient, path_id, results_of
from .records import issue_record
from .settings import option


def comment_text(integration: Integration, comment: Comment) -> str:
    """A local comment as it goes to Accela: ``comment_prefix`` (``{author}``, ``{via}``)
    before its text."""
    prefix = str(option(integration, "comment_prefix"))
    head = prefix.replace("{author}", comment.author).replace("{via}", comment.via or "")
    return head + comment.text


def push_comment(
    client: AccelaClient, integration: Integration, issue: Issue, comment: Comment
) -> str:
    """``POST /v4/records/{id}/comments``; after an uncertain attempt, the record's comments
    are searched for the same text first."""
    rid = issue_record(issue)
    text = comment_text(integration, comment)
    if comment.push_attempted:
        listed = client.get(f"records/{path_id(rid)}/comments", what="GET comments")
        for item in listed.get("result") or []:
            if isinstance(item, dict) and item.get("text") == text and item.get("id"):
                return str(item["id"])
    answer = client.send(
        "POST",
        f"records/{path_id(rid)}/comments",
        [{"text": text, "displayOnInspection": "N"}],
        what="POST comments",
    )
    items = results_of(answer, "the comment")
    if not items or items[0].get("id") in (None, ""):
        raise AmbiguousError(
            "Accela took the comment without its id; it is looked for before any retry"
        )
    return str(items[0]["id"])


def push_attachment(
    client: AccelaClient, integration: Integration, issue: Issue, attachment: Attachment
) -> str:
    """``POST /v4/records/{id}/documents`` (multipart: the file, and ``fileInfo``); after an
    uncertain upload, the record's documents are searched for the file name (which carries
    the issue's marker) first."""
    rid = issue_record(issue)
    # The host's unique name (the marker and the photo's id), made here too so a photo
    # handed over under another name is still found after an uncertain upload.
    name = attachment_name(issue.marker, attachment.id)
    if attachment.push_attempted:
        listed = client.get(f"records/{path_id(rid)}/documents", what="GET documents")
        for item in listed.get("result") or []:
            if isinstance(item, dict) and item.get("fileName") == name and item.get("id"):
                return str(item["id"])
    info = [
        {
            "serviceProviderCode": client.endpoint.agency,
            "fileName": name,
            "type": attachment.content_type,
            "description": _photo_description(attachment),
        }
    ]
    params = [
        (key, str(option(integration, f"document_{key}")))
        for key in ("group", "category")
        if option(integration, f"document_{key}")
    ]
    answer = client.upload(
        f"records/{path_id(rid)}/documents",
        {"uploadedFile": (name, attachment.content, attachment.content_type)},
        {"fileInfo": json.dumps(info)},
        params,
        what="POST documents",
    )
    items = results_of(answer, "the photo")
    if not items or items[0].get("id") in (None, ""):
        raise AmbiguousError(
            "Accela took the photo without a document id; it is looked for before any retry"
        )
    return str(items[0]["id"])


def _photo_description(attachment: Attachment) -> str:
    """The document's description: who sent it, and the resident's own file name."""
    original = "".join(c for c in attachment.original_name if c.isprintable())[:100]
    return f"Photo sent by the resident ({original})" if original else "Photo sent by the resident"
