"""What can be read of an answer that does not decode whole, and where the rest was.

"One bad record never stops a batch" holds only for records that parse: a strict reader
refuses a whole answer for one lone surrogate (``"\\ud800"``), one stray byte that is not
UTF-8, one record nested thousands of levels deep, or a body cut off mid-record. So an answer
the strict reader refuses is read again tolerantly (:func:`.lenient_json.read_json`,
:func:`.lenient_xml.read_xml`):

- a lone surrogate becomes U+FFFD, and so does a byte that is not UTF-8: the text is kept,
  and nothing stored later holds what a UTF-8 database or a JSON document cannot;
- what still cannot be read (a part nested deeper than ``max_depth``, a part that is not
  JSON or not XML, the end of a cut-off answer) is left out as a :class:`Gap` naming where it
  was, by the keys and indexes from the root, so the plugin can name the record, and the
  issue, it concerns; the rest of the answer comes back as usual, in a :class:`Salvaged`.

Every reader is iterative (no recursion on an attacker's depth), linear in the size of the
answer, and keeps at most ``max_depth`` levels of what it builds; the answer itself is
already bounded by ``max_response_mb``.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # levels of nesting kept; real answers need fewer than ten

SHOWN = 6  # levels of a gap's path a message names (a deep one would fill the screen)

Path = tuple[str | int, ...]

_SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # unrolled: linear, no backtracking
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LEVELS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


@dataclass(frozen=True)
class Gap:
    """A part of an answer that could not be read.

    :param path: the keys and list indexes from the root of the answer to that part (``()``
        for the answer as a whole, e.g. one cut off before it closes).
    :param reason: what was wrong, for a person (``"nested deeper than 64 levels"``).
    """

    path: Path
    reason: str

    def __str__(self) -> str:
        shown = [str(p)[:40] for p in self.path[:SHOWN]]
        where = "/".join(shown) + ("/…" if len(self.path) > SHOWN else "")
        return f"{self.reason} (at {where})" if where else self.reason


@dataclass(frozen=True)
class Salvaged:
    """An answer as far as it could be read: ``value`` in the usual shapes (dicts, lists,
    text, numbers; a part that could not be read is absent from its object, or None in its
    list), and ``gaps`` saying what is missing where. No gaps: the answer was read whole."""

    value: Any
    gaps: tuple[Gap, ...] = ()

    def at(self, *path: str | int) -> Salvaged:
        """The part at ``path`` (None when absent) with the gaps inside it, their paths then
        relative to it; a gap at ``()`` of the result means that part itself was cut short."""
        value = self.value
        for key in path:
            if isinstance(value, dict) and isinstance(key, str):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                value = None
        size = len(path)
        inside = tuple(
            Gap(gap.path[size:], gap.reason) for gap in self.gaps if gap.path[:size] == path
        )
        return Salvaged(value, inside)

    def cut(self) -> str | None:
        """Why this part is incomplete as a whole (items may be missing from it), or None."""
        return next((gap.reason for gap in self.gaps if not gap.path), None)

    def broken(self) -> dict[str | int, str]:
        """The items of this list or object that could not be read whole, by index or key,
        each with the first reason found in it."""
        found: dict[str | int, str] = {}
        for gap in self.gaps:
            if gap.path:
                found.setdefault(gap.path[0], str(Gap(gap.path[1:], gap.reason)))
        return found


def repair(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a surrogate left in a Python
    string is always lone: JSON readers join the pairs)."""
    return _SURROGATE.sub("\ufffd", text)


def depth_of(text: str) -> int:
    """How deeply the JSON ``text`` nests, counted without parsing it (the brackets outside
    strings, in C): a guard before a reader that recurses. A broken string can make it count
    brackets inside text, so it may say deeper than the truth, never shallower for JSON
    that is well formed."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    levels = array("b", brackets.encode("ascii").translate(_LEVELS))
    return max(accumulate(levels), default=0)


def repaired(value: Any) -> Any:
    """``value`` with lone surrogates in its texts (keys too) replaced, walked without
    recursion (its depth is already known to be bounded)."""
    if isinstance(value, str):
        return repair(value)
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in list(item):
                child = item[key]
                if isinstance(key, str) and _SURROGATE.search(key):
                    del item[key]
                    key = repair(key)
                    item[key] = child
                if isinstance(child, str):
                    item[key] = repair(child)
                elif isinstance(child, dict | list):
                    stack.append(child)
        elif isinstance(item, list):
            for index, child in enumerate(item):
                if isinstance(child, str):
                    item[index] = repair(child)
                elif isinstance(child, dict | list):
                    stack.append(child)
    return value


__all__ = ["MAX_DEPTH", "Gap", "Path", "Salvaged", "depth_of", "repair", "repaired"]
