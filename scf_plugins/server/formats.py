"""Open311's two wire formats: JSON, and XML built with xmltodict (the "Spark" convention).

A resource is written once, as JSON-shaped data; XML wraps it in the root element, turns each
list into ``<plural><singular>…</singular></plural>``, writes booleans as ``true``/``false``
and a missing value as an empty element (never the text ``null``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import xmltodict

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

# The element name of one item of each list, by the list's name.
SINGULAR = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def content_type(fmt: str) -> str:
    """The Content-Type of a format (``json`` or ``xml``)."""
    return JSON_TYPE if fmt == "json" else XML_TYPE


def render(fmt: str, root: str, data: Any) -> bytes:
    """``data`` (a list of items, or one object) in format ``fmt``, under element ``root``."""
    if fmt == "json":
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:  # a lone surrogate in an older row: escape it instead
            return json.dumps(data, ensure_ascii=True).encode("ascii")
    document = {root: _xml_value(root, data)}
    text: str = xmltodict.unparse(document, encoding="utf-8", full_document=True)
    return text.encode("utf-8")


def errors(problems: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    """An Open311 ``errors`` body: one ``{code, description}`` per problem."""
    return [{"code": code, "description": text} for code, text in problems]


def _xml_value(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _xml_value(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if not value:
            return None
        singular = SINGULAR.get(name, "item")
        return {singular: [_xml_value(singular, item) for item in value]}
    if value is None:
        return None
    if value is True or value is False:
        return "true" if value else "false"
    # XML 1.0 cannot hold these at all; stored text should not have them, but a GET must not
    # fail because an older row does.
    return _NOT_XML.sub("", str(value))
