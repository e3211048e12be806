"""A client's request read within its caps: the body (refused past ``max_body_kb``), the
fields of a form or query, and the file parts of a multipart report as photos.

Each refusal is the :class:`~.open311.Reply` to send back (400 or 413), never an exception.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from ..errors import UserError
from ..intake.images import ImageLimits, Photo, check_count, prepare
from .form import Form
from .open311 import Reply, failure

MAX_PAIRS = 500  # form or query fields one request may send


async def body(request: Request, cap: int) -> bytes | None:
    """The request body, or None when it is (or says it is) larger than ``cap``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > cap:
            return None
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
    request: Request, raw: bytes, limits: ImageLimits
) -> tuple[Form, list[tuple[str, bytes]]] | Reply:
    """A ``multipart/form-data`` report: its fields, and every file part as a photo, whatever
    its name (FixMyStreet sends ``photo1``, ``photo2``…; others ``media``)."""
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def once() -> Any:
        yield raw

    # One file more than allowed is read, so the refusal names the limit, not the parser.
    parser = MultiPartParser(request.headers, once(), max_files=limits.max_per_issue + 1,
                             max_fields=MAX_PAIRS)  # fmt: skip
    try:
        data = await parser.parse()
    except MultiPartException as exc:
        return failure(400, f"the multipart body cannot be read ({exc}); check the client")
    pairs: list[tuple[str, str]] = []
    files: list[tuple[str, bytes]] = []
    for name, value in data.multi_items():
        if isinstance(value, UploadFile):
            files.append((value.filename or name, await value.read()))
            await value.close()
        else:
            pairs.append((name, value))
    try:
        check_count(len(files), limits, "as file parts")
    except UserError as exc:
        return failure(400, str(exc))
    return Form(pairs), files


def photos(files: list[tuple[str, bytes]], limits: ImageLimits) -> list[Photo]:
    """The file parts checked and re-encoded (CPU work: run it off the event loop)."""
    return [prepare(data, name, limits) for name, data in files]
