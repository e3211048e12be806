"""The Cityworks Services API client: one per integration, reused.

Calls are POSTs with the form fields ``data`` (JSON) and, for 15.x, ``token``; for 23+ the
token goes in ``Authorization: cityworks <token>``. The envelope's ``Status`` decides, not the
HTTP code. Every failure becomes one of the host's three error kinds, with a message that says
what to check and never a password or token.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from scf_plugins import (
    AmbiguousError,
    ConfigError,
    DefiniteError,
    Gap,
    HttpAnswer,
    HttpClient,
    HttpPolicy,
    Integration,
    LoginRefused,
    RemoteError,
    Salvaged,
    TransientError,
    register_secret,
)

from .options import OPTIONS
from .records import Decoder
from .versions import version_tuple

log = logging.getLogger(__name__)
Files = dict[str, tuple[str, bytes, str]]  # multipart file parts: name, bytes, type
Body = tuple[dict[str, Any], tuple[Gap, ...]]  # an envelope, and what of it could not be read

AUTH_PATH = "General/Authentication/Authenticate"
NOT_FOUND_CODES = {2, 35, 60}  # InvalidRequestId, ErrorItemNotFound, WarningItemNotFound


class EndpointMissing(DefiniteError):
    """The site answered 404 for a method: this Cityworks version does not have it."""


class Unauthorized(TransientError):
    """Status 2: the token is no longer good (renewed once by the client)."""


_MARKUP = re.compile(rb"\s*<")  # an answer starting with markup is an HTML page, not JSON


def site_root(url: str) -> str:
    """The site root of an endpoint URL: ``…/Cityworks/Services/AMS`` -> ``…/Cityworks``."""
    match = re.search(r"(?i)/services(/|$)", url)
    return (url[: match.start()] if match else url).rstrip("/")


def _messages(body: dict[str, Any]) -> str:
    texts = []
    for item in body.get("ErrorMessages") or []:
        if isinstance(item, dict):
            text = item.get("DisplayText") or item.get("Name") or ""
            name = item.get("Name")
            texts.append(f"{text} ({name})" if name and name != text else str(text))
    return "; ".join(t for t in texts if t) or str(body.get("Message") or "no message")


def _codes(body: dict[str, Any]) -> set[int]:
    codes = set()
    for key in ("ErrorMessages", "WarningMessages"):
        for item in body.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("Code"), int):
                codes.add(item["Code"])
    return codes


class CityworksClient:
    """A session against one Cityworks site, with its token cached and renewed on Status 2."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.name = integration.name
        self.site = site_root(integration.url)
        self.v23 = version_tuple(str(OPTIONS.value(integration, "version") or "")) >= (23,)
        self.http = HttpClient(
            integration.name,
            integration.url,
            integration.verify_tls,
            HttpPolicy.of(integration),
            system=f"Cityworks at {self.site}",
            pool_size=integration.max_concurrency,
            user_agent="scf-cityworks/0.1",
        )
        if str(OPTIONS.value(integration, "auth")).lower() == "windows":
            self.http.session.auth = self._ntlm()
        self._token: str | None = None
        self._token_lock = threading.Lock()

    def _ntlm(self) -> Any:
        try:
            from requests_ntlm import HttpNtlmAuth
        except ImportError:
            raise ConfigError(
                f'integration {self.name}: auth = "windows" needs the windows extra; '
                f"run: pip install 'scf-cityworks[windows]'"
            ) from None
        password = self.integration.password.reveal() if self.integration.password else ""
        return HttpNtlmAuth(self.integration.user, password)

    @property
    def calls(self) -> int:
        """How many calls this client made (for benchmarks and tests)."""
        return self.http.calls

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self) -> str:
        """Log in with the integration's user and password; returns (and caches) the token."""
        password = self.integration.password
        if not password:
            raise ConfigError(
                f"integration {self.name} ({self.integration.environment}) has no password; run "
                f"`scf credentials set {self.name} --env {self.integration.environment}`"
            )
        body, _ = self._post(
            AUTH_PATH,
            {"LoginName": self.integration.user, "Password": password.reveal()},
            token=None,
            idempotent=True,
            judge=_login_outcome,
        )
        if status_of(body) != 0:
            raise LoginRefused(
                f"Cityworks refused the login of user {self.integration.user!r} "
                f"({_messages(body)}); check the user and its password "
                f"(`scf credentials set {self.name} --env {self.integration.environment}`)"
            )
        value = body.get("Value") or {}
        token = value.get("Token") if isinstance(value, dict) else None
        if not isinstance(token, str) or not token:
            raise DefiniteError("Cityworks accepted the login but sent no token; check the URL")
        register_secret(token)
        self._token = token
        return token

    def token(self) -> str:
        """The cached token, logging in first if there is none."""
        with self._token_lock:
            return self._token or self.authenticate()

    def _renew(self, stale: str) -> str:
        with self._token_lock:
            if self._token == stale or self._token is None:
                self._token = None
                return self.authenticate()
            return self._token  # another thread already renewed it

    # -- calls -------------------------------------------------------------------------------

    def call(
        self,
        path: str,
        data: dict[str, Any],
        *,
        idempotent: bool = True,
        decode: Decoder | None = None,
        files: Files | None = None,
    ) -> Any:
        """Call ``Services/<path>`` and return the envelope's ``Value``.

        :param idempotent: False for calls that change the remote (Create, Comment/Add): a
            lost answer is then an :class:`AmbiguousError`, never retried blindly.
        :param decode: a faster reader of this call's answer (see :mod:`.records`); an answer
            it cannot read is read the general way.
        :param files: file parts (``{"file": (name, bytes, content type)}``): the call goes
            as ``multipart/form-data`` with ``data`` and ``token`` beside them.
        :raises DefiniteError: Status 1 or 3 (with Cityworks' DisplayText).
        """
        envelope = self.call_envelope(path, data, idempotent=idempotent, decode=decode, files=files)
        return envelope.get("Value")

    def call_envelope(
        self,
        path: str,
        data: dict[str, Any],
        *,
        idempotent: bool = True,
        accept_codes: set[int] | None = None,
        decode: Decoder | None = None,
        files: Files | None = None,
    ) -> dict[str, Any]:
        """Like :meth:`call` but returns the whole envelope; Status 1 with a code in
        ``accept_codes`` is returned rather than raised (for "not found" answers)."""
        body, _ = self._envelope(
            path, data, idempotent=idempotent, accept_codes=accept_codes, decode=decode,
            files=files,
        )  # fmt: skip
        return body

    def call_records(
        self, path: str, data: dict[str, Any], *, decode: Decoder | None = None
    ) -> Salvaged:
        """Like :meth:`call`, for a read whose ``Value`` holds records: a part of the answer
        that cannot be read (nested too deeply, broken, cut off) costs only the records it
        is in. Returns ``Value`` with the gaps in it (see :class:`~scf_plugins.Salvaged`);
        the envelope itself must still be whole enough to hold a Status and a Value."""
        body, gaps = self._envelope(path, data, decode=decode, partial=True)
        return Salvaged(body, gaps).at("Value")

    def _envelope(
        self,
        path: str,
        data: dict[str, Any],
        *,
        idempotent: bool = True,
        accept_codes: set[int] | None = None,
        decode: Decoder | None = None,
        files: Files | None = None,
        partial: bool = False,
    ) -> Body:
        """The envelope of a call with Status 0 (or an accepted code), and the gaps in it
        (``partial``: see :meth:`_parse`); a refused token is renewed once."""
        token = self.token()
        post = functools.partial(
            self._post, path, data, idempotent=idempotent, decode=decode, files=files,
            partial=partial,
        )  # fmt: skip
        body, gaps = post(token=token)
        if status_of(body) == 2:
            log.info("token refused; logging in again", extra={"integration": self.name})
            token = self._renew(token)
            body, gaps = post(token=token)
            if status_of(body) == 2:
                raise DefiniteError(
                    f"Cityworks refused a fresh token for {path} ({_messages(body)}); check that "
                    f"user {self.integration.user!r} may use this method"
                )
        status = status_of(body)
        if status == 0:
            return body, gaps
        if status is None:
            kind: type[RemoteError] = TransientError if idempotent else AmbiguousError
            raise kind(
                f"{path}: Cityworks sent Status {str(body.get('Status'))[:40]!r}, not a number; "
                f"check that the url is a Cityworks site"
            )
        if accept_codes and _codes(body) & accept_codes:
            return body, gaps
        raise DefiniteError(f"Cityworks refused {path}: {_messages(body)}")

    def _post(
        self,
        path: str,
        data: dict[str, Any],
        *,
        token: str | None,
        idempotent: bool,
        decode: Decoder | None = None,
        judge: Callable[[HttpAnswer], str | None] | None = None,
        files: Files | None = None,
        partial: bool = False,
    ) -> Body:
        url = f"{self.site}/Services/{path}"
        form = {"data": json.dumps(data, separators=(",", ":"), default=str)}
        headers = {}
        if token and self.v23:
            headers["Authorization"] = f"cityworks {token}"
        elif token:
            form["token"] = token
        answer = self.http.request(
            "POST", url, what=path, idempotent=idempotent, data=form, headers=headers, judge=judge,
            files=files or None,
        )  # fmt: skip
        return self._parse(path, answer, idempotent, decode, partial)

    def _parse(
        self,
        path: str,
        answer: HttpAnswer,
        idempotent: bool,
        decode: Decoder | None = None,
        partial: bool = False,
    ) -> Body:
        """The envelope of an answer, and the gaps in it: none unless ``partial``, when
        gaps inside ``Value`` are the caller's to judge record by record."""
        if answer.status == 404:
            raise EndpointMissing(
                f"{path}: the site answered 404; check that the url ends in "
                f"/Services/AMS and that this Cityworks version has the method"
            )
        if answer.status in (401, 403):
            raise DefiniteError(
                f"{path}: the web server refused access (HTTP "
                f"{answer.status}); if the site uses Windows "
                f'authentication set auth = "windows"'
            )
        kind: type[RemoteError] = TransientError if idempotent else AmbiguousError
        if "html" in answer.content_type or _MARKUP.match(answer.content):
            text = answer.text
            login = "Object moved" in text or "login" in text.lower()
            what = "a login redirect" if login else "an IIS/ASP.NET error page"
            raise kind(
                f"{path}: Cityworks answered with HTML ({what}) instead of JSON; check the "
                f"url ends in /Services/AMS, the site's {self.site}/Errors.axd, and "
                f'whether the site needs auth = "windows"'
            )
        body = _fast(decode, answer.content) if decode else None
        gaps: tuple[Gap, ...] = ()
        if body is None:
            try:  # a lone surrogate or a stray byte is read as U+FFFD
                # A poll's records (partial) are read field by field, never printed whole:
                # checking the depth of a large answer read whole would cost a tenth of a poll.
                salvaged = answer.salvage_json(bounded=not partial)
            except ValueError as exc:
                raise kind(self._not_json(path, answer, str(exc))) from None
            body, gaps = salvaged.value, salvaged.gaps
        if not isinstance(body, dict) or "Status" not in body:
            if gaps:
                raise kind(self._not_json(path, answer, str(gaps[0])))
            raise kind(f"{path}: Cityworks sent JSON without the Status envelope; check the url")
        if gaps and (not partial or "Value" not in body):
            raise kind(self._not_json(path, answer, str(gaps[0])))
        return body, gaps

    def _not_json(self, path: str, answer: HttpAnswer, why: str) -> str:
        return (
            f"{path}: Cityworks sent a body that is not JSON ({len(answer.content)} bytes, "
            f"{why}); check {self.site}/Errors.axd"
        )


def _login_outcome(answer: HttpAnswer) -> str | None:
    """``refused`` for a login answered with an envelope Status other than 0 (the log record
    and metrics then say so; HTTP itself said 200)."""
    try:
        body = answer.json()
    except ValueError:
        return None
    return "refused" if isinstance(body, dict) and status_of(body) not in (0, None) else None


def _fast(decode: Decoder, content: bytes) -> dict[str, Any] | None:
    """The answer as ``decode`` reads it, or None when it cannot (read it the general way)."""
    try:
        return decode(content)
    except (ValueError, RecursionError):  # msgspec's own guard on deep nesting: read it again
        return None


def status_of(body: dict[str, Any]) -> int | None:
    """The envelope's ``Status`` when it is a whole number (``false``, ``"0"``, ``0.0`` are
    not: a server that sends them is not answering like Cityworks)."""
    status = body.get("Status")
    return status if type(status) is int else None
