"""What the hostile console tests attack with and judge by: markup to type into every field and
the check that none of it became markup, a browser's reading of a redirect, requests sent as
raw bytes, and a password hasher that makes concurrent sign-ins meet.

::

    assert_inert(page, "the issue page")  # no tag, handler or script URL from a payload
    assert lands_in_console("/console/../open311")  # False: a browser goes to /open311
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

# One string with the classic ways out of a text node, an attribute and a textarea; each
# becomes a tag or a handler only if a page writes it unescaped. ``xss-mark`` makes the
# payload findable once escaped, to prove it reached the page.
MARK = "xss-mark"
PAYLOAD = (
    f"<script>{MARK}()</script>\"><img src=x onerror={MARK}()>'<svg onload={MARK}()>"
    f"</textarea><xss-probe>{{{{7*7}}}}"
)
# A payload that fits one line of at most 100 plain characters (names, codes, reasons).
SHORT = f'<b id="{MARK}">"\'><img src=x onerror={MARK}()>'
FOREIGN_TAGS = {"script", "svg", "xss-probe", "iframe", "object", "embed", "base", "b"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction"}


class _Markup(HTMLParser):
    """Collects what a payload could have turned into: tags, handlers, script URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in FOREIGN_TAGS:
            self.found.append(f"<{tag}> {values}")
        if tag == "img" and not (values.get("src") or "").startswith("/media/"):
            self.found.append(f"<img> not a photo of the store: {values}")
        for name, value in attrs:
            text = (value or "").strip().lower()
            if name.startswith("on") or name == "style" or MARK in name:
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and text.startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and text.startswith("data:") and text != "data:,":
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_inert(page: str, where: str) -> None:
    """Fail when ``page`` has a tag, handler, inline style or script URL that only a
    payload could have put there (the console's own pages have none)."""
    parser = _Markup()
    parser.feed(page)
    parser.close()
    assert not parser.found, f"{where}: markup from typed text: {parser.found}"


def landed(page: str) -> bool:
    """Whether a payload reached ``page`` (as text: escaped)."""
    return MARK in page


# -- redirects --------------------------------------------------------------------------------

_DOT = re.compile(r"%2e", re.IGNORECASE)


def browser_target(base: str, location: str) -> tuple[str, str]:
    """Where a browser goes for ``Location: location`` on a page of ``base``: (host, path),
    with dot segments resolved, ``%2e`` read as a dot as the URL standard does, and a
    backslash read as a slash (as browsers do for http URLs)."""
    location = location.replace("\\", "/")
    split = urlsplit(location)
    segments = [_DOT.sub(".", s) for s in split.path.split("/")]
    path = "/".join(s if s in (".", "..") else raw for s, raw in
                    zip(segments, split.path.split("/"), strict=True))  # fmt: skip
    resolved = urlsplit(urljoin(base, split._replace(path=path).geturl()))
    return resolved.netloc, resolved.path


def lands_in_console(location: str, base: str = "http://311.example.gov/console/login") -> bool:
    """Whether a browser sent to ``location`` from ``base`` stays on the console's own pages."""
    host, path = browser_target(base, location)
    return host == urlsplit(base).netloc and (path + "/").startswith("/console/")


# -- raw requests -----------------------------------------------------------------------------


def raw(url: str, request: bytes, wait: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is to the server at ``url``; its status, headers (lower-case
    names, the last of each) and body, read until the server closes (0: no answer)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as conn:
        conn.sendall(request)
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except OSError:
            pass  # a reset after the answer: what was read stands
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return (int(status[1]) if len(status) > 1 and status[1].isdigit() else 0), headers, body


def get(path: str, cookie: str = "") -> bytes:
    """A GET of ``path`` exactly as written (no client normalises it), closing after."""
    head = f"GET {path} HTTP/1.1\r\nHost: console\r\n"
    cookies = f"Cookie: {cookie}\r\n" if cookie else ""
    return f"{head}{cookies}Connection: close\r\n\r\n".encode()


def multipart(fields: dict[str, str], boundary: str = "hostile-boundary") -> tuple[bytes, str]:
    """``fields`` as a ``multipart/form-data`` body, and its Content-Type."""
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# -- a hasher that makes sign-ins meet ---------------------------------------------------------


class MeetingHasher:
    """Stands in for ``staff.HASHER``: each verification waits until ``meet`` of them are
    under way at once (or ``patience`` seconds pass), then gives the real hasher's answer.
    So a burst of sign-ins is verified together, as a burst on a busy server is, whatever
    order the threads ran in; a server that lets fewer through only costs ``patience``.

    ``held``: a password whose checks then wait until ``ready()`` is true (or ``patience``
    passes): the slowest guess of a burst, or checks that hold the server's threads while
    something else is tried. ``started`` counts verifications: the guesses the server let be
    tried.
    """

    def __init__(
        self,
        real: Any,
        meet: int,
        patience: float = 3.0,
        held: str | None = None,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.real = real
        self.meet = meet
        self.patience = patience
        self.held = held
        self.ready = ready
        self.started = 0
        self._changed = threading.Condition()

    def verify(self, hashed: str, password: str) -> bool:
        """Wait for the others (and, for ``held``, for ``ready``), then verify."""
        ends = time.monotonic() + self.patience
        with self._changed:
            self.started += 1
            self._changed.notify_all()
            while self.started < self.meet and time.monotonic() < ends:
                self._changed.wait(ends - time.monotonic())
        if password == self.held and self.ready is not None:
            ends = time.monotonic() + self.patience
            while not self.ready() and time.monotonic() < ends:
                time.sleep(0.01)  # polls the store the other guesses write to
        return bool(self.real.verify(hashed, password))

    def hash(self, password: str) -> str:
        """The real hasher's hash."""
        return str(self.real.hash(password))

    def check_needs_rehash(self, hashed: str) -> bool:
        """Never: the tests' hashes are made by the real hasher already."""
        return False
