"""The HTTP policy every plugin uses: distrust every server.

:class:`HttpClient` is one remote system's keep-alive session under :class:`HttpPolicy`:

- **a deadline for the whole call** (connect, headers and body), however slowly the server
  sends; a stopping engine abandons calls in flight (see :mod:`scf_plugins.net.deadlines`);
- **no redirects**: a 3xx is an error that names its ``Location``, so credentials and bodies
  never go to a host the config does not name;
- **bounded answers**: a body of a declared length within ``max_bytes``, sent as is, is
  read whole in one go; any other (chunked, compressed, ended by closing) is read streaming
  and stopped at ``max_bytes``; JSON nested too deeply is refused;
  :meth:`Answer.salvage_json` and :meth:`Answer.salvage_xml` read what can be read of an
  answer that does not decode whole (see :mod:`scf_plugins.net.salvage`);
- ``Retry-After`` on 429 and 503 is carried on the error (``RemoteError.retry_after``), and
  the engine waits at least that long (within its back-off caps);
- one log record per call: ``method``, ``outcome``, ``status``, ``duration_ms`` and the
  integration or geocoder name, never a secret (an HTTP 401 is logged ``refused``);
- bodies as form fields (``data``), JSON (``json``) or multipart (``files``);
- credentials from an :class:`HttpAuth` (the client's ``auth``): its headers go on every call,
  and a 401 is told to it, which re-authenticates once, and the call is made once more (a
  second 401 is :class:`~scf_plugins.LoginRefused`); :class:`~scf_plugins.net.oauth2.OAuth2`
  is one, for tokens from an OAuth2 token endpoint.

Failures, and the error kind each becomes (``idempotent=False`` for calls that change the
remote system, such as a create or a comment):

=============================================  ==========  =================
failure                                        read calls  changing calls
=============================================  ==========  =================
refused connection, unknown host               transient   transient
connect timeout                                transient   transient
deadline passed, reset, dropped, stopping      transient   ambiguous
HTTP 429, 5xx (``Retry-After`` kept)           transient   ambiguous (429: transient)
a redirect (3xx)                               definite    ambiguous
an answer larger than ``max_bytes``            definite    ambiguous
TLS failure                                    definite    definite
=============================================  ==========  =================

Any other status comes back to the plugin as an :class:`Answer`, which knows the rules of
its own API.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import AmbiguousError, DefiniteError, LoginRefused, RemoteError, TransientError
from ..ops import telemetry
from . import deadlines, lookonly
from .redaction import redact
from .salvage import MAX_DEPTH

if TYPE_CHECKING:
    from collections.abc import Collection

    import requests

    from .salvage import Salvaged

log = logging.getLogger("scf_plugins.net.http")

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 32 * MB
UNAVAILABLE = {429, 502, 503, 504}
UNAUTHORIZED = 401
Form = Mapping[str, Any] | Sequence[tuple[str, Any]]  # form fields; pairs may repeat a key
_NO_JSON = object()  # ``json=None`` sends the JSON ``null``; leaving it out sends no JSON
# A call's body as given: form fields, JSON (or _NO_JSON), multipart files, and the query.
_Body = tuple[Form | None, Any, Any, Any]


class HttpAuth(Protocol):
    """Where an :class:`HttpClient` gets the credentials of each call (its ``auth``).

    The client asks :meth:`headers` before every call (``auth=False`` on a call skips it: the
    token request itself). When the server answers HTTP 401, the client tells :meth:`refused`
    which headers were refused, asks :meth:`headers` again (which must then re-authenticate:
    refresh a token, log in again) and makes the call once more; a second 401 raises
    :class:`~scf_plugins.LoginRefused`. A 401 means nothing was done, so a changing call is
    retried too. Raise :class:`~scf_plugins.LoginRefused` from :meth:`headers` when the
    credentials themselves are refused, :class:`~scf_plugins.TransientError` when the login
    could not be tried. :class:`~scf_plugins.net.oauth2.OAuth2` is a ready one.
    """

    def headers(self) -> Mapping[str, str]:
        """The headers that carry the credentials of the next call (logging in first when
        there is no usable token); called from many threads at once."""
        ...

    def refused(self, sent: Mapping[str, str]) -> None:
        """The server answered 401 to a call made with ``sent`` (what :meth:`headers` gave):
        drop those credentials, so the next :meth:`headers` re-authenticates. Another thread
        may have re-authenticated already: then keep the newer ones."""
        ...


@dataclass(frozen=True)
class HttpPolicy:
    """The limits of every call to one remote system.

    :param timeout: seconds for the whole call, from connecting to the last byte of the body.
    :param connect_timeout: seconds to establish the connection (at most ``timeout``).
    :param max_bytes: the largest answer read; a larger one is an error, never read whole.
    :param retry_after_cap: the longest ``Retry-After`` honoured, in seconds.
    """

    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_bytes: int = DEFAULT_MAX_BYTES
    retry_after_cap: float = 3600.0

    @classmethod
    def of(cls, settings: Any) -> HttpPolicy:
        """The policy of an :class:`~scf_plugins.Integration` or :class:`~scf_plugins.Geocoder`
        (its ``timeout_seconds`` and ``max_response_mb``)."""
        timeout = float(settings.timeout_seconds)
        return cls(
            timeout=timeout,
            connect_timeout=min(10.0, timeout),
            max_bytes=int(float(getattr(settings, "max_response_mb", 32)) * MB),
        )


@dataclass(frozen=True)
class Answer:
    """A server's answer, read whole within the policy's limits."""

    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header, lower case (``""`` when absent)."""
        return str(self.headers.get("Content-Type", "")).lower()

    @property
    def text(self) -> str:
        """The body as text (UTF-8, bad bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON (orjson: several times faster on the large answers of a poll, and
        it refuses nesting deeper than 1024 levels itself).

        :raises ValueError: when it is not JSON, not UTF-8, or nested too deeply to read.
        """
        import orjson

        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            if "depth" in str(exc):
                raise ValueError("JSON nested too deeply") from None
            raise ValueError(str(exc)) from None

    def salvage_json(self, max_depth: int = MAX_DEPTH, *, bounded: bool = True) -> Salvaged:
        """The body as JSON as far as it can be read: as :meth:`json` reads it when it can;
        else lone surrogates and bytes that are not UTF-8 become U+FFFD, and a part nested
        deeper than ``max_depth``, broken, or cut off is a gap naming where it was.

        :param bounded: False skips checking the depth of an answer :meth:`json` reads whole
            (it may then nest up to 1024 levels): see :func:`~.lenient_json.read_json`.
        :raises ValueError: when no JSON object or list even starts.
        """
        from .lenient_json import read_json

        return read_json(self.content, max_depth, bounded=bounded)

    def salvage_xml(
        self, *, force_list: Collection[str] = (), max_depth: int = MAX_DEPTH
    ) -> Salvaged:
        """The body as XML, in xmltodict's shapes (``force_list``: element names that are
        always lists), as far as it can be read; entity declarations are refused.

        :raises ValueError: when no element even starts, or the document declares entities.
        """
        from .lenient_xml import read_xml

        return read_xml(self.content, force_list=force_list, max_depth=max_depth)


