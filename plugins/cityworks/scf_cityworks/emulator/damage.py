"""Answers damaged the way a misbehaving site sends them (the faults ``surrogate`` and
``deep``), for the tests of a client that must read the rest of such an answer.

The damage goes into the answer's first record, in its ``Comments`` (a comment record) or
else its ``Status``: ``surrogate`` ends that text with a lone surrogate, escaped as JSON
writes one (``\\ud800``); ``deep`` replaces it with lists nested :data:`DEPTH` levels deep.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

DEPTH = 5000  # deeper than any JSON reader's own limit (orjson: 1024)
KINDS = ("surrogate", "deep")
_MARK = "\x00deep\x00"  # stands where the nesting goes until the answer is text


def dumps(result: dict[str, Any], fault: str | None) -> str | bytes:
    """The envelope ``result`` as JSON, its first record damaged as ``fault`` says (any
    other fault, or an answer without records, leaves it whole)."""
    record = first_record(result.get("Value"))
    if fault not in KINDS or record is None:
        return _dumps(result)
    key = "Comments" if isinstance(record.get("Comments"), str) else "Status"
    if fault == "surrogate":
        record[key] = f"{record.get(key) or ''}\ud800"
        return json.dumps(result)
    record[key] = _MARK
    return json.dumps(result).replace(json.dumps(_MARK), "[" * DEPTH + "]" * DEPTH, 1)


def _dumps(result: dict[str, Any]) -> str | bytes:
    """JSON as compact as a real site writes it; msgspec's encoder is several times faster
    than the json module's on a poll's megabyte of records (the emulator shares the machine
    with the client it serves), and json writes what msgspec refuses (a lone surrogate)."""
    try:
        return msgspec.json.encode(result)
    except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
        return json.dumps(result)


def first_record(value: Any) -> dict[str, Any] | None:
    """The first record of a ``Value``: the first of a list, the first of the first
    non-empty list of a dict of lists (``Comment/ByActivitySids``), or a record itself."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else None
    if not isinstance(value, dict):
        return None
    for items in value.values():
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0]
    return None if all(isinstance(v, list) for v in value.values()) else value
