"""Residents' photos: stored with their issue, served by their URL token, read one at a time."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, select

from ..intake.images import Photo
from .base import StoreBase
from .tables import attachment_contents, attachments


class Photos(StoreBase):
    """Reading a photo's bytes (its sync state is the engine's, through the tables)."""

    def media(self, path_token: str) -> tuple[str, bytes | None] | None:
        """A photo's content type and bytes by its URL token; the bytes are None when the
        photo was purged (``[images] purge_after_days``); None when there is no such photo."""
        with self.read() as conn:
            row = conn.execute(
                select(attachments.c.content_type, attachment_contents.c.content)
                .outerjoin(
                    attachment_contents,
                    attachment_contents.c.attachment_id == attachments.c.id,
                )
                .where(attachments.c.path_token == path_token)
            ).first()
        if row is None:
            return None
        return str(row[0]), None if row[1] is None else bytes(row[1])

    def photo_content(self, attachment_id: int) -> bytes:
        """One photo's bytes (read just before it is sent: never a pass's photos at once)."""
        with self.read() as conn:
            content = conn.execute(
                select(attachment_contents.c.content).where(
                    attachment_contents.c.attachment_id == attachment_id
                )
            ).scalar_one()
        return bytes(content)


def insert_photo(conn: Connection, issue_id: int, photo: Photo, now: datetime) -> int:
    """Store a photo of an issue (its bytes apart from its sync state); returns its id."""
    attachment_id = conn.execute(
        attachments.insert().values(
            issue_id=issue_id,
            filename=photo.filename,
            content_type=photo.content_type,
            size=photo.size,
            width=photo.width,
            height=photo.height,
            path_token=secrets.token_urlsafe(24),
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        attachment_contents.insert().values(attachment_id=attachment_id, content=photo.content)
    )
    return int(attachment_id)
