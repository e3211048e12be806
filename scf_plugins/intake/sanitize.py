"""Text from outside (remote systems, residents) made safe to store and to show.

Remote systems send what they like: escape sequences, carriage returns, bidirectional
overrides, megabytes of text. What is stored is bounded and free of control characters; what
reaches a terminal has every control or direction-changing character made visible.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

CUT = " …[cut]"
# C0 controls but tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI).
# Control characters, and what no UTF-8 store or XML document can hold (lone surrogates from
# a JSON escape, U+FFFE and U+FFFF).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# For terminals: those, newline and tab too, and direction overrides and isolates (the
# "Trojan source" characters; direction marks are harmless).
_UNSAFE_FOR_TERMINAL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

# Invisible formatting characters (Unicode's Cf) a one-line field refuses and a public
# document never shows: direction marks, embeddings, overrides and isolates, zero-width
# spaces, word joiners, the byte-order mark, soft hyphens, tags. Zero-width non-joiner and
# joiner are kept: Persian and Indic names need them, and so do emoji sequences.
KEPT_FORMATTING = frozenset("\u200c\u200d")
# Those that reorder what is shown (the "Trojan source" characters): multi-line text keeps
# the others, which right-to-left writing uses, but is never shown with these.
_REORDERING = re.compile(r"[\u202a-\u202e\u2066-\u2069]")

COMMENT_LIMIT = 5000
VALUE_LIMIT = 1000


def clean(text: Any, limit: int) -> str:
    """``text`` as stored: line breaks as ``\\n``, no other control character, at most
    ``limit`` characters (a longer text is cut, and says so)."""
    if type(text) is str and len(text) <= limit and text.isprintable():
        return text  # the usual case, checked in C: nothing to change
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    if len(value) > limit:
        value = value[: max(0, limit - len(CUT))] + CUT
    return value


def invisible_formatting(value: str) -> str | None:
    """The first invisible formatting character in ``value`` a one-line field refuses, or
    None."""
    if value.isprintable():  # no Cf character is printable: the usual case, checked in C
        return None
    for char in value:
        if unicodedata.category(char) == "Cf" and char not in KEPT_FORMATTING:
            return char
    return None


def named(char: str) -> str:
    """A character as a problem names it: ``U+202E (RIGHT-TO-LEFT OVERRIDE)``."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def shown(text: str, *, one_line: bool) -> str:
    """``text`` as a public document shows it: a one-line field without any invisible
    formatting character it would refuse now (text stored before it did), multi-line text
    without those that reorder it."""
    if text.isprintable():
        return text
    if not one_line:
        return _REORDERING.sub("", text)
    return "".join(c for c in text if c in KEPT_FORMATTING or unicodedata.category(c) != "Cf")


def clean_or_none(text: Any, limit: int) -> str | None:
    """:func:`clean`, keeping None as None."""
    return None if text is None else clean(text, limit)


def for_terminal(text: Any, *, one_line: bool = False) -> str:
    """``text`` for a person's terminal: escape sequences, carriage returns and direction
    overrides shown as visible ``\\x1b``-style escapes; newlines kept (or, with
    ``one_line``, shown as spaces)."""
    value = str(text)
    if one_line:
        value = value.replace("\r\n", " ").replace("\n", " ")

    def show(match: re.Match[str]) -> str:
        char = match.group()
        if char == "\n" and not one_line:
            return char
        if char == "\t":
            return " " if one_line else char
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _UNSAFE_FOR_TERMINAL.sub(show, value)


def json_text(data: Any, **options: Any) -> str:
    """JSON as ``json.dumps`` writes it, with the characters a terminal could act on (C1
    controls, direction overrides, line separators) written as ``\\u`` escapes: same data."""
    text = json.dumps(data, **options)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
