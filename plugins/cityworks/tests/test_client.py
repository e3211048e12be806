"""The Cityworks client at the wire level, with requests-mock on the reference's payloads."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import pytest
import requests
from scf_cityworks.client import CityworksClient, site_root

from scf_plugins import AmbiguousError, ConfigError, DefiniteError, TransientError

SITE = "http://127.0.0.1:9/Cityworks"
AUTH = f"{SITE}/Services/General/Authentication/Authenticate"
PROBLEMS = f"{SITE}/Services/Ams/ServiceRequest/Problems"
CREATE = f"{SITE}/Services/Ams/ServiceRequest/Create"
# Verbatim success example of Authenticate (reference §1.3, from Trimble's documentation).
AUTH_OK = {
    "Value": {"Token": "eyJFbXBsb3llZVNpZCI6NTg4OSwiSXNzdWVkVGltZSI6MTQ"},
    "Status": 0, "Message": None, "ErrorMessages": [], "WarningMessages": [], "SuccessMessages": [],
}  # fmt: skip
TOKEN = AUTH_OK["Value"]["Token"]  # type: ignore[index]
# Verbatim Problems excerpt (reference §3.2, Alachua County).
PROBLEMS_VALUE = [
    {"ProblemSid": 18, "DomainId": 3, "ProblemCode": "DoorWall",
     "Description": "Door/Wall/Window Request", "OtherSysCode": "", "OtherSysDesc1": "",
     "OtherSysDesc2": ""},
    {"ProblemSid": 21, "DomainId": 3, "ProblemCode": "CarpetFlooring",
     "Description": "Carpet/Flooring Issue", "OtherSysCode": "", "OtherSysDesc1": "",
     "OtherSysDesc2": ""},
]  # fmt: skip


def ok(value: object) -> dict[str, object]:
    return {
        "Value": value,
        "Status": 0,
        "Message": None,
        "ErrorMessages": [],
        "WarningMessages": [],
        "SuccessMessages": [],
    }


def error(status: int, code: int, name: str, text: str) -> dict[str, object]:
    return {"Value": None, "Status": status, "Message": text, "WarningMessages": [],
            "SuccessMessages": [], "ErrorMessages": [{"MessageType": 2, "Code": code,
            "Service": "ServiceRequest", "Name": name, "DisplayText": text, "DebugDetails": "",
            "InnerMessage": None}]}  # fmt: skip


def form(request: object) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.text, keep_blank_values=True).items()}  # type: ignore[attr-defined]


def test_site_root_strips_the_services_path() -> None:
    assert site_root(f"{SITE}/Services/AMS") == SITE
    assert site_root(f"{SITE}/services/ams/") == SITE
    assert site_root(SITE) == SITE


def test_15x_posts_data_and_token_as_form_fields(requests_mock, make_integration) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=AUTH_OK)
    requests_mock.post(PROBLEMS, json=ok(PROBLEMS_VALUE))
    client = CityworksClient(make_integration())
    assert client.call("Ams/ServiceRequest/Problems", {"ForPublicOnly": True}) == PROBLEMS_VALUE
    login, call = requests_mock.request_history
    assert json.loads(form(login)["data"]) == {"LoginName": "scf-int", "Password": "Emu-Pass-7731"}
    assert "token" not in form(login)
    assert form(call)["token"] == TOKEN
    assert json.loads(form(call)["data"]) == {"ForPublicOnly": True}
    assert "Authorization" not in call.headers
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_23_sends_the_token_in_the_authorization_header(requests_mock, make_integration) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=AUTH_OK)
    requests_mock.post(PROBLEMS, json=ok([]))
    CityworksClient(make_integration(version="23.4")).call("Ams/ServiceRequest/Problems", {})
    call = requests_mock.request_history[1]
    assert call.headers["Authorization"] == f"cityworks {TOKEN}"
    assert "token" not in form(call)


def test_the_token_is_cached_and_renewed_once_on_status_2(requests_mock, make_integration) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, [{"json": AUTH_OK}, {"json": ok({"Token": "second-token-xyz"})}])
    requests_mock.post(
        PROBLEMS,
        [
            {"json": ok([])},
            {"json": error(2, 2, "Unauthorized", "expired")},
            {"json": ok(PROBLEMS_VALUE)},
        ],
    )
    client = CityworksClient(make_integration())
    client.call("Ams/ServiceRequest/Problems", {})
    assert client.call("Ams/ServiceRequest/Problems", {}) == PROBLEMS_VALUE
    paths = [r.path for r in requests_mock.request_history]
    assert paths.count("/cityworks/services/general/authentication/authenticate") == 2
    assert form(requests_mock.request_history[-1])["token"] == "second-token-xyz"


def test_status_2_twice_is_a_definite_error(requests_mock, make_integration) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=AUTH_OK)
    requests_mock.post(PROBLEMS, json=error(2, 2, "Unauthorized", "no"))
    with pytest.raises(DefiniteError, match="refused a fresh token"):
        CityworksClient(make_integration()).call("Ams/ServiceRequest/Problems", {})


@pytest.mark.parametrize("status", [1, 3])
def test_status_1_and_3_are_definite_with_display_text(
    requests_mock, make_integration, status: int
) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=AUTH_OK)
    requests_mock.post(CREATE, json=error(status, 30, "InvalidField", "X must be a number"))
    with pytest.raises(DefiniteError, match=r"X must be a number \(InvalidField\)"):
        CityworksClient(make_integration()).call("Ams/ServiceRequest/Create", {}, idempotent=False)


def test_a_refused_login_says_what_to_check(requests_mock, make_integration) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=error(3, 4, "InvalidCredentials", "Invalid credentials"))
    with pytest.raises(DefiniteError) as info:
        CityworksClient(make_integration()).call("Ams/ServiceRequest/Problems", {})
    assert "refused the login of user 'scf-int'" in str(info.value)
    assert "scf credentials set cityworks --env test" in str(info.value)


def test_no_password_is_a_config_error(make_integration) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="scf credentials set cityworks --env test"):
        CityworksClient(make_integration(password=None)).token()


@pytest.mark.parametrize(("response", "idempotent", "kind", "words"), [
    ({"status_code": 503, "text": "busy"}, True, TransientError, "unavailable (HTTP 503)"),
    ({"status_code": 503, "text": "busy"}, False, AmbiguousError, "unavailable (HTTP 503)"),
    ({"text": "<html><h2>Object moved to <a href='/login'>here</a></h2></html>",
      "headers": {"Content-Type": "text/html"}}, True, TransientError, "HTML (a login redirect)"),
    ({"text": "<html>Server Error in '/' Application.</html>"}, True, TransientError,
     "IIS/ASP.NET error page"),
    ({"text": '{"Value": [1, 2'}, True, TransientError, "not JSON"),
    ({"json": [1, 2]}, True, TransientError, "without the Status envelope"),
    ({"status_code": 404, "text": "nope"}, True, DefiniteError, "ends in /Services/AMS"),
    ({"exc": requests.exceptions.ConnectTimeout}, False, TransientError, "did not accept"),
    ({"exc": requests.exceptions.ReadTimeout}, True, TransientError, "did not answer"),
    ({"exc": requests.exceptions.ReadTimeout}, False, AmbiguousError, "may have been carried out"),
    ({"exc": requests.exceptions.ConnectionError("Connection reset by peer")}, False,
     AmbiguousError, "dropped"),
    ({"exc": requests.exceptions.ConnectionError("Connection refused")}, False, TransientError,
     "connection refused"),
    ({"exc": requests.exceptions.SSLError("cert verify failed")}, True, DefiniteError,
     "ca_bundle"),
])  # fmt: skip
def test_every_failure_maps_to_one_error_kind(
    requests_mock, make_integration, response, idempotent, kind, words
) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(AUTH, json=AUTH_OK)
    requests_mock.post(CREATE, **response)
    with pytest.raises(kind) as info:
        CityworksClient(make_integration()).call(
            "Ams/ServiceRequest/Create", {}, idempotent=idempotent
        )
    assert type(info.value) is kind or issubclass(type(info.value), kind)
    assert words in str(info.value)


def test_no_password_or_token_in_errors_or_logs(requests_mock, make_integration, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    requests_mock.post(AUTH, json=AUTH_OK)
    leaky = requests.exceptions.ConnectionError(
        f"HTTPConnectionPool: Max retries exceeded with url: /x?token={TOKEN}&password=Emu-Pass-7731"
    )
    requests_mock.post(PROBLEMS, exc=leaky)
    with pytest.raises(TransientError) as info:
        CityworksClient(make_integration()).call("Ams/ServiceRequest/Problems", {})
    from scf_plugins import redact

    text = str(info.value) + caplog.text
    assert TOKEN not in text and "Emu-Pass-7731" not in text
    assert TOKEN not in redact(f"token={TOKEN}") and redact(f"x {TOKEN} y") == "x *** y"
