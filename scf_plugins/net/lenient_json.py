"""JSON read as far as it can be: :func:`read_json`, and its last resort, token by token, so
that one broken part costs only itself.

Token by token is for text the standard reader refuses as a whole. A part nested deeper than
``max_depth`` becomes None and a :class:`~scf_plugins.net.salvage.Gap` on its own path. A
token that does not fit where it stands leaves a gap on the object or list it is in, which
keeps what was read of it (a record's id before the damage still names the record); reading
goes on after that part's closing bracket. An answer that ends early leaves a gap on every
object and list still open.

Speed comes from the standard library's reader: each object or list below the root is
offered to it whole first (in C, its recursion bounded by the interpreter), and only one it
refuses, or one nesting too deep, is read here token by token. So an answer with one damaged
record costs about two C passes over the text plus the damaged record in Python; an answer
damaged everywhere costs at most one C pass per level of nesting, ``max_depth`` of them.
Nothing here recurses: one explicit stack; a skipped part costs one step per string or run
of brackets, so a thousand levels of ``[`` are one step.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .salvage import MAX_DEPTH, Gap, Path, Salvaged, depth_of, repair, repaired

_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
        (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
       |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
       |(?P<word>true|false|null)
       |(?P<mark>[\[\]{},:])
    )""",
    re.X | re.S,
)
# Skipping a part: strings (their brackets do not count), text without brackets or quotes,
# runs of opening or of closing brackets, and a quote that opens no whole string.
_SKIP = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{}]+|[\[{][\[{\s]*|[\]}][\]}\s]*|"', re.S)
_SPACE = re.compile(r"[ \t\r\n]*")
_WORDS = {"true": True, "false": False, "null": None}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_WHOLE = json.JSONDecoder(strict=False).raw_decode


class _Broken(Exception):
    """A token that does not fit where it stands."""


class _Frame:
    """An object or list being read: where it is, and what may come next in it."""

    __slots__ = ("container", "key", "path", "state")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path) -> None:
        self.container = container
        self.path = path
        self.key = ""  # an object's key, read before its value
        self.state = "first"  # first, key, colon, value, next


def read_json(content: bytes, max_depth: int = MAX_DEPTH, *, bounded: bool = True) -> Salvaged:
    """``content`` as JSON, read as far as it can be.

    The strict reader (orjson) first; then, with bytes that are not UTF-8 replaced, the
    standard library's reader (it takes lone surrogates) when the nesting is within
    ``max_depth``; else token by token (:func:`read`), isolating what is broken.

    :param bounded: False takes what the strict reader reads whole as it is, nested up to
        its own limit of 1024 levels, saving the check of its depth on a large answer: for a
        caller that reads only single values from it (printing a value nested near 1000
        levels deep, or comparing two, raises RecursionError).
    :raises ValueError: when no JSON value even starts (an empty body, a page of text).
    """
    import orjson

    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    else:
        if not bounded or content.count(b"[") + content.count(b"{") <= max_depth:
            return Salvaged(value)  # too few brackets to nest deeper: no need to look
        text = content.decode("utf-8")  # orjson read it: it is UTF-8
        return Salvaged(value) if depth_of(text) <= max_depth else read(text, max_depth)
    text = content.decode("utf-8", "replace")
    if depth_of(text) <= max_depth:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: only where depth_of was fooled
            pass
        else:
            return Salvaged(repaired(value) if _SURROGATE_ESCAPE.search(text) else value)
    return read(text, max_depth)


def read(text: str, max_depth: int) -> Salvaged:
    """``text`` as JSON, as far as it can be read (see the module's docstring).

    :raises ValueError: when ``text`` does not start with an object or a list.
    """
    return _Reader(text, max(1, max_depth)).run()


