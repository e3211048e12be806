"""OAuth2 tokens for a plugin's :class:`~scf_plugins.net.http.HttpClient`: the ready
:class:`~scf_plugins.net.http.HttpAuth` for a remote system that takes bearer tokens.

:class:`OAuth2` gets a token from the token endpoint (RFC 6749: the ``password`` grant with a
staff account, or ``client_credentials``), puts it on every call as the remote system expects
(``Authorization: Bearer …`` unless told otherwise), refreshes it before it runs out (the
``refresh_token`` grant, when the endpoint gave one), logs in again when the refresh is
refused, and renews it once when a call is answered 401 (the client then retries once).

One token per integration and credentials within a process: every :class:`OAuth2` built for
the same integration, endpoint, client and user shares it (a rebuilt client, the threads of a
pass), under a lock, so a pass of many threads logs in once. Tokens are registered for
redaction the moment they arrive and never logged; the token calls' log records, like every
call's, carry no body.

Failures at the token endpoint:

=======================================  ==============================================
answer                                   becomes
=======================================  ==============================================
4xx to a login (``invalid_grant``, 404)  :class:`~scf_plugins.LoginRefused`
4xx to a refresh                         a login with the password (or client) grant
no token in a 200, not JSON, other 4xx   :class:`~scf_plugins.DefiniteError`
unreachable, 5xx, 429, timeout           :class:`~scf_plugins.TransientError`
=======================================  ==============================================
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import DefiniteError, LoginRefused
from .redaction import register_secret

if TYPE_CHECKING:
    from ..models import Secret
    from .http import Answer, HttpClient

log = logging.getLogger(__name__)

Grant = Literal["password", "client_credentials"]
DEFAULT_LIFETIME = 3600.0  # seconds, for a token endpoint that does not say (expires_in)
_ERROR_CODE_CHARS = 40


def bearer(token: str) -> Mapping[str, str]:
    """``Authorization: Bearer <token>`` (RFC 6750), the default way a token is sent."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class _Token:
    access: str
    expires_at: float  # time.time() seconds
    refresh: str | None
    refresh_expires_at: float | None


