"""The console's cookies and the checks every POST passes: signing, CSRF, and ``Origin``.

- **Signing.** Each cookie the console sets is ``value.signature``: HMAC-SHA256 of the value
  under a key kept in the store (``scf_meta`` key ``console_signing_key``, 32 random bytes
  made on first use), so every worker on the store signs alike and a restart keeps sessions.
  A cookie whose signature is wrong is ignored before the store is asked about it.
- **The session cookie** ``scf_console`` holds the random session token (the store keeps only
  its SHA-256, :mod:`scf_plugins.ops.staff`): ``HttpOnly; SameSite=Strict; Path=/console``, and
  ``Secure`` when ``[server] public_url`` is https. No ``Max-Age``: it goes when the browser
  closes, and the store ends it sooner (idle and absolute expiry).
- **CSRF.** A signed-in form carries the session's CSRF token in the hidden field
  ``csrf_token``; the sign-in form, before any session, a random one that is also in a signed
  cookie (``scf_console_login``, a double submit). Both are compared in constant time.
- **A known browser.** A successful sign-in leaves a signed random value in
  ``scf_console_known`` (``Path=/console/login``, 180 days): a browser that brings it back
  may take a password-check slot kept from floods (:mod:`.password_checks`). It names no
  one and opens nothing.
- **Origin.** A POST whose ``Origin`` header is present and is not this server's is refused,
  whatever it carries, and so is one a browser marks ``Sec-Fetch-Site: cross-site``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ...store.meta_secrets import meta_secret

if TYPE_CHECKING:
    from ...store.store import Store

SESSION_COOKIE = "scf_console"
LOGIN_COOKIE = "scf_console_login"  # the sign-in form's own CSRF token (double submit)
FLASH_COOKIE = "scf_console_flash"
CSRF_FIELD = "csrf_token"
PATH = "/console"
KEY_NAME = "console_signing_key"
KNOWN_COOKIE = "scf_console_known"  # this browser has signed in here before
LOGIN_MAX_AGE = 3600  # seconds a sign-in form stays usable
KNOWN_MAX_AGE = 180 * 24 * 3600
FLASH_MAX_AGE = 60  # a flash message is shown by the page the POST redirects to, at once


class Signer:
    """Signs and checks cookie values with the store's console key (read once, made if new).

    The key is read (or made) on first use, from the store, so call it off the event loop.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: bytes | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> bytes:
        """The signing key: the store's, made and kept there the first time any worker asks."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = meta_secret(self.store, KEY_NAME)
        return self._key

    @property
    def loaded(self) -> bool:
        """Whether the key has been read (using it then touches no store)."""
        return self._key is not None

    def sign(self, value: str) -> str:
        """``value.signature`` (``value`` must not contain a dot)."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a signed string, or None when it is absent or its signature is wrong."""
        if not signed:
            return None
        value, dot, mac = signed.rpartition(".")
        if not dot or not value or not hmac.compare_digest(mac, self._mac(value)):
            return None
        return value

    def _mac(self, value: str) -> str:
        return hmac.new(
            self.key, value.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()


def secure(public_url: str | None) -> bool:
    """Whether cookies carry ``Secure``: when the console is reached over https."""
    return bool(public_url) and str(public_url).lower().startswith("https://")


def set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    https: bool,
    path: str = PATH,
    max_age: int | None = None,
) -> None:
    """Set one of the console's cookies, always ``HttpOnly; SameSite=Strict``."""
    response.set_cookie(
        name, value, max_age=max_age, path=path, secure=https, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str, *, https: bool, path: str = PATH) -> None:
    """Tell the browser to forget one of the console's cookies."""
    response.delete_cookie(name, path=path, secure=https, httponly=True, samesite="strict")


def session_token(request: Request, signer: Signer) -> str | None:
    """The session token the request's cookie carries, when its signature is right."""
    return signer.unsign(request.cookies.get(SESSION_COOKIE))


def new_login_token() -> str:
    """A fresh CSRF token for a sign-in form (before any session exists)."""
    return secrets.token_urlsafe(32)


def login_token(request: Request, signer: Signer) -> str | None:
    """The sign-in form's CSRF token from its signed cookie, when present and right."""
    return signer.unsign(request.cookies.get(LOGIN_COOKIE))


def known_browser(request: Request, signer: Signer) -> bool:
    """Whether the request brings the signed cookie a successful sign-in left."""
    return signer.unsign(request.cookies.get(KNOWN_COOKIE)) is not None


def same_token(given: str | None, expected: str | None) -> bool:
    """Whether a form's CSRF token is the expected one (constant time; none never matches)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def same_origin(request: Request, public_url: str | None) -> bool:
    """Whether a POST may come from where it says: no ``Origin`` (a browser sends one with
    every POST; other clients need the session cookie and the CSRF token anyway), or this
    server's own (``public_url``'s, or the scheme and ``Host`` the request came to), and not
    one the browser marks as another site's."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    if public_url:
        parts = urlsplit(public_url)
        own.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin in own
