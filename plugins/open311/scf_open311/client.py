"""One GeoReport v2 endpoint over the host's HTTP policy, in JSON or XML.

Servers differ in small ways that matter (``reference/open311-georeport-v2.md``): XML is the
only mandatory format; JSON booleans may be the strings ``"true"``/``"false"``; a list of one
item in XML parses as one item, not a list; an error body is a list of ``{code,
description}`` in either format, or plain text. :class:`GeoReport` reads all of them into the
same Python shapes, and turns HTTP statuses into the host's error kinds: 403 is the key
refused (:class:`~scf_plugins.LoginRefused`), 404 a missing resource, any other 4xx the
server refusing the data (:class:`~scf_plugins.DefiniteError`).

Answers are read with a depth limit in either format, and never recursively: an answer that
cannot be read whole is a definite error naming what was wrong and in which record, or, for
a poll (:meth:`GeoReport.get_salvaged`), the records that can be read with the gaps between
them, so one damaged record costs only its own issue.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    Salvaged,
    TransientError,
    redact,
    register_secret,
)

# XML elements that are lists in GeoReport, whatever their count (as FixMyStreet reads them).
LISTS = ("service", "attribute", "value", "request", "error", "request_update", "group")
WRAPPERS = {"services": "service", "service_requests": "request", "errors": "error",
            "service_request_updates": "request_update", "attributes": "attribute",
            "values": "value"}  # fmt: skip
# What names a record in a message about it, in order of preference.
NAMES = ("service_request_id", "service_code", "update_id", "token", "code")


class NotFound(DefiniteError):
    """The server has no such resource (HTTP 404)."""


class GeoReport:
    """The endpoint of one integration: ``get`` and ``post`` of GeoReport resources."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.base = integration.url.rstrip("/")
        self.format = str(integration.options.get("format", "json"))
        self.jurisdiction = str(integration.options.get("jurisdiction_id") or "")
        self.http = HttpClient(
            integration.name,
            integration.url,
            integration.verify_tls,
            HttpPolicy.of(integration),
            system=f"the Open311 server at {self.base}",
            pool_size=integration.max_concurrency,
        )
        if integration.password:
            register_secret(integration.password.reveal())

    @property
    def calls(self) -> int:
        """How many calls this client has made."""
        return self.http.calls

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def api_key(self) -> str:
        """The endpoint's API key (the integration's password)."""
        key = self.integration.password
        if not key:
            name, env = self.integration.name, self.integration.environment
            raise ConfigError(
                f"integration {name} ({env}) has no api_key; run `scf credentials set {name} "
                f"--env {env}` or set SCF_{name.upper()}_{env.upper()}_PASSWORD"
            )
        return key.reveal()

    def get(self, resource: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        """GET ``resource`` (``services``, ``requests/42`` …) in the configured format.

        :raises DefiniteError: for an answer that cannot be read whole, naming what was wrong.
        """
        found = self.get_salvaged(resource, params)
        if found.gaps:
            raise DefiniteError(self._unreadable(f"GET {resource}", described(found)))
        return found.value

    def get_salvaged(self, resource: str, params: Sequence[tuple[str, str]] = ()) -> Salvaged:
        """Like :meth:`get`, but an answer that cannot be read whole comes back as far as it
        can be read, with its gaps at their paths in the JSON shape (in a list of records, a
        gap's path starts with the record's index)."""
        query = [*params, *self._jurisdiction()]
        answer = self.http.request(
            "GET", self._url(resource), what=f"GET {resource.split('/')[0]}", idempotent=True,
            params=query,
        )  # fmt: skip
        return self._read(answer, f"GET {resource}", idempotent=True)

    def post(self, resource: str, fields: Sequence[tuple[str, str]]) -> Any:
        """POST a form (with the api_key) to ``resource``; repeated keys are kept."""
        body = [("api_key", self.api_key()), *self._jurisdiction(), *fields]
        answer = self.http.request(
            "POST", self._url(resource), what=f"POST {resource}", idempotent=False,
            data=body,
        )  # fmt: skip
        found = self._read(answer, f"POST {resource}", idempotent=False)
        if found.gaps:
            text = self._unreadable(f"POST {resource}", described(found))
            raise AmbiguousError(f"{text}; it may have been carried out")
        return found.value

    def _url(self, resource: str) -> str:
        return f"{self.base}/{resource}.{self.format}"

    def _jurisdiction(self) -> list[tuple[str, str]]:
        return [("jurisdiction_id", self.jurisdiction)] if self.jurisdiction else []

    def _read(self, answer: HttpAnswer, what: str, *, idempotent: bool) -> Salvaged:
        status = answer.status
        if 200 <= status < 300:
            try:
                return self._parse(answer)
            except ValueError as exc:
                text = self._unreadable(what, str(exc))
                if idempotent:
                    raise DefiniteError(text) from None
                raise AmbiguousError(f"{text}; it may have been carried out") from None
        said = redact(self._errors(answer))
        text = f"{self.http.system} refused {what} (HTTP {status}: {said})"
        if status == 403:
            raise LoginRefused(
                f"{text}; check the api_key (`scf credentials set {self.integration.name} "
                f"--env {self.integration.environment}`)"
            )
        if status == 404:
            if self.format == "json" and what == "GET services":
                # XML is the only format the spec requires; many servers offer nothing else.
                text += '; if the server offers XML only, set format = "xml" for this integration'
            raise NotFound(text)
        if status == 408:
            raise TransientError(text)
        raise DefiniteError(text)

    def _unreadable(self, what: str, why: str) -> str:
        return f"{self.http.system} answered {what} with something unreadable ({why})"

    def _parse(self, answer: HttpAnswer) -> Salvaged:
        if "html" in answer.content_type:
            raise ValueError("an HTML page, not GeoReport (a login page or a proxy?)")
        if self.format == "json":
            return answer.salvage_json()
        doc = answer.salvage_xml(force_list=LISTS)
        if not isinstance(doc.value, dict) or len(doc.value) != 1:
            raise ValueError("no single root element")
        [(root, body)] = doc.value.items()
        return Salvaged(unwrap(body, root), tuple(Gap(json_path(g.path), g.reason)
                                                  for g in doc.gaps))  # fmt: skip

    def _errors(self, answer: HttpAnswer) -> str:
        """The server's own error descriptions, or the start of its body."""
        try:
            data = self._parse(answer).value
        except ValueError:
            data = None
        items = data if isinstance(data, list) else []
        lines = [
            f"{item.get('code', '???')}: {item.get('description', 'unknown error')}"
            for item in items
            if isinstance(item, dict)
        ]
        if lines:
            return _printable("; ".join(lines))[:500]
        return _printable(answer.text.strip())[:200] or "no details"


def described(found: Salvaged) -> str:
    """The first gap of an answer, naming the record it is in when that record says what it
    is (``in the record of service_code POT``)."""
    gap = found.gaps[0]
    records = found.value if isinstance(found.value, list) else []
    index = gap.path[0] if gap.path else None
    if isinstance(index, int) and 0 <= index < len(records) and isinstance(records[index], dict):
        for key in NAMES:
            value = records[index].get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return f"{gap}, in the record of {key} {_printable(str(value))[:60]}"
    return str(gap)


def json_path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A path in the XML document as the path in its JSON shape (see :func:`unwrap`): the
    root element and each wrapper's item element drop out."""
    out: list[str | int] = []
    wrapper: str | None = None
    for key in path:
        if wrapper is not None and key == WRAPPERS[wrapper]:
            wrapper = None
            continue
        wrapper = key if isinstance(key, str) and key in WRAPPERS else None
        out.append(key)
    return tuple(out[1:])


def unwrap(body: Any, root: str) -> Any:
    """XML parsed by xmltodict as the JSON shape: a wrapper element becomes its list."""
    if root in WRAPPERS:
        if not isinstance(body, dict):
            return []  # an empty <service_requests/>
        return [unwrap_item(item) for item in body.get(WRAPPERS[root]) or []]
    return unwrap_item(body)


def unwrap_item(value: Any) -> Any:
    """Nested wrappers (a definition's ``attributes``, an attribute's ``values``) unwrapped
    (it recurses, over an answer whose depth the reader has bounded)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key] = unwrap(item, key) if key in WRAPPERS else unwrap_item(item)
        return out
    return value


def truth(value: Any) -> bool:
    """A GeoReport boolean: JSON ``true`` or the strings ``"true"``/``"false"``, any case."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)