class HttpClient:
    """One remote system's keep-alive HTTP session under an :class:`HttpPolicy`.

    :param name: the integration or geocoder name (for logs and messages).
    :param url: the configured URL (for proxy settings and messages).
    :param verify: ``verify_tls``: True, False, or a CA bundle path.
    :param policy: the limits.
    :param system: how messages name the server, e.g. ``"Cityworks at https://cw…"``.
    :param log_key: ``"integration"`` or ``"geocoder"``: the field naming ``name`` in logs.
    :param auth: the credentials of every call (see :class:`HttpAuth`); may be set later as
        ``client.auth`` (an :class:`~scf_plugins.net.oauth2.OAuth2` needs the client first).
    """

    def __init__(
        self,
        name: str,
        url: str,
        verify: bool | str,
        policy: HttpPolicy,
        *,
        system: str,
        log_key: str = "integration",
        pool_size: int = 4,
        user_agent: str = "scf-plugins",
        auth: HttpAuth | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.system = system
        self.log_key = log_key
        self.session = new_session(url, verify, pool_size=pool_size, user_agent=user_agent)
        self.calls = 0
        self.auth = auth

    def close(self) -> None:
        """Close the session and its connections."""
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        idempotent: bool,
        data: Form | None = None,
        json: Any = _NO_JSON,
        headers: Mapping[str, str] | None = None,
        judge: Callable[[Answer], str | None] | None = None,
        auth: bool = True,
        **kwargs: Any,
    ) -> Answer:
        """Make one call under the policy and read its answer whole.

        :param what: the operation, for logs and messages (e.g. ``Ams/ServiceRequest/Create``).
        :param idempotent: False when the call changes the remote system: a lost answer is then
            ambiguous, never safe to retry blindly.
        :param data: form fields, sent ``application/x-www-form-urlencoded``: a mapping, or
            a sequence of pairs where a key repeats (``attribute[c]=a&attribute[c]=b``).
        :param json: a body sent as JSON (``application/json``, UTF-8): dicts, lists, text,
            numbers, booleans, None, and datetimes (RFC 3339). Not with ``data`` or ``files``.
        :param headers: extra headers for this call.
        :param judge: reads the answer's outcome for the call's log record and metrics when
            HTTP 200 is not the whole story (a login refused inside a 200 answer: return
            ``"refused"``); None keeps ``"ok"`` (``"refused"`` for a 401).
        :param auth: False sends this call without the client's :class:`HttpAuth` (the
            token request itself, a public read).
        :param kwargs: ``params`` (the query) and ``files`` (multipart: give bytes, not open
            files, so a call retried after a 401 sends them again), as ``requests`` takes them.
        :returns: the answer, for any status but 3xx, 429 and 5xx (and, with an
            :class:`HttpAuth`, 401).
        :raises RemoteError: as the module's table says.
        :raises LoginRefused: with an :class:`HttpAuth`, when the call is refused (401) again
            after the credentials were renewed, or when the renewal itself is refused.
        :raises ~scf_plugins.net.lookonly.ChangeRefused: a changing call made while the
            engine only looks (nothing is sent).
        """
        if not idempotent:  # a look-only call refuses it unsent (see lookonly)
            lookonly.check_change(what)
        body: _Body = (data, json, kwargs.pop("files", None), kwargs.pop("params", None))
        if kwargs:
            raise TypeError(f"HttpClient.request takes no {', '.join(sorted(kwargs))}")
        if json is not _NO_JSON and (data is not None or body[2] is not None):
            raise TypeError("HttpClient.request takes json alone, without data or files")
        supplier = self.auth if auth else None
        if supplier is None:
            return self._call(method, url, what, idempotent, body, headers or {}, judge)
        sent = dict(supplier.headers())
        answer = self._call(method, url, what, idempotent, body, {**(headers or {}), **sent}, judge)
        if answer.status != UNAUTHORIZED:
            return answer
        # Refused before anything was done: renew the credentials once and call once more.
        supplier.refused(sent)
        fresh = dict(supplier.headers())
        answer = self._call(method, url, what, idempotent, body, {**(headers or {}), **fresh},
                            judge)  # fmt: skip
        if answer.status == UNAUTHORIZED:
            raise _tagged(
                LoginRefused(
                    f"{what}: {self.system} refused the credentials (HTTP 401) again after "
                    f"they were renewed; check the user, its rights and the application's "
                    f"settings there"
                ),
                "refused",
            )
        return answer

    def _call(
        self,
        method: str,
        url: str,
        what: str,
        idempotent: bool,
        body: _Body,
        headers: Mapping[str, str],
        judge: Callable[[Answer], str | None] | None,
    ) -> Answer:
        """One call and its log record (a call renewed after a 401 is two of these)."""
        import requests

        started = time.perf_counter()
        outcome, status = "ok", None
        try:
            with deadlines.deadline(self.policy.timeout) as ends:
                try:
                    response = self.session.send(
                        self._prepare(method, url, body, headers),
                        allow_redirects=False,
                        stream=True,
                        timeout=(self.policy.connect_timeout, self.policy.timeout),
                        verify=self.session.verify,
                        proxies=self.session.proxies,
                    )
                    status = response.status_code
                    self._refuse(response, what, idempotent)
                    content = self._read(response, what, idempotent)
                except requests.exceptions.RequestException as exc:
                    raise self._classify(exc, what, idempotent, ends) from None
            answer = Answer(status, content, dict(response.headers))
            if status == UNAUTHORIZED:
                outcome = "refused"
            if judge is not None:
                outcome = judge(answer) or outcome
            return answer
        except RemoteError as exc:
            outcome = getattr(exc, "outcome", "error")
            raise
        finally:
            self.calls += 1
            telemetry.record_call(self.name, what, outcome, time.perf_counter() - started)
            if log.isEnabledFor(logging.INFO):  # the hot path skips building the record
                log.info(
                    "%s %s",
                    self.name,
                    what,
                    extra={
                        self.log_key: self.name,
                        "method": what,
                        "outcome": outcome,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )

    def _prepare(
        self, method: str, url: str, body: _Body, headers: Mapping[str, str]
    ) -> requests.PreparedRequest:
        """The request, prepared without ``Session.prepare_request``: its merging of session
        settings costs more CPU (runtime protocol checks) than the rest of a small call."""
        import requests

        data, as_json, files, params = body
        merged = dict(self.session.headers)
        merged.update(headers)
        content: Any = None
        if as_json is not _NO_JSON:
            import orjson

            content = orjson.dumps(as_json)
            merged["Content-Type"] = "application/json"
        elif data is not None and files is None:
            content = form_body(data)
            merged["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            content = dict(data.items() if isinstance(data, Mapping) else data)  # beside files
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers=merged,
            data=content,
            files=files,
            params=params,
            auth=self.session.auth,
        )
        return prepared

    # -- the rules ---------------------------------------------------------------------------

    def _refuse(self, response: requests.Response, what: str, idempotent: bool) -> None:
        code = response.status_code
        if 300 <= code < 400 and code != 304:
            location = _printable(response.headers.get("Location", ""))[:300] or "(none)"
            response.close()
            hint = (
                " (a login page: check the url, and whether the site needs Windows sign-in)"
                if "login" in location.lower()
                else ""
            )
            kind: type[RemoteError] = DefiniteError if idempotent else AmbiguousError
            raise _tagged(
                kind(
                    f"{what}: {self.system} answered HTTP {code}, a redirect to "
                    f"{redact(location)}{hint}; redirects are never followed (credentials "
                    f"would go along): put the final URL in the config"
                ),
                "redirect",
            )
        if code in UNAVAILABLE or code >= 500:
            retry_after = self._retry_after(response.headers.get("Retry-After"))
            response.close()
            kind = TransientError if idempotent or code == 429 else AmbiguousError
            wait = f"; it asked to wait {retry_after:g} s" if retry_after else ""
            error = kind(
                f"{what}: {self.system} is unavailable (HTTP {code}){wait}",
                retry_after=retry_after,
            )
            raise _tagged(error, f"http-{code}")

    def _read(self, response: requests.Response, what: str, idempotent: bool) -> bytes:
        if self._known_length(response):
            # One read of exactly Content-Length bytes, into one buffer: a poll's answers are
            # a megabyte each, and reading them in pieces costs three copies of each.
            try:
                return b"".join(response.iter_content(None))
            finally:
                response.close()
        body = bytearray()
        try:
            for chunk in response.iter_content(1024 * 1024):  # large reads: less Python
                body += chunk
                if len(body) > self.policy.max_bytes:
                    kind: type[RemoteError] = DefiniteError if idempotent else AmbiguousError
                    raise _tagged(
                        kind(
                            f"{what}: the answer of {self.system} is larger than "
                            f"{self.policy.max_bytes / MB:g} MB and was not read; raise "
                            f"max_response_mb if answers that large are expected"
                        ),
                        "too-large",
                    )
        finally:
            response.close()
        return bytes(body)

    def _known_length(self, response: requests.Response) -> bool:
        """Whether the body is exactly ``Content-Length`` bytes, as sent, within the cap: not
        chunked (the length would not bound it) and not compressed (its size once inflated
        is unknown), so it can be read whole at once."""
        headers = response.headers
        length = headers.get("Content-Length", "")
        return (
            length.isascii()
            and length.isdigit()
            and int(length) <= self.policy.max_bytes
            and headers.get("Content-Encoding", "identity").strip().lower() == "identity"
            and "Transfer-Encoding" not in headers
            and getattr(response.raw, "chunked", True) is False
        )

    def _retry_after(self, header: str | None) -> float | None:
        """``Retry-After`` as seconds (delay or HTTP date), capped; None when absent or bad."""
        if not header:
            return None
        header = header.strip()
        try:
            seconds = float(header) if header.isdigit() else None
        except ValueError:
            seconds = None
        if seconds is None:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        return max(0.0, min(seconds, self.policy.retry_after_cap))

    def _classify(self, exc: Exception, what: str, idempotent: bool, ends: float) -> RemoteError:
        import requests

        if isinstance(exc, requests.exceptions.SSLError) and _plain_http(exc):
            return _tagged(
                DefiniteError(
                    f"{what}: {self.system} answers plain HTTP, not TLS, on this https URL; "
                    f"use http:// in the url (or the server's https port)"
                ),
                "tls",
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return _tagged(
                DefiniteError(
                    f"{what}: TLS certificate problem with {self.system} "
                    f"({redact(type(exc).__name__)}); set ca_bundle for a private CA"
                ),
                "tls",
            )
        if (
            deadlines.stopping()
            or time.monotonic() >= ends
            or isinstance(exc, requests.exceptions.ReadTimeout)
        ):
            why = (
                "the call was abandoned because scf is stopping"
                if deadlines.stopping()
                else f"{self.system} did not answer within {self.policy.timeout:g} s"
            )
            if idempotent:
                return _tagged(TransientError(f"{what}: {why}"), "timeout")
            return _tagged(
                AmbiguousError(f"{what}: {why}; it may have been carried out"), "timeout"
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return _tagged(
                TransientError(
                    f"{what}: {self.system} did not accept the connection in time; check the "
                    f"network path (firewall, allowlist)"
                ),
                "connect-timeout",
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            # The answer began but ended short of its length, or its chunks were malformed.
            cut = f"{what}: {self.system} broke off its answer before the end"
            if idempotent:
                return _tagged(TransientError(f"{cut}; tried again later"), "cut-off")
            return _tagged(AmbiguousError(f"{cut}; it may have been carried out"), "cut-off")
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = _reason(exc)
            if idempotent or reason in ("connection refused", "host not found"):
                return _tagged(
                    TransientError(
                        f"{what}: cannot reach {self.system} ({reason}); check the url and "
                        f"the network"
                    ),
                    "connection",
                )
            return _tagged(
                AmbiguousError(
                    f"{what}: the connection to {self.system} dropped before its answer "
                    f"arrived ({reason}); it may have been carried out"
                ),
                "connection",
            )
        return _tagged(
            TransientError(f"{what}: the request failed ({type(exc).__name__})"), "error"
        )


# Form encoding of text that is all ASCII (JSON as json.dumps writes it, tokens): one
# str.replace in C per distinct character to escape, instead of urllib's per-byte quoting
# (a poll's list of 500 ids costs a quarter of a millisecond that way).
_FORM = {chr(c): f"%{c:02X}" for c in range(128) if not (chr(c).isalnum() or chr(c) in "_.-~")}
_FORM[" "] = "+"
_FORM_SAFE = frozenset(chr(c) for c in range(128)) - _FORM.keys()


def _form_quoted(text: str) -> str:
    """ASCII ``text`` as ``quote_plus`` writes it."""
    escaped = set(text) - _FORM_SAFE
    # "%" first and "+" before " ": the other replacements write both.
    for c in ("%", "+"):
        if c in escaped:
            text = text.replace(c, _FORM[c])
            escaped.discard(c)
    for c in escaped:
        text = text.replace(c, _FORM[c])
    return text


def form_body(fields: Form) -> str:
    """``fields`` (a mapping, or pairs with repeated keys) as an
    ``application/x-www-form-urlencoded`` body, as ``urlencode`` writes it (values that are
    not text are written with ``str``)."""
    from urllib.parse import urlencode

    items = fields.items() if isinstance(fields, Mapping) else fields
    pairs = [(str(k), v if isinstance(v, str) else str(v)) for k, v in items]
    if all(k.isascii() and v.isascii() for k, v in pairs):
        return "&".join(f"{_form_quoted(k)}={_form_quoted(v)}" for k, v in pairs)
    return urlencode(pairs)


def _tagged(error: RemoteError, outcome: str) -> RemoteError:
    error.outcome = outcome  # type: ignore[attr-defined]
    return error


def _plain_http(exc: Exception) -> bool:
    """Whether a TLS failure is a plain-HTTP server answering a TLS handshake."""
    text = str(exc).lower()
    return any(
        sign in text
        for sign in ("wrong version number", "http request", "record layer failure",
                     "packet length too long", "unknown protocol")
    )  # fmt: skip


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("resolve", "host not found"),
        ("name or service", "host not found"),
        ("reset", "connection reset"),
        ("aborted", "connection aborted"),
        ("timed out", "timed out"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__


def new_session(
    url: str, verify: bool | str, *, pool_size: int = 4, user_agent: str = "scf-plugins"
) -> requests.Session:
    """A keep-alive session for ``url`` whose sockets keep to deadlines: TLS verification as
    configured, proxies from the environment (``HTTPS_PROXY``…, ``NO_PROXY``) resolved once
    (requests would re-read them on every call), and a pool of ``pool_size``."""
    import requests

    from .guarded import GuardedAdapter

    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    if verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        session.verify = bundle or True
    else:
        session.verify = verify
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    adapter = GuardedAdapter(pool_connections=1, pool_maxsize=max(4, pool_size))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


__all__ = ["Answer", "HttpAuth", "HttpClient", "HttpPolicy", "new_session"]
