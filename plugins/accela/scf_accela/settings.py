"""The accela plugin's settings: its options with their defaults, and the endpoint of the
active environment (hosts, agency, the agency's environment name, the application).

Options are declared in :data:`OPTIONS` (the host checks and types them, and ``scf plugins
--json`` lists them); any of them may be set per environment, where the environment's value
wins. Status types close or cancel an issue (``closed_status_types``, default CLOSED and
COMPLETE; ``cancel_status_types``, default VOID) as ``closed_statuses`` and ``cancel_statuses``
do by status value. Accela's comments carry no public flag: staff start the ones for the
resident with ``pull_prefix``. ``withdraw_status`` empty means the agency does not let the
integration cancel a record (``scf issues withdraw --remote``).

Per environment (``[integrations.NAME.ENV]``): ``url`` (the API host, ``/v4/…`` appended),
``auth_url`` (the auth host, default ``https://auth.accela.com``; ``/oauth2/token``
appended), ``agency``, ``accela_environment`` (the agency's environment name: ``PROD`` for
``production`` and the environment's own name in upper case for any other, unless set),
``app_id`` and ``user`` (an agency staff account: Accela offers no client credentials). The
password and the application's secret are secrets: ``scf credentials set NAME --env ENV``
(``--key app_secret``), or ``SCF_NAME_ENV_PASSWORD`` and ``SCF_NAME_ENV_APP_SECRET``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scf_plugins import DEFAULT_PULL_PREFIX, CheckWarning, Integration, Option, Options, Secret

DEFAULT_AUTH_URL = "https://auth.accela.com"
APP_SECRET = "app_secret"  # noqa: S105 (the secret's name, not a secret)

OPTIONS = Options(
    Option("module", "text", "ServiceRequest",
           "the Accela module whose record types residents may use"),
    Option("filter_name", "text", "", "only record types of this record-type filter"),
    Option("closed_status_types", "texts", ("CLOSED", "COMPLETE"),
           "the status types that close an issue", fix='use a list such as ["CLOSED"]'),
    Option("cancel_status_types", "texts", ("VOID",),
           "the status types that cancel an issue", fix='use a list such as ["VOID"]'),
    Option("pull_prefix", "text", DEFAULT_PULL_PREFIX,
           "what staff start a comment with to reach the resident"),
    Option("comment_prefix", "text", "[311] {author}: ",
           "what starts a comment scf adds ({author}, {via})"),
    Option("withdraw_status", "text", "",
           "the status value `scf issues withdraw --remote` sets (empty: not offered)"),
    Option("scope", "text", "records settings documents", "the scopes the token asks for"),
    Option("lookup_grace_seconds", "number", 120.0,
           "after an uncertain create, how long a search that finds nothing is taken for "
           "not yet before the create is sent again", minimum=0, maximum=3600),
    Option("ids_per_request", "integer", 50, "record ids per batch read",
           minimum=1, maximum=200),
    Option("coordinates", "choice", "xy",
           "xy: x longitude, y latitude (WGS84); yx: swapped; none: no coordinates",
           choices=("xy", "yx", "none")),
    Option("reported_channel", "text", "", "the record's reportedChannel value"),
    Option("contact_type", "text", "",
           "the contact type of the resident (no contact is sent without one)"),
    Option("document_group", "text", "", "the documents' group"),
    Option("document_category", "text", "", "the documents' category"),
    Option("auth_url", "text", DEFAULT_AUTH_URL, "the auth host (/oauth2/token is appended)"),
    Option("agency", "text", "", "the agency's name, e.g. ISLANDTON", required=True),
    Option("accela_environment", "text", "",
           "the agency's name of this environment (default PROD for production, else the "
           "environment's name in upper case)"),
    Option("app_id", "text", "", "the application's id (Developer Portal, My Apps)",
           required=True),
    Option(APP_SECRET, "secret", None, "the application's secret"),
)  # fmt: skip


def option(integration: Integration, name: str) -> Any:
    """An option's value, or its default."""
    return OPTIONS.value(integration, name)


def upper_list(integration: Integration, name: str) -> frozenset[str]:
    """A list option's strings, upper case (status types, status values)."""
    value = option(integration, name)
    if not isinstance(value, list | tuple):
        return frozenset()
    return frozenset(str(v).strip().upper() for v in value)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom one integration reaches Accela."""

    api: str  # https://apis.accela.com (no /v4)
    token_url: str  # https://auth.accela.com/oauth2/token
    agency: str
    environment: str  # the agency's own name for it (PROD, TEST, SUPP…)
    app_id: str
    app_secret: Secret | None
    user: str
    password: Secret | None


def endpoint(integration: Integration) -> Endpoint:
    """The active environment's endpoint."""
    auth = str(option(integration, "auth_url") or DEFAULT_AUTH_URL).rstrip("/")
    return Endpoint(
        api=integration.url.rstrip("/").removesuffix("/v4"),
        token_url=auth if auth.endswith("/oauth2/token") else f"{auth}/oauth2/token",
        agency=str(option(integration, "agency")).strip(),
        environment=environment_name(integration),
        app_id=str(option(integration, "app_id")).strip(),
        app_secret=app_secret(integration),
        user=integration.user,
        password=integration.password,
    )


def environment_name(integration: Integration) -> str:
    """The agency's name of the active environment: ``accela_environment``, else ``PROD``
    for ``production`` and the environment's own name upper case for any other."""
    named = str(option(integration, "accela_environment") or "").strip()
    if named:
        return named
    return "PROD" if integration.environment == "production" else integration.environment.upper()


def app_secret(integration: Integration) -> Secret | None:
    """The application's secret (a named extra secret of the integration's environment)."""
    return integration.secret(APP_SECRET)


def check(integration: Integration) -> list[str]:
    """What the declarations cannot say: a usable prefix, an auth host, a staff account."""
    env = integration.environment
    problems: list[str] = []
    prefix = option(integration, "pull_prefix")
    if not str(prefix).strip() or len(str(prefix)) > 40:
        problems.append('pull_prefix: use a short text staff start a comment with, e.g. "To SCF:"')
    if not str(option(integration, "auth_url")).startswith(("https://", "http://")):
        problems.append(f'{env}.auth_url: use the auth host, e.g. "{DEFAULT_AUTH_URL}"')
    if not integration.user:
        problems.append(
            f"{env}.user: missing; set an agency staff account (Accela offers no client "
            f"credentials)"
        )
    if not integration.url.startswith("https://") and "127.0.0.1" not in integration.url:
        problems.append(CheckWarning(f"{env}.url: tokens go over plain http; use https"))
    return problems
