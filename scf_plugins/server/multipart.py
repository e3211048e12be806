"""A ``multipart/form-data`` report read as a stream, in bounded memory, key first.

The body is fed to python-multipart's streaming parser chunk by chunk as it arrives; nothing
holds it whole. Fields are kept in memory within ``max_body_kb``; each file part goes to a
temporary file that stays in memory up to :data:`SPOOL_BYTES` and on disk beyond, refused
past ``[images] max_mb``. The ``api_key`` field is checked the moment it has been read
(FixMyStreet and most clients send it first), so an unknown client is answered after a few
kilobytes, not after fifty megabytes. A client that sends its photos before its key may do
so for :data:`PRE_KEY_FILE_BYTES` in all; beyond, it is told to send ``api_key`` first.

No file part is decoded here: :func:`~.bodies.photos` does that, after the key is known.
"""

from __future__ import annotations

import codecs
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .form import Form
from .open311 import Reply, failure

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

    from ..intake.images import ImageLimits

MB = 1024 * 1024
PRE_KEY_FILE_BYTES = 1 * MB  # file bytes a client may send before its api_key
SPOOL_BYTES = 256 * 1024  # a file part larger than this is spooled to disk
PART_HEAD_BYTES = 8 * 1024  # one part's headers (its name, file name, type)
MAX_PAIRS = 500  # form fields one request may send

EARLY_FILES = (
    f"send the api_key field before the photos: at most {PRE_KEY_FILE_BYTES // MB} MB of file "
    f"parts may come before it"
)
KeyCheck = Callable[[str | None], Awaitable[Reply | None]]


class _Refused(Exception):
    """Stops the parser from inside a callback with the reply to send."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.reply = failure(status, text)


@dataclass
class Part:
    """A file part, as received: its name and its bytes in a (spooled) temporary file."""

    name: str
    file: SpooledTemporaryFile[bytes] = field(
        # Closed by Upload.close, or by read() when it gives up.
        default_factory=lambda: SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    )
    size: int = 0

    def read(self) -> bytes:
        """Its bytes (read when it is decoded, one part at a time)."""
        self.file.seek(0)
        return self.file.read()


@dataclass
class Upload:
    """A multipart report read whole: its fields, and its file parts (close it when done)."""

    form: Form
    files: list[Part]

    def close(self) -> None:
        """Drop the file parts' temporary files."""
        for part in self.files:
            part.file.close()


class _Reader:
    """The parser's callbacks: each part's headers, data and end, within the caps."""

    def __init__(self, limits: ImageLimits, field_cap: int, charset: str) -> None:
        self.limits = limits
        self.field_cap = field_cap
        self.charset = charset
        self.pairs: list[tuple[str, str]] = []
        self.files: list[Part] = []  # every one opened, so all are closed whatever happens
        self.field_bytes = 0
        self.early_file_bytes = 0
        self.key: str | None = None  # the first api_key read, until it is checked
        self.key_seen = False
        self._reset()

    def _reset(self) -> None:
        self.head_name = b""
        self.head_value = b""
        self.head_bytes = 0
        self.disposition = b""
        self.name = ""
        self.value = bytearray()
        self.part: Part | None = None

    def callbacks(self) -> MultipartCallbacks:
        """The callbacks python-multipart calls while it parses."""
        return {
            "on_part_begin": self._reset,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def _head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > PART_HEAD_BYTES:
            limit = PART_HEAD_BYTES // 1024
            raise _Refused(400, f"a part's headers are larger than {limit} KB; check the client")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        """Part of a part's header name."""
        self._head(end - start)
        self.head_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        """Part of a part's header value."""
        self._head(end - start)
        self.head_value += data[start:end]

    def on_header_end(self) -> None:
        """One header of a part read: only its Content-Disposition matters."""
        if self.head_name.lower() == b"content-disposition":
            self.disposition = self.head_value
        self.head_name = self.head_value = b""

    def on_headers_finished(self) -> None:
        """A part's headers read: a field, or a file part (it has a file name)."""
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise _Refused(
                400, "a multipart part has no name in its Content-Disposition; check the client"
            )
        self.name = self._text(options[b"name"])
        if b"filename" in options:
            if len(self.files) >= self.limits.max_per_issue:
                count = len(self.files) + 1  # named as the count of those sent so far
                most = self.limits.max_per_issue
                raise _Refused(400, f"{count} images sent as file parts; an issue takes at most "
                                    f"{most}")  # fmt: skip
            self.part = Part(self._text(options[b"filename"]) or self.name)
            self.files.append(self.part)
        elif len(self.pairs) >= MAX_PAIRS:
            raise _Refused(400, f"too many fields; at most {MAX_PAIRS}")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        """Part of a part's content: to its file, or to the field's value, within the caps."""
        size = end - start
        part = self.part
        if part is None:
            self.field_bytes += size
            if self.field_bytes > self.field_cap:
                raise _Refused(413, f"the fields are larger than {self.field_cap // 1024} KB")
            self.value += data[start:end]
            return
        part.size += size
        if part.size > self.limits.max_bytes:
            limit = self.limits.max_bytes / MB
            raise _Refused(400, f"image {part.name!r} is more than {limit:g} MB; the limit is "
                                f"{limit:g} MB; send a smaller photo")  # fmt: skip
        if not self.key_seen:
            self.early_file_bytes += size
            if self.early_file_bytes > PRE_KEY_FILE_BYTES:
                raise _Refused(400, EARLY_FILES)
        # A plain write: under SPOOL_BYTES it is memory, past it the page cache; either way
        # it returns at once, so it needs no thread of its own.
        part.file.write(data[start:end])

    def on_part_end(self) -> None:
        """A part complete: a field's value decoded and kept (the first api_key noted)."""
        if self.part is None:
            value = self._text(bytes(self.value))
            self.pairs.append((self.name, value))
            if self.name == "api_key" and not self.key_seen:
                self.key_seen, self.key = True, value
        self._reset()

    def _text(self, raw: bytes) -> str:
        try:
            return raw.decode(self.charset)
        except (UnicodeDecodeError, LookupError):
            return raw.decode("latin-1")


async def read(
    request: Request, limits: ImageLimits, field_cap: int, cap: int, check_key: KeyCheck
) -> Upload | Reply:
    """The report's fields and file parts, read as they arrive.

    :param field_cap: bytes all the fields together may have (``max_body_kb``).
    :param cap: bytes the whole body may have (a larger one is a 413 as soon as it is; one
        declared larger is refused before this, by :func:`~.bodies.multipart`).
    :param check_key: called with the first ``api_key`` as soon as it is read; a reply it
        returns (a 403) is the answer, and the rest of the body is not parsed.
    """
    too_large = failure(413, f"the body is larger than {cap // 1024} KB")
    _, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if not boundary:
        return failure(400, "the multipart body has no boundary in its Content-Type; "
                            "check the client")  # fmt: skip
    charset = options.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "latin-1"
    reader = _Reader(limits, field_cap, charset)
    parser = MultipartParser(boundary, reader.callbacks())
    received = 0
    done = False
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap:
                return too_large
            parser.write(chunk)
            if reader.key_seen and reader.key is not None:
                key, reader.key = reader.key, None
                refused = await check_key(key)
                if refused is not None:
                    return refused
        parser.finalize()
        done = True
        return Upload(Form(reader.pairs), reader.files)
    except _Refused as exc:
        return exc.reply
    except FormParserError as exc:
        return failure(400, f"the multipart body cannot be read ({exc}); check the client")
    except ClientDisconnect:
        return failure(400, "the body ended before it was complete; send it again")
    finally:
        if not done:
            for part in reader.files:
                part.file.close()
