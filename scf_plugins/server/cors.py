"""CORS for browser apps: off unless ``[server] cors_origins`` names their origins.

Starlette's middleware does the work: GET and POST from the origins listed, preflights
answered, no credentials (the door uses no cookies; an API key travels in the form), and no
request header beyond the ones browsers always allow (``Content-Type`` among them). The
origins are read from the running config at each request, so a reload changes them.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_AGE = 600  # seconds a browser may keep a preflight's answer


class Cors:
    """ASGI middleware: CORS for the origins ``origins()`` gives (none: the app alone)."""

    def __init__(self, app: ASGIApp, origins: Callable[[], tuple[str, ...]]) -> None:
        self.app = app
        self.origins = origins
        self._built: tuple[tuple[str, ...], ASGIApp] = ((), app)

    def _current(self) -> ASGIApp:
        wanted = self.origins()
        built_for, built = self._built
        if wanted != built_for:
            built = (
                CORSMiddleware(
                    self.app,
                    allow_origins=list(wanted),
                    allow_methods=["GET", "POST"],
                    allow_headers=[],
                    allow_credentials=False,
                    max_age=MAX_AGE,
                )
                if wanted
                else self.app
            )
            self._built = (wanted, built)
        return built

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request through CORS when origins are configured."""
        await self._current()(scope, receive, send)
