"""The ``[organization]`` section: who the city is, where its store is, what stays private."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..intake.area import ServiceArea, from_config
from .reader import Reader

DEFAULT_PRIVATE_KEYWORDS = ("email", "e-mail")
KEYS = {"name", "bot_name", "database", "archive_after_days", "private_keywords",
        "service_area", "timezone", "messages"}  # fmt: skip


@dataclass(frozen=True)
class Organization:
    """The ``[organization]`` section."""

    name: str
    bot_name: str
    database: str
    archive_after_days: float = 14.0
    private_keywords: tuple[str, ...] = DEFAULT_PRIVATE_KEYWORDS
    address_rejected_message: str | None = None
    service_area: ServiceArea | None = None  # where a report's point may be
    timezone: str | None = None  # for people: times `scf issues show` prints

    @property
    def zone(self) -> str:
        """The zone times are shown in (UTC unless ``[organization] timezone`` is set)."""
        return self.timezone or "UTC"


def read_organization(reader: Reader, table: Any) -> Organization:
    """The section from its table (a missing name is a problem; the rest has defaults)."""
    if not isinstance(table, dict) or "name" not in table:
        reader.problem("organization.name", 'missing; add [organization] name = "City of …"')
        table = table if isinstance(table, dict) else {}
    reader.unknown(table, "organization", KEYS)
    name = reader.get(table, "name", "organization", str, "Organization", "use a string")
    bot = reader.get(table, "bot_name", "organization", str, name, "use a string")
    database = _database(reader, table)
    days = reader.number(table, "archive_after_days", "organization", 14, 0, 3650)
    keywords = reader.strings(table, "private_keywords", "organization", ())
    messages = reader.get(table, "messages", "organization", dict, {}, "use a table")
    rejected = reader.template(
        messages, "address_rejected", "organization.messages", "address_rejected"
    )
    area = None
    if "service_area" in table:
        try:
            area = from_config(table["service_area"], reader.path.parent)
        except ValueError as exc:
            reader.problem("organization.service_area", str(exc))
    zone = reader.get(table, "timezone", "organization", str, None, "use an IANA name")
    if zone is not None and not reader.zone(zone):
        reader.problem(
            "organization.timezone",
            f'unknown time zone {zone!r}; use an IANA name such as "America/New_York"',
        )
        zone = None
    return Organization(
        timezone=zone,
        service_area=area,
        name=name.strip() or "Organization",
        bot_name=bot.strip() or name,
        database=database,
        archive_after_days=days,
        private_keywords=DEFAULT_PRIVATE_KEYWORDS + tuple(k.lower() for k in keywords),
        address_rejected_message=rejected,
    )


def _database(reader: Reader, table: dict[str, Any]) -> str:
    """The store's SQLAlchemy URL; a relative SQLite path is taken from the config's folder
    (not from wherever the command happens to run)."""
    default = f"sqlite:///{(reader.path.parent / 'scf.db').resolve()}"
    database: str = reader.get(
        table,
        "database",
        "organization",
        str,
        default,
        'use an SQLAlchemy URL such as "sqlite:///scf.db"',
    )
    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        relative = database.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            database = f"sqlite:///{(reader.path.parent / relative).resolve()}"
    return database
