"""The emulator speaks the Construct API's wire format: tokens from the password and refresh
grants, the bare token with the x-accela headers, Accela's envelopes and error codes,
multi-id reads in its own order, batch calls, multipart documents, and the faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from scf_accela.emulator import AccelaEmulator, AgencyState

from .conftest import APP_ID, APP_SECRET, PASSWORD


def _login(emulator: AccelaEmulator, **fields: str) -> requests.Response:
    form = {
        "grant_type": "password",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "username": "scf-int",
        "password": PASSWORD,
        "agency_name": "islandton",
        "environment": "TEST",
        "scope": "records settings",
        **fields,
    }
    return requests.post(
        f"{emulator.url}/oauth2/token", data=form, timeout=5, headers={"x-accela-appid": APP_ID}
    )


def _headers(token: str, **more: str) -> dict[str, str]:
    return {
        "Authorization": token,
        "x-accela-appid": APP_ID,
        "x-accela-agency": "ISLANDTON",
        "x-accela-environment": "TEST",
        **more,
    }


def _call(emulator: AccelaEmulator, token: str, method: str, path: str, **kw: Any) -> Any:
    return requests.request(
        method, f"{emulator.url}/v4/{path}", headers=_headers(token), timeout=5, **kw
    )


@pytest.fixture
def token(emulator: AccelaEmulator) -> str:
    answer = _login(emulator)
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == "900" and body["refresh_token"]
    return str(body["access_token"])


def test_the_password_grant_refuses_wrong_credentials_as_rfc_6749_errors(
    emulator: AccelaEmulator,
) -> None:
    wrong = _login(emulator, password="nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    assert _login(emulator, client_secret="nope").json()["error"] == "unauthorized_client"
    assert _login(emulator, environment="PRODX").status_code == 400


def test_a_call_needs_a_live_token_matching_its_headers(
    emulator: AccelaEmulator, agency: AgencyState, token: str
) -> None:
    no_token = requests.get(
        f"{emulator.url}/v4/records/X", timeout=5, headers={"x-accela-appid": APP_ID}
    )
    assert no_token.status_code == 401 and no_token.json()["code"] == "no_token"
    assert no_token.headers["x-accela-resp-code"] == "no_token"
    other = requests.get(
        f"{emulator.url}/v4/settings/records/types",
        timeout=5,
        headers=_headers(token, **{"x-accela-environment": "PROD"}),
    )
    assert other.status_code == 401 and other.json()["code"] == "invalid_token"
    bearer = requests.get(
        f"{emulator.url}/v4/settings/records/types", timeout=5, headers=_headers(f"Bearer {token}")
    )
    assert bearer.status_code == 200
    agency.expire_tokens()
    expired = _call(emulator, token, "GET", "settings/records/types")
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"


def test_a_refresh_token_works_once_and_not_after_its_eight_hours(
    emulator: AccelaEmulator, agency: AgencyState
) -> None:
    first = _login(emulator).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "refresh_token": first["refresh_token"],
    }
    renewed = requests.post(f"{emulator.url}/oauth2/token", data=form, timeout=5)
    assert renewed.status_code == 200 and renewed.json()["access_token"] != first["access_token"]
    again = requests.post(f"{emulator.url}/oauth2/token", data=form, timeout=5)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    agency.expire_tokens(refresh=True)
    form["refresh_token"] = renewed.json()["refresh_token"]
    lapsed = requests.post(f"{emulator.url}/oauth2/token", data=form, timeout=5)
    assert lapsed.status_code == 400


def test_records_are_made_read_in_the_servers_order_and_searched(
    emulator: AccelaEmulator, token: str
) -> None:
    made = []
    for n in range(3):
        answer = _call(
            emulator,
            token,
            "POST",
            "records",
            json={"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}, "shortNotes": f"m-{n}"},
        )
        assert answer.status_code == 200 and isinstance(answer.json()["result"], dict)
        made.append(answer.json()["result"]["id"])
    read = _call(emulator, token, "GET", f"records/{','.join(made)},NOPE-1")
    assert read.status_code == 200
    assert [r["id"] for r in read.json()["result"]] == sorted(made, reverse=True)
    found = _call(emulator, token, "POST", "search/records", json={"shortNotes": "m-1"})
    assert [r["id"] for r in found.json()["result"]] == [made[1]]
    refused = _call(emulator, token, "POST", "records", json={"type": {"id": "Nope-Nope-NA"}})
    assert refused.status_code == 400 and refused.json()["code"] == "data_validation_error"
    missing = _call(emulator, token, "GET", "records/NOPE-1")
    assert missing.status_code == 404 and missing.json()["code"] == "resource_not_found"


def test_custom_forms_refuse_an_unknown_field_and_a_wrong_date(
    emulator: AccelaEmulator, token: str
) -> None:
    rid = _call(
        emulator,
        token,
        "POST",
        "records",
        json={"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}},
    ).json()["result"]["id"]
    ok = _call(
        emulator,
        token,
        "PUT",
        f"records/{rid}/customForms",
        json=[{"id": "SR_GRAF-DETAILS", "Date Noticed": "03/04/2026"}],
    )
    assert ok.json()["result"] == [{"id": "SR_GRAF-DETAILS", "isSuccess": True}]
    unknown = _call(
        emulator,
        token,
        "PUT",
        f"records/{rid}/customForms",
        json=[{"id": "SR_GRAF-DETAILS", "Breed": "Cat"}],
    )
    assert unknown.status_code == 400 and "Can not found" in unknown.json()["message"]
    date = _call(
        emulator,
        token,
        "PUT",
        f"records/{rid}/customForms",
        json=[{"id": "SR_GRAF-DETAILS", "Date Noticed": "2026-03-04"}],
    )
    assert date.status_code == 400


def test_a_batch_answers_each_sub_request_in_order(emulator: AccelaEmulator, token: str) -> None:
    rid = _call(
        emulator,
        token,
        "POST",
        "records",
        json={"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}},
    ).json()["result"]["id"]
    _call(emulator, token, "POST", f"records/{rid}/comments", json=[{"text": "hello"}])
    answer = _call(
        emulator,
        token,
        "POST",
        "batch",
        json=[
            {"method": "GET", "relativeUrl": f"/v4/records/{rid}/comments"},
            {"method": "GET", "relativeUrl": "/v4/records/NOPE-2/comments"},
        ],
    )
    first, second = answer.json()["result"]
    assert first["status"] == 200 and [c["text"] for c in first["result"]] == ["hello"]
    assert second["status"] == 404 and second["code"] == "resource_not_found"


def test_documents_are_taken_as_multipart_with_their_file_info(
    emulator: AccelaEmulator, agency: AgencyState, token: str
) -> None:
    rid = _call(
        emulator,
        token,
        "POST",
        "records",
        json={"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}},
    ).json()["result"]["id"]
    info = json.dumps([{"fileName": "a.jpg", "type": "image/jpeg", "description": "Photo"}])
    answer = _call(
        emulator,
        token,
        "POST",
        f"records/{rid}/documents?group=SR",
        files={"uploadedFile": ("a.jpg", b"\xff\xd8jpeg", "image/jpeg")},
        data={"fileInfo": info},
    )
    [result] = answer.json()["result"]
    assert result["isSuccess"] and agency.files[result["id"]] == b"\xff\xd8jpeg"
    [listed] = _call(emulator, token, "GET", f"records/{rid}/documents").json()["result"]
    assert (listed["fileName"], listed["group"]["value"]) == ("a.jpg", "SR")


def test_faults_hit_only_the_calls_they_match(
    emulator: AccelaEmulator, agency: AgencyState, token: str
) -> None:
    agency.inject("503", match="get /v4/settings/")
    assert _call(emulator, token, "POST", "search/records", json={}).status_code == 200
    assert _call(emulator, token, "GET", "settings/records/types").status_code == 503
    agency.inject("emse_error", match="post /v4/records ")
    made = _call(
        emulator,
        token,
        "POST",
        "records",
        json={"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}},
    ).json()
    assert made["code"] == "emse_error" and made["result"]["id"]
    with pytest.raises(ValueError, match="unknown fault"):
        agency.inject("meteor")
    assert len(agency.faults) == 0
