"""The staff console served for tests: a harness's ``scf serve`` app on a loopback port, with
accounts made by the core, and a client that behaves as a browser does (cookies kept, the
form's CSRF field read from the page it came from, redirects not followed unless asked).

::

    console = serve_console(h)
    make_account(console, "ada", "admin")
    ada = console.client()
    ada.sign_in("ada")
    assert ada.get("/console/").status_code == 200
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import requests
from argon2 import PasswordHasher
from starlette.applications import Starlette

from scf_plugins.ops import staff
from scf_plugins.server.console.page import Console
from scf_plugins.server.running import Background
from scf_plugins.server.web import Context, build_app
from scf_plugins.store.store import Store
from scf_plugins.testing import Harness
from scf_plugins.testing.door import Leaving

PASSWORD = "console passphrase 2026"
ACTOR = "tests (cli)"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the defaults take ~50 ms
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Consoled:
    """A served console: its root URL, the app, the shared context and the store."""

    url: str
    app: Any
    ctx: Context
    store: Store

    @property
    def console(self) -> Console:
        """The console's shared state (its clock and throttle)."""
        console: Console = self.ctx.console
        return console

    def client(self, address: str | None = None) -> Client:
        """A new browser: no cookies; ``address`` is the client address it appears to have
        (sent as ``X-Forwarded-For``, which uvicorn takes from a loopback peer)."""
        return Client(self.url, address)


def serve_console(h: Harness, clock: Callable[[], datetime] | None = None) -> Consoled:
    """Serve ``h``'s app (Open311 door and console) until the harness closes; the console's
    clock is ``clock`` (default the wall's), and failed sign-ins are answered without delay."""
    store = h.store()
    app, ctx = build_app(h.settings, h.host, store)
    if clock is not None:
        ctx.console.clock = clock
    ctx.console.throttle.first_delay = 0.0
    server = Background(app)
    h.keep(Leaving(server))
    return Consoled(server.url, app, ctx, store)


def make_account(
    served: Consoled, name: str, role: str = "staff", password: str = PASSWORD
) -> None:
    """An account made by the core, as ``scf staff create`` makes it."""
    staff.create(served.store, name, role, password, actor=ACTOR)


def starlette_of(app: Any) -> Starlette:
    """The Starlette app inside ``scf serve``'s middleware."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


class MeetingHasher(PasswordHasher):
    """:data:`CHEAP`'s costs, but each verify waits until ``meet`` verifies are under way at
    once (or ``patience`` seconds pass): every sign-in of a burst the server lets through is
    past its checks before the first is answered, whatever order the threads ran in.
    ``started`` counts the verifies: the guesses tried."""

    def __init__(self, meet: int, patience: float = 1.0) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.meet = meet
        self.patience = patience
        self.started = 0
        self._changed = threading.Condition()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        ends = time.monotonic() + self.patience
        with self._changed:
            self.started += 1
            self._changed.notify_all()
            while self.started < self.meet and (left := ends - time.monotonic()) > 0:
                self._changed.wait(left)
        return super().verify(hash, password)


class BlockingHasher(PasswordHasher):
    """:data:`CHEAP`'s costs, but each verify waits until :attr:`release` is set: sign-ins
    that hold the password checks' slots for as long as a test needs."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.release = threading.Event()
        self.started = 0
        self._changed = threading.Condition()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._changed:
            self.started += 1
            self._changed.notify_all()
        self.release.wait(30)
        return super().verify(hash, password)

    def wait_started(self, count: int, timeout: float = 10) -> bool:
        """Whether ``count`` verifies are under way within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.started >= count, timeout)


class Client:
    """A browser for tests: a cookie jar, and the CSRF token of the last page it was shown."""

    def __init__(self, base: str, address: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        if address is not None:
            self.http.headers["X-Forwarded-For"] = address
        self.csrf = ""
        self.responses: list[requests.Response] = []

    def get(self, path: str, **options: Any) -> requests.Response:
        """GET ``path`` (redirects not followed unless ``allow_redirects=True``)."""
        options.setdefault("allow_redirects", False)
        return self._seen(self.http.get(self.base + path, timeout=10, **options))

    def post(self, path: str, data: dict[str, str], **options: Any) -> requests.Response:
        """POST the form ``data`` to ``path`` as it is (add ``csrf_token`` yourself)."""
        options.setdefault("allow_redirects", False)
        return self._seen(self.http.post(self.base + path, data=data, timeout=10, **options))

    def submit(self, path: str, data: dict[str, str] | None = None, **options: Any) -> Any:
        """POST ``data`` with the CSRF token of the last page shown, as its form would."""
        return self.post(path, {"csrf_token": self.csrf, **(data or {})}, **options)

    def sign_in(
        self, name: str, password: str = PASSWORD, next_path: str | None = None
    ) -> requests.Response:
        """Open the sign-in page and send its form."""
        self.get("/console/login" + (f"?next={next_path}" if next_path else ""))
        fields = {"username": name, "password": password}
        if next_path:
            fields["next"] = next_path
        return self.submit("/console/login", fields)

    def sign_out(self) -> requests.Response:
        """Press Sign out (the page shown last must carry it)."""
        return self.submit("/console/logout")

    def _seen(self, response: requests.Response) -> requests.Response:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        self.responses.append(response)
        return response

    def everything(self) -> Iterator[str]:
        """Every response's status line, headers and body, as text."""
        for response in self.responses:
            yield f"{response.status_code} {response.headers} {response.text}"
