"""Config text for a harness: a dict of tables as TOML, and the test's database added to a
config that names none."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

_ORGANIZATION = re.compile(r"^\[organization\][ \t]*(#.*)?$", re.MULTILINE)


def with_database(text: str, database: str) -> str:
    """``text`` with ``database = "URL"`` added to ``[organization]`` when it names none."""
    import tomllib

    if "database" in tomllib.loads(text).get("organization", {}):
        return text
    line = f"database = {_value(database)}"
    match = _ORGANIZATION.search(text)
    if match is None:
        return f"[organization]\n{line}\n\n{text}"
    return f"{text[: match.end()]}\n{line}{text[match.end() :]}"


def to_toml(config: Mapping[str, Any]) -> str:
    """A dict of tables as TOML text (tables, arrays of tables, strings, numbers, booleans,
    lists, dates): enough for a config."""
    return "\n".join(_tables(config, ())) + "\n"


def _tables(table: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterator[str]:
    def is_table(value: Any) -> bool:
        return isinstance(value, Mapping)

    def is_table_list(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(map(is_table, value))

    plain = {k: v for k, v in table.items() if not is_table(v) and not is_table_list(v)}
    if prefix and (plain or not table):
        yield f"[{'.'.join(map(_key, prefix))}]"
    for key, value in plain.items():
        yield f"{_key(key)} = {_value(value)}"
    for key, value in table.items():
        if is_table(value):
            yield from _tables(value, (*prefix, key))
        elif is_table_list(value):
            for item in value:
                yield f"[[{'.'.join(map(_key, (*prefix, key)))}]]"
                for inner_key, inner in item.items():
                    yield f"{_key(inner_key)} = {_value(inner)}"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
