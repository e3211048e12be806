"""One integration's Construct API v4 client, over the host's HTTP policy and OAuth2 tokens.

Tokens come from the auth host's ``/oauth2/token`` with the password grant (the app's id and
secret, an agency staff account, the agency and its environment; Accela offers no client
credentials) through the kit's :class:`~scf_plugins.OAuth2`: refreshed before their 15
minutes run out, obtained again with the password when the 8-hour refresh has lapsed, one
per integration in the process. Every ``/v4`` call carries ``Authorization: <token>`` (no
``Bearer``) and ``x-accela-appid``, ``x-accela-agency``, ``x-accela-environment``; JSON both
ways, but for uploads (multipart).

Failures, and what each becomes (``what`` names the call; Accela's ``code`` and ``message``
are quoted, redacted; a token or password never is):

=================================================  =============================================
answer                                             becomes
=================================================  =============================================
token: 4xx (``invalid_request``: the user or       :class:`~scf_plugins.LoginRefused` (the
password; ``unauthorized_client``: the app)        integration is marked down, no issue charged)
token: the refresh refused (its 8 hours passed)    a login with the password, once
``/v4``: 401 (``token_expired``,                   one renewal and one retry (a change too:
``invalid_token``, ``unauthorized_app``…)          nothing was done); 401 again:
                                                   :class:`~scf_plugins.LoginRefused`
400 (``bad_request``, ``data_validation_error``),  :class:`Refused`, a DefiniteError (the
403 (``forbidden``), any other 4xx                 request, or the user's rights, are wrong)
404 (``resource_not_found``, ``api_not_found``)    :class:`NotFound`, a :class:`Refused`
429, 5xx, a connection dropped, a timeout          reads: :class:`~scf_plugins.TransientError`;
                                                   creates, comments, uploads, form writes:
                                                   :class:`~scf_plugins.AmbiguousError` (429:
                                                   transient); the caller looks before retrying
200 that is HTML or not an Accela envelope         reads: TransientError (a gateway's page);
                                                   writes: AmbiguousError
200 with ``code: emse_error``                      success: the agency's after-event script
                                                   failed after the write was made (logged)
a ``resultModel`` item with ``isSuccess: false``   :class:`~scf_plugins.DefiniteError` naming it
=================================================  =============================================
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from scf_plugins import (
    AmbiguousError,
    DefiniteError,
    HttpAnswer,
    HttpClient,
    HttpPolicy,
    Integration,
    OAuth2,
    RemoteError,
    Salvaged,
    TransientError,
    redact,
)

from .settings import Endpoint, endpoint, option

log = logging.getLogger(__name__)

USER_AGENT = "scf-accela/0.1"
_MARKUP = re.compile(rb"\s*<")  # an answer starting with markup is a gateway's page


def path_id(value: str) -> str:
    """An id as a path segment (record type ids carry ``.`` escapes, never a slash)."""
    return quote(value, safe=".-_~")


class Refused(DefiniteError):
    """Accela refused the call (HTTP 4xx): its ``status`` and Accela's ``code``."""

    def __init__(self, message: str, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotFound(Refused):
    """Accela has no such resource (HTTP 404: ``resource_not_found``, or ``api_not_found``
    for an operation this agency's version does not have)."""


class AccelaClient:
    """The integration's API host, agency and environment, with its token."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.endpoint: Endpoint = endpoint(integration)
        self.base = f"{self.endpoint.api}/v4"
        self.http = HttpClient(
            integration.name,
            self.endpoint.api,
            integration.verify_tls,
            HttpPolicy.of(integration),
            system=f"Accela at {self.endpoint.api}",
            pool_size=integration.max_concurrency,
            user_agent=USER_AGENT,
        )
        self.oauth = OAuth2(
            self.http,
            integration.name,
            self.endpoint.token_url,
            grant="password",
            client_id=self.endpoint.app_id,
            client_secret=self.endpoint.app_secret,
            user=self.endpoint.user,
            password=self.endpoint.password,
            scope=str(option(integration, "scope")),
            form={"agency_name": self.endpoint.agency, "environment": self.endpoint.environment},
            token_headers={"x-accela-appid": self.endpoint.app_id},
            authorization=self._headers,
        )
        self.http.auth = self.oauth

    def _headers(self, token: str) -> Mapping[str, str]:
        """The headers of a ``/v4`` call: the bare token, as every Accela client sends it."""
        return {
            "Authorization": token,
            "x-accela-appid": self.endpoint.app_id,
            "x-accela-agency": self.endpoint.agency,
            "x-accela-environment": self.endpoint.environment,
            "Accept": "application/json",
        }

    @property
    def calls(self) -> int:
        """How many calls this client has made."""
        return self.http.calls

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def login(self) -> None:
        """Log in afresh (``scf doctor``: a token in hand would hide a password changed since)."""
        self.oauth.login()

    # -- calls --------------------------------------------------------------------------------

    def get(self, path: str, params: Sequence[tuple[str, str]] = (), *, what: str) -> Any:
        """GET ``/v4/<path>``: the whole envelope (``result``, ``page``…).

        :raises RemoteError: as the module's table says.
        """
        answer = self.http.request(
            "GET", f"{self.base}/{path}", what=what, idempotent=True, params=list(params)
        )
        return self._envelope(answer, what, idempotent=True)

    def get_salvaged(
        self, path: str, params: Sequence[tuple[str, str]] = (), *, what: str
    ) -> Salvaged:
        """Like :meth:`get`, but an answer that cannot be read whole comes back as far as it
        can be read, with its gaps (a poll's batch: one damaged record costs only itself)."""
        answer = self.http.request(
            "GET", f"{self.base}/{path}", what=what, idempotent=True, params=list(params)
        )
        self._refuse(answer, what)
        self._markup(answer, what, idempotent=True)
        try:
            found = answer.salvage_json()
        except ValueError as exc:
            raise TransientError(self._unreadable(what, str(exc))) from None
        if not isinstance(found.value, dict):
            raise TransientError(self._unreadable(what, "not an Accela envelope"))
        return found

    def send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        what: str,
        params: Sequence[tuple[str, str]] = (),
    ) -> Any:
        """A call that changes the agency's data (POST, PUT), with a JSON body: the envelope.

        :raises AmbiguousError: when it may have been carried out but its answer was lost.
        """
        answer = self.http.request(
            method,
            f"{self.base}/{path}",
            what=what,
            idempotent=False,
            json=body,
            params=list(params),
        )
        return self._envelope(answer, what, idempotent=False)

    def search(
        self, path: str, body: Any, params: Sequence[tuple[str, str]] = (), *, what: str
    ) -> Any:
        """A read made as a POST with a JSON body (``search/records``, ``batch``)."""
        answer = self.http.request(
            "POST",
            f"{self.base}/{path}",
            what=what,
            idempotent=True,
            json=body,
            params=list(params),
        )
        return self._envelope(answer, what, idempotent=True)

    def upload(
        self,
        path: str,
        files: Mapping[str, tuple[str, bytes, str]],
        fields: Mapping[str, str],
        params: Sequence[tuple[str, str]],
        *,
        what: str,
    ) -> Any:
        """A multipart POST (documents): ``files`` beside the form ``fields``."""
        answer = self.http.request(
            "POST",
            f"{self.base}/{path}",
            what=what,
            idempotent=False,
            data=dict(fields),
            files=dict(files),
            params=list(params),
        )
        return self._envelope(answer, what, idempotent=False)

    # -- answers ------------------------------------------------------------------------------

    def _envelope(self, answer: HttpAnswer, what: str, *, idempotent: bool) -> dict[str, Any]:
        self._refuse(answer, what)
        self._markup(answer, what, idempotent=idempotent)
        kind: type[RemoteError] = TransientError if idempotent else AmbiguousError
        try:
            body = answer.json()
        except ValueError as exc:
            raise kind(self._unreadable(what, str(exc), idempotent)) from None
        if not isinstance(body, dict) or ("result" not in body and "status" not in body):
            raise kind(self._unreadable(what, "not an Accela envelope", idempotent))
        if body.get("code") == "emse_error":
            log.warning(
                "%s: the agency's after-event script failed (emse_error); the change was made",
                what,
                extra={"integration": self.integration.name},
            )
        return body

    def _refuse(self, answer: HttpAnswer, what: str) -> None:
        """Raise for a 4xx answer (5xx and 429 were raised by the HTTP client)."""
        status = answer.status
        if status < 400:
            return
        code, message = _error_of(answer)
        said = f"{code}: {message}" if code and message else code or message or "no details"
        text = f"{self.http.system} refused {what} (HTTP {status}: {redact(said)})"
        if status == 404:
            raise NotFound(text, status, code)
        if status == 403:
            text += f"; check what user {self.endpoint.user!r} may do in {self.endpoint.agency}"
        raise Refused(text, status, code)

    def _markup(self, answer: HttpAnswer, what: str, *, idempotent: bool) -> None:
        if "html" in answer.content_type or _MARKUP.match(answer.content):
            text = f"{self.http.system} answered {what} with an HTML page, not the API's JSON"
            if idempotent:
                raise TransientError(f"{text} (a gateway or a login page?)")
            raise AmbiguousError(f"{text}; it may have been carried out")

    def _unreadable(self, what: str, why: str, idempotent: bool = True) -> str:
        text = f"{self.http.system} answered {what} with something unreadable ({why})"
        return text if idempotent else f"{text}; it may have been carried out"


def _error_of(answer: HttpAnswer) -> tuple[str, str]:
    """Accela's ``code`` and ``message`` of an error answer (from its body, else the
    ``x-accela-resp-*`` headers), printable and short."""
    code = message = ""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, message = str(body.get("code") or ""), str(body.get("message") or "")
    headers = {k.lower(): v for k, v in answer.headers.items()}
    code = code or headers.get("x-accela-resp-code", "")
    message = message or headers.get("x-accela-resp-message", "")
    return _printable(code)[:60], _printable(message)[:300]


def results_of(body: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """The items of a ``resultModel`` answer (comments, documents, custom forms); an item
    that says ``isSuccess: false`` is refused.

    :raises DefiniteError: naming the first item refused, with its code and message.
    """
    result = body.get("result")
    items = [i for i in result if isinstance(i, dict)] if isinstance(result, list) else []
    for item in items:
        if item.get("isSuccess") is False:
            said = f"{item.get('code') or 'refused'}: {item.get('message') or 'no details'}"
            raise DefiniteError(f"Accela refused {what} ({redact(_printable(said))[:300]})")
    return items


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)
