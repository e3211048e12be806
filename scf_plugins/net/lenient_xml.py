"""XML read into xmltodict's shapes, with a depth limit, keeping what comes before damage.

An element becomes its text (None when empty) or, with attributes or children, a dict
(``@name`` for an attribute, ``#text`` for its text); a child name that repeats, or that
``force_list`` names, becomes a list. An element nested deeper than ``max_depth`` becomes
None and a :class:`~scf_plugins.net.salvage.Gap` on its path, and the reader goes on with
its next sibling; a document that stops being XML (cut off, a bad character) keeps what was
read before that point, with a gap on every element still open. Entity declarations are
refused outright (the "billion laughs"). The parser is expat's, driven by events: nothing
recurses, and a skipped part holds no memory.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from .salvage import MAX_DEPTH, Gap, Path, Salvaged

_ABSENT = object()
_DECLARED = re.compile(rb"""\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")


class _Refused(Exception):
    """The document declares entities."""


class _Element:
    __slots__ = ("data", "item", "name", "path")

    def __init__(self, name: str, path: Path, item: dict[str, Any] | None) -> None:
        self.name = name
        self.path = path
        self.item = item
        self.data: list[str] = []


def read_xml(
    content: bytes, *, force_list: Collection[str] = (), max_depth: int = MAX_DEPTH
) -> Salvaged:
    """``content`` as XML: ``{root name: root element}`` as far as it can be read.

    Bytes that are not UTF-8 in a document that declares no other encoding are read as
    U+FFFD rather than ending the document there.

    :raises ValueError: when no element even starts, or the document declares entities.
    """
    found = _Builder(force_list, max(1, max_depth)).parse(content)
    if found.gaps and _not_utf8(content):
        again = _Builder(force_list, max(1, max_depth)).parse(
            content.decode("utf-8", "replace").encode("utf-8")
        )
        if len(again.gaps) < len(found.gaps) or again.gaps == found.gaps:
            return again
    return found


def _not_utf8(content: bytes) -> bool:
    declared = _DECLARED.match(content[:200])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return False  # another encoding: its bytes are not ours to replace
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class _Builder:
    def __init__(self, force_list: Collection[str], max_depth: int) -> None:
        self.force_list = force_list
        self.max_depth = max_depth
        self.stack: list[_Element] = []
        self.root: dict[str, Any] | None = None
        self.skipping = 0  # how deep inside a part too deep to keep
        self.gaps: list[Gap] = []

    def parse(self, content: bytes) -> Salvaged:
        from xml.parsers import expat

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text
        parser.EntityDeclHandler = _refuse
        try:
            parser.Parse(content, True)
        except _Refused:
            raise ValueError("refused: the XML declares entities") from None
        except expat.ExpatError as exc:
            where = f"line {exc.lineno}, column {exc.offset}"
            reason = f"not XML at {where}: {expat.ErrorString(exc.code)}"
            if self.root is None and not self.stack:
                raise ValueError(reason) from None
            self.gaps.extend(Gap(element.path, reason) for element in reversed(self.stack))
            while self.stack:  # keep what was read of each element still open
                self.end(self.stack[-1].name)
        if self.root is None:
            raise ValueError("not XML: no element")
        return Salvaged(self.root, tuple(self.gaps))

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.skipping:
            self.skipping += 1
            return
        parent = self.stack[-1] if self.stack else None
        path = (name,) if parent is None else (*parent.path, *self._slot(parent, name))
        if len(self.stack) >= self.max_depth:
            self.gaps.append(Gap(path, f"nested too deeply (over {self.max_depth} levels)"))
            self._push(parent, name, None)
            self.skipping = 1
            return
        item = {f"@{key}": value for key, value in attrs.items()} or None
        self.stack.append(_Element(name, path, item))

    def end(self, name: str) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        element = self.stack.pop()
        data = "".join(element.data).strip() or None
        value: Any = data
        if element.item is not None:
            value = element.item
            if data:
                self._add(value, "#text", data)
        if self.stack:
            self._push(self.stack[-1], element.name, value)
        else:
            self.root = {element.name: value}

    def text(self, data: str) -> None:
        if self.stack and not self.skipping:
            self.stack[-1].data.append(data)

    def _slot(self, parent: _Element, name: str) -> tuple[str | int, ...]:
        """The path of a child ``name`` under ``parent``: its name, and its index when it is
        (or, as a second of its name, will be) in a list."""
        held = parent.item.get(name, _ABSENT) if parent.item else _ABSENT
        if isinstance(held, list):
            return (name, len(held))
        if held is not _ABSENT:
            return (name, 1)
        return (name, 0) if name in self.force_list else (name,)

    def _push(self, parent: _Element | None, name: str, value: Any) -> None:
        if parent is None:
            return
        if parent.item is None:
            parent.item = {}
        self._add(parent.item, name, value)

    def _add(self, item: dict[str, Any], key: str, value: Any) -> None:
        if key in item:
            held = item[key]
            if isinstance(held, list):
                held.append(value)
            else:
                item[key] = [held, value]
        elif key in self.force_list:
            item[key] = [value]
        else:
            item[key] = value


def _refuse(*_: Any) -> None:
    raise _Refused