class _Reader:
    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.pos = 0
        self.stack: list[_Frame] = []
        self.gaps: list[Gap] = []

    def run(self) -> Salvaged:
        text, end = self.text, len(self.text)
        first = _TOKEN.match(text)
        if first is None or first.lastgroup != "mark" or first.group("mark") not in "[{":
            raise ValueError(f"not JSON: {_shown(text.lstrip()[:30])} at its start")
        root: dict[str, Any] | list[Any] = {} if first.group("mark") == "{" else []
        self.stack.append(_Frame(root, ()))
        self.pos = first.end()
        while self.stack:
            token = _TOKEN.match(text, self.pos)
            if token is None:
                if _SPACE.match(text, self.pos).end() >= end:  # type: ignore[union-attr]
                    break
                self._skip(f"{_shown(text[self.pos : self.pos + 20].strip())} is not JSON")
                continue
            self.pos = token.end()
            try:
                self._take(token)
            except _Broken as exc:
                self.pos = token.start()  # an opening bracket in it counts when skipping
                self._skip(str(exc))
        noted = {gap.path for gap in self.gaps}
        for frame in self.stack:  # the text ended with these still open
            if frame.path not in noted:
                kind = "list" if isinstance(frame.container, list) else "object"
                self.gaps.append(Gap(frame.path, f"not JSON: the answer ends before this "
                                                 f"{kind} does"))  # fmt: skip
        after = _SPACE.match(text, self.pos).end()  # type: ignore[union-attr]
        if not self.stack and after < end:
            self.gaps.append(Gap((), f"not JSON at character {after}: more after its end"))
        return Salvaged(root, tuple(self.gaps))

    # -- reading ---------------------------------------------------------------------------

    def _take(self, token: re.Match[str]) -> None:
        frame = self.stack[-1]
        kind = token.lastgroup
        if kind == "mark":
            mark = token.group("mark")
            if mark in "[{":
                self._open(frame, mark, token.start("mark"))
            elif mark in "]}":
                if (mark == "]") != isinstance(frame.container, list):
                    raise _Broken(f"{mark!r} closes what it did not open")
                if frame.state not in ("first", "next"):
                    raise _Broken(f"{mark!r} where a value should be")
                self.stack.pop()
            elif mark == "," and frame.state == "next":
                frame.state = "value" if isinstance(frame.container, list) else "key"
            elif mark == ":" and frame.state == "colon":
                frame.state = "value"
            else:
                raise _Broken(f"{mark!r} out of place")
        elif isinstance(frame.container, dict) and frame.state in ("first", "key"):
            if kind != "string":
                raise _Broken("a key that is not text")
            frame.key = _string(token.group("string"))
            frame.state = "colon"
        else:
            self._put(frame, _scalar(kind, token))

    def _open(self, frame: _Frame, mark: str, start: int) -> None:
        path = (*frame.path, self._slot(frame))
        room = self.max_depth - len(self.stack)  # levels this value may still nest
        if room <= 0:
            self._put(frame, None)
            self.gaps.append(Gap(path, f"nested too deeply (over {self.max_depth} levels)"))
            self.pos, _ = self._after_part(self.pos)
            return
        whole = self._whole(start, room)
        if whole is not None:
            self._put(frame, whole[0])
            self.pos = whole[1]
            return
        container: dict[str, Any] | list[Any] = {} if mark == "{" else []
        self._put(frame, container)
        self.stack.append(_Frame(container, path))

    def _whole(self, start: int, room: int) -> tuple[Any, int] | None:
        """The value starting at ``start`` as the standard reader reads it, and where it
        ends; None when it is not JSON throughout, or nests deeper than ``room``."""
        text = self.text
        try:
            value, end = _WHOLE(text, start)
        except (ValueError, RecursionError):
            return None
        opened = text.count("[", start, end) + text.count("{", start, end)  # depth's bound
        if opened > room and depth_of(text[start:end]) > room:
            return None  # read token by token, so the part too deep is cut and named
        if _SURROGATE_ESCAPE.search(text, start, end):
            value = repaired(value)
        return value, end

    def _slot(self, frame: _Frame) -> str | int:
        """The key or index of the next value in ``frame``."""
        if isinstance(frame.container, list):
            if frame.state not in ("first", "value"):
                raise _Broken("a value where ',' or ']' should be")
            return len(frame.container)
        if frame.state != "value":
            raise _Broken("a value where a key should be")
        return frame.key

    def _put(self, frame: _Frame, value: Any) -> None:
        slot = self._slot(frame)
        if isinstance(frame.container, list):
            frame.container.append(value)
        else:
            frame.container[str(slot)] = value
        frame.state = "next"

    # -- what cannot be read ---------------------------------------------------------------

    def _skip(self, reason: str) -> None:
        """Note ``reason`` on the innermost open part, keep what was read of it, and go on
        after its closing bracket (at the end of the text, it stays open)."""
        frame = self.stack[-1]
        self.gaps.append(Gap(frame.path, f"not JSON at character {self.pos}: {reason}"))
        self.pos, closed = self._after_part(self.pos)
        if closed:
            self.stack.pop()
            if self.stack:
                self.stack[-1].state = "next"

    def _after_part(self, pos: int) -> tuple[int, bool]:
        """Where the part that ``pos`` is inside ends: just after the bracket closing it
        (True), or the end of the text (False)."""
        text, depth = self.text, 1
        while True:
            piece = _SKIP.match(text, pos)
            if piece is None:
                return len(text), False
            run = piece.group()
            if run[0] in "[{":
                depth += run.count("[") + run.count("{")
            elif run[0] in "]}":
                closes = run.count("]") + run.count("}")
                if closes >= depth:
                    return piece.start() + _nth_closer(run, depth), True
                depth -= closes
            pos = piece.end()


def _nth_closer(run: str, n: int) -> int:
    """Just after the ``n``-th closing bracket of a run of them (with blanks between)."""
    if run[:n].strip("]}") == "":
        return n  # no blanks before it: the usual case, without a loop
    for index, char in enumerate(run):
        if char in "]}":
            n -= 1
            if n == 0:
                return index + 1
    return len(run)


def _string(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        value = json.loads(token, strict=False)
    except ValueError:
        raise _Broken(f"a broken escape in {_shown(token[:40])}") from None
    return repair(value) if "\\u" in token else str(value)


def _scalar(kind: str | None, token: re.Match[str]) -> Any:
    if kind == "string":
        return _string(token.group("string"))
    if kind == "word":
        return _WORDS[token.group("word")]
    number = token.group("number")
    try:
        return float(number) if any(c in number for c in ".eE") else int(number)
    except ValueError:  # more digits than Python converts
        raise _Broken(f"a number too long to read ({len(number)} digits)") from None


def _shown(text: str) -> str:
    return repr(text) if text else "nothing"
