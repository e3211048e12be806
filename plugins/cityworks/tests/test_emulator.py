"""The emulator's own wire behaviour, as the reference describes a Cityworks site."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime

import pytest
import requests
from freezegun import freeze_time
from scf_cityworks.emulator import Emulator

PW = "Emu-Pass-7731"


def login(emulator: Emulator, path: str = "Services/General/Authentication/Authenticate") -> str:
    r = requests.post(
        f"{emulator.root}/Cityworks/{path}",
        data={"data": json.dumps({"LoginName": "scf-int", "Password": PW})},
        timeout=5,
    )
    body = r.json()
    assert body["Status"] == 0, body
    return str(body["Value"]["Token"])


@pytest.mark.parametrize("path", [
    "Services/General/Authentication/Authenticate",
    "services/general/authentication/authenticate",
    "Services/authentication/authenticate",          # 2015-2017
    "services/Ams/Authentication/Authenticate",      # 2019
])  # fmt: skip
def test_authenticate_on_every_historic_path(emulator: Emulator, path: str) -> None:
    token = login(emulator, path)
    claims = json.loads(base64.b64decode(token))
    assert set(claims) == {
        "EmployeeSid",
        "Expires",
        "IssuedTime",
        "LoginName",
        "Signature",
        "Token",
    }
    assert claims["LoginName"] == "scf-int" and claims["Expires"] is None


def test_envelope_and_error_codes(emulator: Emulator) -> None:
    r = requests.post(
        f"{emulator.root}/Cityworks/Services/General/Authentication/Authenticate",
        data={"data": '{"LoginName":"scf-int","Password":"nope"}'},
        timeout=5,
    )
    body = r.json()
    assert r.status_code == 200 and body["Status"] == 3 and body["Value"] is None
    assert body["ErrorMessages"][0]["Name"] == "InvalidCredentials"
    assert set(body) == {
        "Value",
        "Status",
        "Message",
        "ErrorMessages",
        "WarningMessages",
        "SuccessMessages",
    }


@pytest.mark.parametrize("token_param", [None, "", "undefined", "null", "garbage"])
def test_calls_without_a_good_token_get_status_2(emulator: Emulator, token_param) -> None:  # type: ignore[no-untyped-def]
    data = {"data": "{}"} | ({"token": token_param} if token_param is not None else {})
    r = requests.post(f"{emulator.url}/ServiceRequest/Statuses", data=data, timeout=5)
    assert r.json()["Status"] == 2


def test_query_or_body_lenient_json_and_header_token(emulator: Emulator) -> None:
    token = login(emulator)
    # GET with single-quoted JSON and string booleans in the query, token in a header.
    r = requests.get(
        f"{emulator.root}/cityworks/SERVICES/ams/servicerequest/PROBLEMS",
        params={"data": "{'forpubliconly':'true','OnlyActiveTemplates':true}"},
        headers={"Authorization": f"Cityworks {token}"},
        timeout=5,
    )
    codes = {p["ProblemCode"] for p in r.json()["Value"]}
    assert "WATERMAIN" not in codes and "OLDTEMPLATE" not in codes and "POTHOLE" in codes
    # POST with an empty body and everything in the query (the Esri script's way).
    r = requests.post(
        f"{emulator.url}/ServiceRequest/QA",
        params={"data": '{"ProblemSid": 21}', "token": token},
        timeout=5,
    )
    assert [q["QuestionId"] for q in r.json()["Value"]["Questions"]] == [43, 44]
    # walker sends ProblemSids (a number) to ServiceRequest/QA.
    r = requests.post(
        f"{emulator.url}/ServiceRequest/QA",
        data={"data": '{"ProblemSids": 21}', "token": token},
        timeout=5,
    )
    assert r.json()["Value"]["ProblemSid"] == 21
    # Bearer works as well; and multipart form bodies are read.
    r = requests.post(
        f"{emulator.url}/ServiceRequest/Statuses",
        files={"data": (None, "{}")},
        headers={"Authorization": f"bearer {token}"},
        timeout=5,
    )
    assert "CLOSED" in [s["Code"] for s in r.json()["Value"]]


def test_create_by_ids_dates_and_field_names(emulator: Emulator) -> None:
    token = login(emulator)
    with freeze_time("2024-07-13 16:58:16"):
        r = requests.post(
            f"{emulator.url}/ServiceRequest/Create",
            data={
                "token": token,
                "data": json.dumps(
                    {
                        "ProblemSid": 21,
                        "Address": "1520 MARKET ST",
                        "X": -9171234.5,
                        "Y": 3456789.1,
                        "CallerFirstName": "Jane",
                        "OtherSystemId": "scf-1",
                    }
                ),
            },
            timeout=5,
        ).json()
    value = r["Value"]
    assert value["ProbAddress"] == "1520 MARKET ST" and "Address" not in value
    assert value["SRX"] == -9171234.5 and "X" not in value
    assert value["DateTimeInit"] == "2024-07-13T12:58:16"  # naive, America/New_York (EDT)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value["DateTimeInit"])
    assert value["SubmitTo"] == "Hayes, D" and value["SubmitToSid"] == 268
    assert value["DateTimeClosed"] is None and value["IsClosed"] is False
    rid = value["RequestId"]
    r = requests.post(
        f"{emulator.url}/ServiceRequest/ByIds",
        data={"token": token, "data": json.dumps({"RequestIds": [rid, 1]})},
        timeout=5,
    ).json()
    assert [v["RequestId"] for v in r["Value"]] == [rid]
    assert r["WarningMessages"][0]["Code"] == 60
    r = requests.post(
        f"{emulator.url}/ServiceRequest/ByOtherSystemId",
        data={"token": token, "data": '{"OtherSystemId": "scf-1"}'},
        timeout=5,
    ).json()
    assert r["Value"]["RequestId"] == rid
    r = requests.post(
        f"{emulator.url}/ServiceRequest/Create",
        data={"token": token, "data": '{"Details": "no problem sid"}'},
        timeout=5,
    ).json()
    assert r["Status"] == 1 and r["ErrorMessages"][0]["Code"] == 33


def test_control_interface_over_http(emulator: Emulator) -> None:
    rid = emulator.state.create({"ProblemSid": 101}, "scf-int")["RequestId"]

    def control(endpoint: str, **body: object) -> requests.Response:
        return requests.post(f"{emulator.root}/__emulator/{endpoint}", json=body, timeout=5)

    assert control("staff", action="close", request_id=rid).json()["IsClosed"] is True
    assert control("staff", action="comment", request_id=rid, text="To SCF: done").ok
    assert emulator.state.comments[rid][0]["AuthorName"] == "Hayes, D"
    assert control("staff", action="bogus", request_id=rid).status_code == 400
    assert control("fault", kind="503", count=1).ok
    r = requests.post(f"{emulator.url}/ServiceRequest/Statuses", timeout=5)
    assert r.status_code == 503
    assert control("requests").json()[0]["RequestId"] == rid
    assert control("counts").json()["ams/servicerequest/statuses"] == 1


@pytest.mark.parametrize("kind", ["reset", "drop_after_commit"])
def test_dropped_connections(emulator: Emulator, kind: str) -> None:
    token = login(emulator)
    emulator.state.inject(kind, match="servicerequest/create")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{emulator.url}/ServiceRequest/Create",
            data={"token": token, "data": '{"ProblemSid": 101}'},
            timeout=5,
        )
    assert len(emulator.state.requests) == (1 if kind == "drop_after_commit" else 0)


def test_html_and_malformed_faults(emulator: Emulator) -> None:
    token = login(emulator)
    emulator.state.inject("html")
    emulator.state.inject("malformed")
    r = requests.post(f"{emulator.url}/ServiceRequest/Statuses", data={"token": token}, timeout=5)
    assert r.headers["Content-Type"].startswith("text/html") and "Object moved" in r.text
    r = requests.post(f"{emulator.url}/ServiceRequest/Statuses", data={"token": token}, timeout=5)
    with pytest.raises(ValueError):
        r.json()


def test_the_emulator_clock_is_the_servers_local_time() -> None:
    with Emulator() as emulator, freeze_time(datetime(2024, 1, 15, 15, 0)):
        assert emulator.state.now() == "2024-01-15T10:00:00"
