"""The security headers of every console response, whoever answers it (a page, the static
files, a 404, the GET rate limit or the body budget): nothing is cached, nothing is loaded
from elsewhere, no other site may frame it, and the browser sniffs no types."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
HEADERS = {
    b"cache-control": b"no-store",
    b"content-security-policy": (
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"x-content-type-options": b"nosniff",
}


def is_console(path: str) -> bool:
    """Whether ``path`` is the console's."""
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleHeaders:
    """ASGI middleware: the console's headers on each response to a console path (replacing
    any of the same name the inner app set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; add the headers when its path is the console's."""
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in HEADERS]
                message["headers"] = kept + list(HEADERS.items())
            await send(message)

        await self.app(scope, receive, sending)
