"""A server-wide budget of request body bytes in flight (``[server] max_inflight_body_mb``).

Every byte of a request body this process has received counts until its request is answered
(the fields in memory, the photos spooled to disk, then decoded). When the budget is spent, a
request that would add to it is answered 503 with ``Retry-After`` instead: new ones before
their body is read, one under way as soon as its next chunk would go over. Requests without
a body (GETs, ``/healthz``) never count and are never refused.

A client holds only what it has actually sent, never what it says it will send, so a few
slow clients declaring large bodies cannot spend the budget for everyone else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
MB = 1024 * 1024
RETRY_AFTER = 5  # seconds: a few uploads finish in that time
BUSY = b'{"errors":[{"code":503,"description":"the server is receiving too much at once; try again in a few seconds"}]}'  # noqa: E501


class InFlight:
    """ASGI middleware holding the body bytes of the requests being served within a budget."""

    def __init__(self, app: ASGIApp, budget: Callable[[], int]) -> None:
        """:param budget: the bytes allowed at once (read per request: a reload changes it)."""
        self.app = app
        self.budget = budget
        self.held = 0  # bytes received by requests not yet answered (one event loop: no lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, counting its body against the budget."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = self.budget()
        declared = _content_length(scope)
        if declared and self.held and self.held + declared > budget:
            await _busy(send)  # refused before any of its body is read
            return
        taken = 0
        over = False

        async def counted() -> Message:
            nonlocal taken, over
            message = await receive()
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                if size and self.held + size > budget:
                    # The app sees the client go away; its answer is replaced by a 503.
                    over = True
                    return {"type": "http.disconnect"}
                self.held += size
                taken += size
            return message

        async def sending(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await _busy(send)

        try:
            await self.app(scope, counted, sending)
        finally:
            self.held -= taken
        if over:
            log.info("a request body was refused: %d MB in flight", budget // MB)


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _busy(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BUSY)).encode()),
                (b"retry-after", str(RETRY_AFTER).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BUSY})
