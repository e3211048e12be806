"""The optional ``[server]`` section: how ``scf serve`` presents itself, and its limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .reader import Reader

KEYS = {"public_url", "jurisdiction_id", "requests_per_minute", "max_body_kb",
        "max_page_size", "contact", "key_service", "agency_responsible",
        "stale_after_intervals", "updates_from_any_key", "max_updates_per_issue"}  # fmt: skip
_PUBLIC_URL = re.compile(r"(?i)^https?://[^\s/?#]+(/[^\s?#]*)?$")


@dataclass(frozen=True)
class Server:
    """The optional ``[server]`` section: how ``scf serve`` presents itself, and its limits.

    ``public_url`` is the address clients use (discovery names it, and image links start
    with it); ``jurisdiction_id``, when set, must match a client's one where it sends one.
    """

    public_url: str | None = None
    jurisdiction_id: str | None = None
    requests_per_minute: int = 600  # per API key, for POSTs; 0 turns the limit off
    max_body_kb: int = 256  # a POST body larger than this is refused with 413
    max_page_size: int = 1000  # GET requests never returns more rows than this
    contact: str = ""
    key_service: str = ""
    agency_responsible: str | None = None  # default: the organization's name
    # A sync loop is stale (/healthz 503) when its last pass is older than this many of its
    # intervals (scf_plugins.ops.liveness); at least 2, so a loop is never stale on time.
    stale_after_intervals: float = 5.0
    # A POSTed update is taken only from the key that reported the issue, unless this is set.
    updates_from_any_key: bool = False
    max_updates_per_issue: int = 50  # resident updates one issue takes through the door


def read_server(reader: Reader, table: Any) -> Server:
    """The section from its table (every key has a default)."""
    if not isinstance(table, dict):
        reader.problem("server", "must be a table; write it as [server]")
        return Server()
    reader.unknown(table, "server", KEYS)
    url = reader.get(table, "public_url", "server", str, None, "use an http(s) URL")
    if url is not None:
        url = reader.no_userinfo(url, "server.public_url").strip().rstrip("/")
        if url and not _PUBLIC_URL.match(url):
            reader.problem(
                "server.public_url",
                "use the http(s) URL clients reach, without a query, e.g. "
                '"https://311.example.gov"',
            )
    jurisdiction = reader.get(
        table, "jurisdiction_id", "server", str, None, 'use a string, e.g. "example.gov"'
    )
    return Server(
        public_url=url or None,
        jurisdiction_id=(jurisdiction or "").strip() or None,
        requests_per_minute=int(reader.number(table, "requests_per_minute", "server", 600, 0, 1e6)),
        max_body_kb=int(reader.number(table, "max_body_kb", "server", 256, 1, 100_000)),
        max_page_size=int(reader.number(table, "max_page_size", "server", 1000, 1, 100_000)),
        contact=reader.get(table, "contact", "server", str, "", "use a string"),
        key_service=reader.get(table, "key_service", "server", str, "", "use a string"),
        agency_responsible=reader.get(
            table, "agency_responsible", "server", str, None, "use a string"
        ),
        stale_after_intervals=reader.number(table, "stale_after_intervals", "server", 5, 2, 1000),
        updates_from_any_key=reader.get(
            table, "updates_from_any_key", "server", bool, False, "use true or false"
        ),
        max_updates_per_issue=int(
            reader.number(table, "max_updates_per_issue", "server", 50, 1, 100_000)
        ),
    )