class _Slot:
    """The token of one integration and set of credentials, shared in the process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: _Token | None = None
        self.logins = 0  # password or client grants made (tests, and check_connection)


_slots: dict[tuple[str, ...], _Slot] = {}
_slots_lock = threading.Lock()


def _slot(key: tuple[str, ...]) -> _Slot:
    with _slots_lock:
        slot = _slots.get(key)
        if slot is None:
            slot = _slots[key] = _Slot()
        return slot


class OAuth2:
    """Tokens from an OAuth2 token endpoint, sent on every call of ``http``.

    :param http: the integration's client: the token calls go through it (its deadline,
        caps and log records) without its ``auth``; set ``http.auth = OAuth2(...)`` after.
    :param name: the integration's name: the token is shared by every :class:`OAuth2` of
        this name (and the same endpoint, client and user) in the process.
    :param token_url: the token endpoint (``https://auth.example.com/oauth2/token``).
    :param grant: ``"password"`` (``user`` and ``password``: a staff account) or
        ``"client_credentials"`` (the client alone).
    :param client_id: the application's id.
    :param client_secret: the application's secret (a named extra secret of the integration,
        ``integration.secret("app_secret")``), or None for a public client.
    :param user: the login name, for the password grant.
    :param password: its password (``integration.password``), for the password grant.
    :param scope: the scopes asked for, space separated (``""``: none named).
    :param form: more fields of the login request (an agency, an environment).
    :param token_headers: headers of the token requests (an application id header).
    :param client_auth: ``"form"`` sends ``client_id`` and ``client_secret`` in the body;
        ``"basic"`` in an ``Authorization: Basic`` header (RFC 6749 §2.3.1).
    :param refresh_margin: seconds before a token runs out when it is renewed (also kept off
        a refresh token's end, when the endpoint says when that is).
    :param authorization: the headers that carry a token on a call (default :func:`bearer`;
        a system that wants the bare token writes ``lambda t: {"Authorization": t}``).
    """

    def __init__(
        self,
        http: HttpClient,
        name: str,
        token_url: str,
        *,
        grant: Grant = "password",
        client_id: str = "",
        client_secret: Secret | None = None,
        user: str = "",
        password: Secret | None = None,
        scope: str = "",
        form: Mapping[str, str] | None = None,
        token_headers: Mapping[str, str] | None = None,
        client_auth: Literal["form", "basic"] = "form",
        refresh_margin: float = 60.0,
        authorization: Callable[[str], Mapping[str, str]] = bearer,
    ) -> None:
        if grant not in ("password", "client_credentials"):
            raise ValueError(f"grant {grant!r}: use 'password' or 'client_credentials'")
        self.http = http
        self.name = name
        self.token_url = token_url
        self.grant = grant
        self.client_id = client_id
        self.client_secret = client_secret
        self.user = user
        self.password = password
        self.scope = scope
        self.form = dict(form or {})
        self.token_headers = dict(token_headers or {})
        self.client_auth = client_auth
        self.refresh_margin = refresh_margin
        self.authorization = authorization
        for secret in (client_secret, password):
            if secret:
                register_secret(secret.reveal())
        import hashlib  # only when a plugin builds one: not on every scf command's start

        digest = hashlib.sha256()
        for part in (client_secret, password):
            digest.update(b"\0" + (part.reveal().encode() if part else b""))
        self._slot = _slot(
            (name, token_url, grant, client_id, user, scope, digest.hexdigest(),
             repr(sorted(self.form.items())))
        )  # fmt: skip

    # -- HttpAuth ----------------------------------------------------------------------------

    def headers(self) -> Mapping[str, str]:
        """The token's headers: the one in hand while it is good for ``refresh_margin`` more
        seconds; else refreshed, or (no refresh token, or it was refused) a fresh login."""
        return self.authorization(self.token())

    def refused(self, sent: Mapping[str, str]) -> None:
        """A call was answered 401 with ``sent``: that token is taken as run out (the refresh
        token is kept), unless another thread renewed it meanwhile."""
        with self._slot.lock:
            token = self._slot.token
            if token is not None and dict(self.authorization(token.access)) == dict(sent):
                token.expires_at = 0.0

    # -- tokens ------------------------------------------------------------------------------

    def token(self) -> str:
        """A good access token (see :meth:`headers`)."""
        with self._slot.lock:
            now = time.time()
            token = self._slot.token
            if token is not None and now < token.expires_at - self.refresh_margin:
                return token.access
            renewed = self._refresh(token, now) if token is not None else None
            if renewed is None:
                renewed = self._login()
            self._slot.token = renewed
            return renewed.access

    def login(self) -> str:
        """Log in afresh, whatever token is in hand (``check_connection``: a token in hand
        would hide a password changed since); the new token is shared as any other."""
        with self._slot.lock:
            self._slot.token = self._login()
            return self._slot.token.access

    @property
    def logins(self) -> int:
        """How many logins (not refreshes) this integration's token took in this process."""
        return self._slot.logins

    def _refresh(self, token: _Token, now: float) -> _Token | None:
        """The refresh grant, or None when there is no usable refresh token or the endpoint
        refused it (the caller then logs in)."""
        if not token.refresh:
            return None
        if token.refresh_expires_at is not None and now >= (
            token.refresh_expires_at - self.refresh_margin
        ):
            return None
        fields = {"grant_type": "refresh_token", "refresh_token": token.refresh}
        renewed = self._ask(fields, "refresh")
        if renewed is None:
            log.info(
                "the token endpoint refused the refresh token; logging in again",
                extra={"integration": self.name},
            )
        elif renewed.refresh is None:  # an endpoint may keep the refresh token it gave
            renewed.refresh, renewed.refresh_expires_at = token.refresh, token.refresh_expires_at
        return renewed

    def _login(self) -> _Token:
        fields = {"grant_type": self.grant, **self.form}
        if self.grant == "password":
            if not self.password:
                raise LoginRefused(
                    f"integration {self.name} has no password to log in with at "
                    f"{self.token_url}; store it with `scf credentials set {self.name} --env ENV`"
                )
            fields.update(username=self.user, password=self.password.reveal())
        if self.scope:
            fields["scope"] = self.scope
        self._slot.logins += 1
        token = self._ask(fields, "login")
        assert token is not None  # a refused login raises
        return token

    def _ask(self, fields: dict[str, str], kind: Literal["login", "refresh"]) -> _Token | None:
        """One token request; a refused refresh is None, a refused login LoginRefused."""
        headers = dict(self.token_headers)
        if self.client_auth == "basic":
            import base64

            pair = f"{self.client_id}:{self.client_secret.reveal() if self.client_secret else ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            if self.client_id:
                fields["client_id"] = self.client_id
            if self.client_secret:
                fields["client_secret"] = self.client_secret.reveal()
        answer = self.http.request(
            "POST",
            self.token_url,
            what=f"OAuth2 token ({kind})",
            idempotent=True,
            data=fields,
            headers=headers,
            auth=False,
            judge=_outcome,
        )
        if 400 <= answer.status < 500:
            if kind == "refresh":
                return None
            if answer.status in (404, 405):  # nothing to log in at: every call would fail
                raise LoginRefused(
                    f"{self.token_url} answered HTTP {answer.status}: it is not a token "
                    f"endpoint; check the token URL"
                )
            code = _error_code(answer)
            raise LoginRefused(
                f"{self.http.system} refused the login of {self._who()} at {self.token_url} "
                f"(HTTP {answer.status}{', ' + code if code else ''}); check the user, its "
                f"password and the application's id and secret"
            )
        if answer.status != 200:
            raise DefiniteError(
                f"the token endpoint {self.token_url} answered HTTP {answer.status}; check "
                f"the token URL"
            )
        return self._read(answer)

    def _read(self, answer: Answer) -> _Token:
        try:
            body = answer.json()
        except ValueError:
            body = None
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise DefiniteError(
                f"the token endpoint {self.token_url} answered without an access_token; check "
                f"the token URL"
            )
        assert isinstance(body, dict)
        register_secret(access)
        refresh = body.get("refresh_token")
        refresh = refresh if isinstance(refresh, str) and refresh else None
        register_secret(refresh)
        now = time.time()
        lifetime = _seconds(body.get("expires_in"))
        refresh_lifetime = _seconds(body.get("refresh_token_expires_in"))
        return _Token(
            access=access,
            expires_at=now + (lifetime if lifetime is not None else DEFAULT_LIFETIME),
            refresh=refresh,
            refresh_expires_at=None if refresh_lifetime is None else now + refresh_lifetime,
        )

    def _who(self) -> str:
        return f"user {self.user!r}" if self.grant == "password" else f"client {self.client_id!r}"


def _seconds(value: Any) -> float | None:
    """``expires_in`` as seconds: a number or a numeric string (both are sent); None when
    absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            return None
        return seconds if seconds >= 0 else None
    return None


def _error_code(answer: Answer) -> str:
    """The RFC 6749 ``error`` code of a refusal (``invalid_grant``…), when it is a short
    printable word; never its description, which a server may fill with anything."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    if isinstance(code, str) and code.isprintable() and len(code) <= _ERROR_CODE_CHARS:
        return code
    return ""


def _outcome(answer: Answer) -> str | None:
    """A token request answered 4xx is a refused login in the log record and metrics."""
    return "refused" if 400 <= answer.status < 500 else None


def forget_tokens() -> None:
    """Drop every token this process holds (tests; the next call logs in again)."""
    with _slots_lock:
        _slots.clear()


__all__ = ["OAuth2", "bearer", "forget_tokens"]
