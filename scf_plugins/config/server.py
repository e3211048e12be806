"""The optional ``[server]`` section: how ``scf serve`` presents itself, and its limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..models import Secret
from ..net.redaction import register_secret
from .reader import Reader

KEYS = {"public_url", "jurisdiction_id", "requests_per_minute", "max_body_kb",
        "max_page_size", "contact", "key_service", "agency_responsible",
        "stale_after_intervals", "gets_per_minute", "cors_origins",
        "updates_from_any_key", "max_updates_per_issue", "max_inflight_body_mb",
        "request_timeout_seconds", "max_connections_per_address", "metrics_token"}  # fmt: skip
_PUBLIC_URL = re.compile(r"(?i)^https?://[^\s/?#]+(/[^\s?#]*)?$")
# The credential holding the token that lets a scraper off this machine read /metrics:
# `scf credentials set metrics`, or SCF_METRICS_PASSWORD. `[server] metrics_token` may hold it
# instead: the one token the config may hold, since it grants nothing but reading the
# figures and Prometheus keeps the same token in its own config file.
METRICS_CREDENTIAL = "metrics"
MIN_METRICS_TOKEN = 16  # characters: a bearer token anyone can send must not be guessable
_ORIGIN = re.compile(r"(?i)^https?://[^\s/?#@]+/?$")


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
    gets_per_minute: int = 600  # per client address, for every GET; 0 turns the limit off
    # Browser apps on these origins may call the door (CORS); none by default, "*" any.
    cors_origins: tuple[str, ...] = ()
    # Body bytes all requests may hold at once (beyond: 503 with Retry-After); at least the
    # largest body a report may have (max_per_issue x max_mb), or those are always refused.
    max_inflight_body_mb: int = 256
    request_timeout_seconds: float = 30.0  # to send a request's head and body, else cut off
    # Open connections per client address (the socket's peer, never X-Forwarded-For: a
    # header anyone can write); loopback is not counted; 0 turns the cap off.
    max_connections_per_address: int = 32
    # A bearer token that lets a scraper off this machine read /metrics (else the stored
    # credential `metrics`); never shown, redacted wherever it would appear.
    metrics_token: Secret | None = None


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
        gets_per_minute=int(reader.number(table, "gets_per_minute", "server", 600, 0, 1e6)),
        cors_origins=_origins(reader, table),
        max_inflight_body_mb=int(
            reader.number(table, "max_inflight_body_mb", "server", 256, 1, 1_000_000)
        ),
        request_timeout_seconds=reader.number(
            table, "request_timeout_seconds", "server", 30, 1, 3600
        ),
        max_connections_per_address=int(
            reader.number(table, "max_connections_per_address", "server", 32, 0, 1_000_000)
        ),
        metrics_token=_metrics_token(reader, table),
    )


def _metrics_token(reader: Reader, table: Any) -> Secret | None:
    """``metrics_token``: a long random string (``openssl rand -hex 24``), registered so it is
    redacted from every line, error and page."""
    token = reader.get(table, "metrics_token", "server", str, None, "use a string")
    if token is None:
        return None
    register_secret(token)
    if len(token.strip()) < MIN_METRICS_TOKEN or token != token.strip():
        reader.problem(
            "server.metrics_token",
            f"use a random string of at least {MIN_METRICS_TOKEN} characters without spaces, "
            "e.g. from `openssl rand -hex 24`",
        )
        return None
    return Secret(token)


def _origins(reader: Reader, table: Any) -> tuple[str, ...]:
    """``cors_origins``: each a scheme and host (and port), as a browser sends ``Origin``,
    or ``"*"`` for any (the door sends no cookies, so any origin can only do what a script
    on a server could)."""
    origins = reader.strings(table, "cors_origins", "server", ())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            reader.problem(
                "server.cors_origins",
                f"{origin[:80]!r} is not an origin; write the scheme and host only, "
                'e.g. "https://app.example.gov"',
            )
            return ()
    return tuple(origin.rstrip("/").lower() for origin in origins)
