"""A refusal in the format the path asks for: a client that asked for ``….json`` can read a
404, 405 or 429 only as JSON, one that asked for ``….xml`` only as XML.

The body is the Open311 error list (``[{"code": 404, "description": "…"}]``, or
``<errors><error>…</error></errors>``); plain text only where the path names no format
(``/open311/v2/services``, ``/healthz``, ``…/requests.csv``).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from . import formats

PLAIN_TYPE = "text/plain; charset=utf-8"


def path_format(path: str) -> str | None:
    """``json`` or ``xml`` when the path's last segment ends so (any case), else None."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    suffix = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return suffix if suffix in formats.FORMATS else None


def refusal(
    path: str, status: int, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error answer to a request for ``path``, in the format it asks for."""
    fmt = path_format(path)
    if fmt is None:
        return Response(f"{description}\n", status, headers=headers, media_type=PLAIN_TYPE)
    body = formats.render(fmt, "errors", formats.errors([(status, description)]))
    return Response(body, status, headers=headers, media_type=formats.content_type(fmt))
