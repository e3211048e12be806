"""The Accela client at the wire level, with requests-mock: the password grant and the way
the token is sent, refreshing before the 15 minutes run out, logging in again when the
8-hour refresh has lapsed, one re-login and one retry on a 401, and the failure table."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests_mock as rm
from freezegun import freeze_time
from scf_accela.client import AccelaClient, NotFound, results_of

from scf_plugins import (
    AmbiguousError,
    DefiniteError,
    Integration,
    LoginRefused,
    Secret,
    TransientError,
)
from scf_plugins.testing import make_integration

API = "https://apis.example-accela.test"
AUTH = "https://auth.example-accela.test"
TOKEN_URL = f"{AUTH}/oauth2/token"
TYPES = f"{API}/v4/settings/records/types"
RECORDS = f"{API}/v4/records"
PASSWORD = "Unit-Pass-3301"
APP_SECRET = "Unit-App-Secret-7702"


def _form(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.text, keep_blank_values=True).items()}


def _grant(access: str, refresh: str = "dr!refresh", expires: object = "900") -> dict[str, Any]:
    # expires_in as a string, as Accela's answers and its spec have it.
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires,
        "refresh_token": refresh,
        "scope": "records settings documents",
    }


@pytest.fixture
def client() -> Callable[..., AccelaClient]:
    """A client for a made-up agency (the kit drops its token after each test)."""

    def make(**overrides: Any) -> AccelaClient:
        fields: dict[str, Any] = {
            "name": "permits",
            "user": "scf-int",
            "password": Secret(PASSWORD),
            "secrets": {"app_secret": Secret(APP_SECRET)},
            "options": {
                "auth_url": AUTH,
                "agency": "ISLANDTON",
                "app_id": "637abc",
                "accela_environment": "TEST",
            },
        }
        fields.update(overrides)
        integration: Integration = make_integration("accela", API, **fields)
        return AccelaClient(integration)

    return make


def test_the_password_grant_and_the_token_sent_bare_with_the_agency_headers(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    requests_mock.post(TOKEN_URL, json=_grant("tok-1"))
    requests_mock.get(TYPES, json={"status": 200, "result": []})
    client().get("settings/records/types", [("module", "ServiceRequest")], what="GET types")
    login, call = requests_mock.request_history
    assert _form(login) == {
        "grant_type": "password",
        "client_id": "637abc",
        "client_secret": APP_SECRET,
        "username": "scf-int",
        "password": PASSWORD,
        "agency_name": "ISLANDTON",
        "environment": "TEST",
        "scope": "records settings documents",
    }
    assert login.headers["x-accela-appid"] == "637abc"
    assert call.headers["Authorization"] == "tok-1"  # no "Bearer"
    assert (
        call.headers["x-accela-appid"],
        call.headers["x-accela-agency"],
        call.headers["x-accela-environment"],
    ) == ("637abc", "ISLANDTON", "TEST")
    assert call.qs == {"module": ["servicerequest"]}


def test_the_token_is_refreshed_before_its_fifteen_minutes_run_out(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    requests_mock.post(
        TOKEN_URL, [{"json": _grant("tok-1", "dr!one")}, {"json": _grant("tok-2", "dr!two", 900)}]
    )
    requests_mock.get(TYPES, json={"status": 200, "result": []})
    start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    with freeze_time(start) as clock:
        accela = client()
        accela.get("settings/records/types", what="GET types")
        clock.move_to(start + timedelta(minutes=10))
        accela.get("settings/records/types", what="GET types")
        clock.move_to(start + timedelta(minutes=14, seconds=30))
        accela.get("settings/records/types", what="GET types")
    grants = [_form(r) for r in requests_mock.request_history if r.url == TOKEN_URL]
    assert [g["grant_type"] for g in grants] == ["password", "refresh_token"]
    assert grants[1]["refresh_token"] == "dr!one" and grants[1]["client_secret"] == APP_SECRET
    calls = [r for r in requests_mock.request_history if r.url.startswith(TYPES)]
    assert [c.headers["Authorization"] for c in calls] == ["tok-1", "tok-1", "tok-2"]


def test_a_lapsed_refresh_is_followed_by_a_login_with_the_password(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    requests_mock.post(
        TOKEN_URL,
        [
            {"json": _grant("tok-1")},
            {
                "status_code": 400,
                "json": {"error": "invalid_grant", "error_description": "refresh token expired"},
            },
            {"json": _grant("tok-3")},
        ],
    )
    requests_mock.get(TYPES, json={"status": 200, "result": []})
    start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    with freeze_time(start) as clock:
        accela = client()
        accela.get("settings/records/types", what="GET types")
        clock.move_to(start + timedelta(hours=8, minutes=5))
        accela.get("settings/records/types", what="GET types")
    grants = [_form(r)["grant_type"] for r in requests_mock.request_history if r.url == TOKEN_URL]
    assert grants == ["password", "refresh_token", "password"]
    assert requests_mock.request_history[-1].headers["Authorization"] == "tok-3"


def test_a_401_is_one_renewal_and_one_retry_and_a_second_is_login_refused(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    expired = {"status": 401, "code": "token_expired", "message": "The token has expired."}
    requests_mock.post(TOKEN_URL, [{"json": _grant("tok-1")}, {"json": _grant("tok-2")}])
    requests_mock.post(
        RECORDS,
        [
            {"status_code": 401, "json": expired},
            {"json": {"status": 200, "result": {"id": "ISLANDTON-1"}}},
        ],
    )
    accela = client()
    made = accela.send("POST", "records", {"type": {"id": "T"}}, what="POST records")
    assert made["result"]["id"] == "ISLANDTON-1"
    posts = [r for r in requests_mock.request_history if r.url == RECORDS]
    assert [p.headers["Authorization"] for p in posts] == ["tok-1", "tok-2"]
    requests_mock.get(TYPES, status_code=401, json={**expired, "code": "unauthorized_app"})
    with pytest.raises(LoginRefused):
        accela.get("settings/records/types", what="GET types")


def test_refused_credentials_are_login_refused_without_the_secrets(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    requests_mock.post(
        TOKEN_URL,
        status_code=400,
        json={"error": "invalid_request", "error_description": "Invalid user name or password."},
    )
    with pytest.raises(LoginRefused) as refused:
        client().get("settings/records/types", what="GET types")
    text = str(refused.value)
    assert "invalid_request" in text and PASSWORD not in text and APP_SECRET not in text


@pytest.mark.parametrize(
    ("status", "body", "kind", "said"),
    [
        (
            400,
            {"status": 400, "code": "data_validation_error", "message": "Bad type."},
            DefiniteError,
            "data_validation_error: Bad type.",
        ),
        (
            403,
            {"status": 403, "code": "forbidden", "message": "Not authorized."},
            DefiniteError,
            "check what user 'scf-int' may do in ISLANDTON",
        ),
        (
            404,
            {"status": 404, "code": "resource_not_found", "message": "Record not found."},
            NotFound,
            "resource_not_found",
        ),
    ],
)
def test_refusals_are_definite_and_quote_accelas_code(
    requests_mock: rm.Mocker,
    client: Callable[..., AccelaClient],
    status: int,
    body: dict[str, Any],
    kind: type[Exception],
    said: str,
) -> None:
    requests_mock.post(TOKEN_URL, json=_grant("tok-1"))
    requests_mock.post(RECORDS, status_code=status, json=body)
    with pytest.raises(kind, match=re.escape(said)):
        client().send("POST", "records", {}, what="POST records")


def test_gateway_pages_and_5xx_are_transient_for_reads_and_ambiguous_for_writes(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient]
) -> None:
    requests_mock.post(TOKEN_URL, json=_grant("tok-1"))
    page = {
        "text": "<html><body>Bad gateway</body></html>",
        "status_code": 200,
        "headers": {"Content-Type": "text/html"},
    }
    requests_mock.get(TYPES, **page)
    requests_mock.post(RECORDS, **page)
    accela = client()
    with pytest.raises(TransientError):
        accela.get("settings/records/types", what="GET types")
    with pytest.raises(AmbiguousError):
        accela.send("POST", "records", {}, what="POST records")
    requests_mock.post(
        RECORDS, status_code=500, json={"status": 500, "code": "internal_server_error"}
    )
    with pytest.raises(AmbiguousError):
        accela.send("POST", "records", {}, what="POST records")
    requests_mock.post(RECORDS, status_code=429, json={"status": 429})
    with pytest.raises(TransientError):
        accela.send("POST", "records", {}, what="POST records")


def test_an_emse_error_beside_a_result_is_a_success_that_is_logged(
    requests_mock: rm.Mocker, client: Callable[..., AccelaClient], caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(TOKEN_URL, json=_grant("tok-1"))
    requests_mock.post(
        RECORDS,
        json={
            "status": 200,
            "result": {"id": "ISLANDTON-2"},
            "code": "emse_error",
            "message": "EMSE operation failed.",
        },
    )
    with caplog.at_level(logging.WARNING, logger="scf_accela.client"):
        made = client().send("POST", "records", {}, what="POST records")
    assert made["result"]["id"] == "ISLANDTON-2"
    assert any("emse_error" in r.getMessage() for r in caplog.records)


def test_a_result_item_refused_is_definite() -> None:
    body = {
        "status": 200,
        "result": [
            {"id": 1, "isSuccess": True},
            {"isSuccess": False, "code": "bad", "message": "No."},
        ],
    }
    with pytest.raises(DefiniteError, match=r"bad: No\."):
        results_of(body, "the comments")
    assert results_of({"result": [{"id": 3, "isSuccess": True}]}, "x") == [
        {"id": 3, "isSuccess": True}
    ]
