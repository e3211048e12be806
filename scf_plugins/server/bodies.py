"""A client's request read within its caps: the body (refused past ``max_body_kb``), the
fields of a form or query, and a multipart report (streamed, key first) with its photos.

Each refusal is the :class:`~.open311.Reply` to send back (400 or 413), never an exception.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from ..intake.images import ImageLimits, Photo, prepare
from . import multipart as streamed
from .form import Form
from .multipart import MAX_PAIRS, KeyCheck, Part, Upload
from .open311 import Reply, failure

__all__ = ["MAX_PAIRS", "Part", "Upload", "body", "fields", "multipart", "photos"]
log = logging.getLogger(__name__)


async def body(request: Request, cap: int) -> bytes | Reply:
    """The request body; a 413 when it is (or says it is) larger than ``cap``, a 400 when the
    client goes away before it is all sent (its doing, not the server's failure)."""
    too_large = _too_large(cap)
    if _declared_over(request, cap):
        return too_large
    chunks = bytearray()
    try:
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > cap:
                return too_large
    except ClientDisconnect:
        log.debug("the client left before its body was complete (%d bytes read)", len(chunks))
        return failure(400, "the body ended before it was complete; send it again")
    return bytes(chunks)


def fields(raw: bytes) -> Form | Reply:
    """Form or query fields, repeated and blank ones kept; not UTF-8 is a 400."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PAIRS,
        )
    except UnicodeError:
        return failure(400, "the fields are not UTF-8 (percent-encoded); send UTF-8")
    except ValueError:
        return failure(400, f"too many fields; at most {MAX_PAIRS}")
    return Form(pairs)


async def multipart(
    request: Request, limits: ImageLimits, field_cap: int, cap: int, check_key: KeyCheck
) -> Upload | Reply:
    """A ``multipart/form-data`` report, read as a stream (:mod:`.multipart`): its fields, and
    every file part as a photo, whatever its name (FixMyStreet sends ``photo1``,
    ``photo2``…; others ``media``); ``check_key`` sees the ``api_key`` as soon as it is read.
    Close the :class:`~.multipart.Upload` when done. A body that says it is larger than
    ``cap`` is refused (413) unread."""
    if _declared_over(request, cap):
        return _too_large(cap)
    return await streamed.read(request, limits, field_cap, cap, check_key)


def photos(files: list[Part], limits: ImageLimits) -> list[Photo]:
    """The file parts checked and re-encoded, one read at a time (CPU work and file reads:
    run it off the event loop)."""
    return [prepare(part.read(), part.name, limits) for part in files]


def _declared_over(request: Request, cap: int) -> bool:
    """Whether the request's ``Content-Length`` says more than ``cap`` bytes (or is not a
    number): then it is refused before a byte of it is read."""
    declared = request.headers.get("content-length")
    return declared is not None and (not declared.isdigit() or int(declared) > cap)


def _too_large(cap: int) -> Reply:
    return failure(413, f"the body is larger than {cap // 1024} KB")
