"""Finding issues: the one query behind ``scf issues list`` and the console's Issues page.

A listing is filtered by status (an issue status, or a kind :mod:`.counts` defines, so what
``scf status`` counts is what is listed), by integration, and by a search: an id, or a piece
of the summary or the address, case-insensitive, taken literally (``%`` and ``_`` are
characters, not wildcards). Newest first.

Pages are keyset pages on the id: the page ``before`` an id (older issues) or ``after`` one
(newer ones). An issue reported while someone pages does not shift what the next page shows,
and a deep page costs what the first does (a walk down the primary key), where an offset
would count every row it skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..errors import UserError
from ..intake.reporting import text_problem

if TYPE_CHECKING:
    from sqlalchemy import Connection, RowMapping

    from ..config.settings import Settings
    from ..store.store import Store
    from .counts import Kind

STATUSES = ("open", "acknowledged", "closed", "archived")
# The kinds of :mod:`.counts`; each takes Open (and most Acknowledged) issues, as `scf status`.
KINDS = ("failing", "stuck", "attention", "held", "unrouted", "pending")
MAX_SEARCH = 200  # characters of a search (a summary holds 200)
MAX_ID = 2**31 - 1  # the largest id a store's integer column holds everywhere
_DIGITS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class Filter:
    """Which issues to list: a status or kind, an integration, a search (None: any)."""

    status: str | None = None
    integration: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class Listed:
    """One issue of a listing: what the list shows, never the reporter's details."""

    id: int
    status: str
    request_type: str
    integration: str | None
    remote_id: str | None
    summary: str
    attempts: int
    last_error: str | None
    last_error_kind: str | None
    attention: str | None
    held: bool
    pending: bool

    def json(self) -> dict[str, Any]:
        """The ``scf issues list --json`` shape of one issue."""
        return {
            "id": self.id,
            "status": self.status,
            "request_type": self.request_type,
            "integration": self.integration,
            "remote_id": self.remote_id,
            "summary": self.summary,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "attention": self.attention,
        }


@dataclass(frozen=True)
class Found:
    """A page of issues, newest first, with where the pages beside it start: ``newer`` is the
    ``after`` of the page of newer issues, ``older`` the ``before`` of the page of older ones
    (None: there is no such page)."""

    issues: tuple[Listed, ...]
    newer: int | None = None
    older: int | None = None


def checked(
    settings: Settings, status: str | None, integration: str | None, search: str | None
) -> Filter:
    """A filter as a person gave it (blank values are no filter), or a one-line refusal."""
    status = (status or "").strip() or None
    if status is not None and status not in STATUSES + KINDS:
        raise UserError(f"there is no status {status!r}; use one of: {', '.join(STATUSES + KINDS)}")
    integration = (integration or "").strip() or None
    if integration is not None and integration not in settings.integrations:
        known = ", ".join(settings.integrations) or "none"
        raise UserError(f"there is no integration {integration!r}; the integrations: {known}")
    search = (search or "").strip() or None
    if search is not None:
        if len(search) > MAX_SEARCH:
            raise UserError(
                f"the search is {len(search)} characters long; the most is {MAX_SEARCH}"
            )
        problem = text_problem(search)
        if problem:
            raise UserError(f"the search {problem}")
    return Filter(status, integration, search)


def find(
    store: Store,
    chosen: Filter,
    *,
    limit: int,
    before: int | None = None,
    after: int | None = None,
) -> Found:
    """Up to ``limit`` issues of ``chosen``, newest first: the newest ones, or those just
    older than ``before``, or just newer than ``after``."""
    from sqlalchemy import select

    from ..store.tables import issues

    if before is not None and after is not None:
        raise ValueError("give before or after, not both")
    where = _conditions(chosen)
    columns = [issues.c[name] for name in _COLUMNS]
    with store.read() as conn:
        if after is not None:
            query = select(*columns).where(*where, issues.c.id > after)
            rows = list(conn.execute(query.order_by(issues.c.id).limit(limit + 1)).mappings())
            more_newer = len(rows) > limit
            rows = rows[:limit][::-1]
            more_older = bool(rows) and _any(conn, where, issues.c.id < rows[-1]["id"])
        else:
            query = select(*columns).where(*where)
            if before is not None:
                query = query.where(issues.c.id < before)
            rows = list(
                conn.execute(query.order_by(issues.c.id.desc()).limit(limit + 1)).mappings()
            )
            more_older = len(rows) > limit
            rows = rows[:limit]
            more_newer = (
                before is not None and bool(rows) and _any(conn, where, issues.c.id > rows[0]["id"])
            )
    listed = tuple(_listed(r) for r in rows)
    return Found(
        listed,
        newer=listed[0].id if more_newer else None,
        older=listed[-1].id if more_older else None,
    )


_COLUMNS = ("id", "status", "request_type", "integration", "remote_id", "summary", "attempts",
            "last_error", "last_error_kind", "attention", "held", "pending_token")  # fmt: skip


def _conditions(chosen: Filter) -> list[Any]:
    """The WHERE conditions of a filter."""
    from sqlalchemy import or_

    from ..store.tables import issues
    from . import counts

    where: list[Any] = []
    if chosen.status in STATUSES:
        where.append(issues.c.status == chosen.status)
    elif chosen.status is not None:
        where.append(counts.condition(cast("Kind", chosen.status)))
    if chosen.integration is not None:
        where.append(issues.c.integration == chosen.integration)
    if chosen.search is not None:
        pattern = f"%{like_literal(chosen.search)}%"
        matches: list[Any] = [
            issues.c.summary.ilike(pattern, escape="\\"),
            issues.c.address.ilike(pattern, escape="\\"),
        ]
        if _DIGITS.fullmatch(chosen.search) and int(chosen.search) <= MAX_ID:
            matches.append(issues.c.id == int(chosen.search))
        where.append(or_(*matches))
    return where


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern (escape character ``\\``): its ``%`` and ``_`` match
    themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _any(conn: Connection, where: list[Any], beyond: Any) -> bool:
    """Whether an issue meets ``where`` and ``beyond`` (is there a page on that side)."""
    from sqlalchemy import select

    from ..store.tables import issues

    return conn.execute(select(issues.c.id).where(*where, beyond).limit(1)).first() is not None


def _listed(row: RowMapping) -> Listed:
    return Listed(
        id=int(row["id"]),
        status=str(row["status"]),
        request_type=str(row["request_type"]),
        integration=row["integration"],
        remote_id=row["remote_id"],
        summary=str(row["summary"]),
        attempts=int(row["attempts"] or 0),
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        attention=row["attention"],
        held=bool(row["held"]),
        pending=row["pending_token"] is not None,
    )
