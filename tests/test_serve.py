"""The Open311 door over real loopback HTTP: the reference's conformance checklist point by
point, in JSON and XML, FixMyStreet's and the spec's styles, every refusal, and privacy.

The numbers in test names are the checklist's (reference/open311-georeport-v2.md, §13).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import xmltodict
from sqlalchemy import update

from scf_plugins.engine.posting import post as post_message
from scf_plugins.server.apikeys import create, revoke
from scf_plugins.store.tables import issues
from scf_plugins.testing import wait_for

from .served import Door

LISTS = (
    "service",
    "attribute",
    "value",
    "request",
    "error",
    "request_update",
    "endpoint",
    "format",
)
GOOD = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole\nBy the school gate.",
    "attribute[1]": "12",
    "attribute[2]": "private-answer@example.org",
}


def xml(response: requests.Response) -> Any:
    """An XML answer parsed as FixMyStreet parses it (single items still lists)."""
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return xmltodict.parse(response.content, force_list=LISTS)


def body(response: requests.Response, fmt: str) -> Any:
    if fmt == "json":
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        return response.json()
    return xml(response)


def errors_of(response: requests.Response, fmt: str) -> list[dict[str, Any]]:
    data = body(response, fmt)
    items = data if fmt == "json" else data["errors"]["error"]
    for item in items:
        assert int(item["code"]) == response.status_code
    return list(items)


# -- discovery and services -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_25_discovery_in_both_formats(door: Door, fmt: str) -> None:
    response = door.get(f"/open311/discovery.{fmt}")
    assert response.status_code == 200
    data = body(response, fmt)
    doc = data if fmt == "json" else data["discovery"]
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(doc)
    endpoints = doc["endpoints"] if fmt == "json" else doc["endpoints"]["endpoint"]
    [endpoint] = endpoints
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{door.url}/open311/v2"
    formats = endpoint["formats"] if fmt == "json" else endpoint["formats"]["format"]
    assert "text/xml" in formats and "application/json" in formats


def test_1_2_services_xml(door: Door) -> None:
    response = door.get("/open311/v2/services.xml")
    assert response.status_code == 200
    services = xml(response)["services"]["service"]
    assert [s["service_code"] for s in services] == ["GRAFFITI", "POTHOLE", "SIGNS"]
    for s in services:
        assert {"service_code", "service_name", "description", "metadata", "type"} <= set(s)
        assert s["type"] == "realtime"
    assert {s["service_code"]: s["metadata"] for s in services} == {
        "GRAFFITI": "false",
        "POTHOLE": "true",
        "SIGNS": "true",
    }


def test_3_json_is_the_spark_mapping(door: Door) -> None:
    services = body(door.get("/open311/v2/services.json"), "json")
    assert isinstance(services, list) and services[1]["metadata"] is True
    definition = body(door.get("/open311/v2/services/POTHOLE.json"), "json")
    assert isinstance(definition, dict) and isinstance(definition["attributes"], list)


@pytest.mark.parametrize("path", ["/open311/v2/services", "/open311/v2/services.html",
                                  "/open311/v2/requests.csv", "/open311/discovery.txt"])  # fmt: skip
def test_4_a_missing_or_unknown_suffix_is_a_404_not_html(door: Door, path: str) -> None:
    response = door.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert "<html" not in response.text.lower()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_5_6_7_the_definition(door: Door, fmt: str) -> None:
    data = body(door.get(f"/open311/v2/services/POTHOLE.{fmt}"), fmt)
    definition = data if fmt == "json" else data["service_definition"]
    assert definition["service_code"] == "POTHOLE"
    attributes = (
        definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    )
    keys = {"variable", "code", "datatype", "required", "datatype_description", "order",
            "description"}  # fmt: skip
    datatypes = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
    for attribute in attributes:
        assert keys <= set(attribute)
        assert attribute["datatype"] in datatypes
    orders = [int(a["order"]) for a in attributes]
    assert orders == [1, 2, 3, 4, 5]
    by_code = {a["code"]: a for a in attributes}
    lane = by_code["1"]
    values = lane["values"] if fmt == "json" else lane["values"]["value"]
    assert lane["datatype"] == "singlevaluelist"
    assert [(v["key"], v["name"]) for v in values] == [("11", "Yes"), ("12", "No")]
    assert by_code["3"]["datatype"] == "datetime" and "values" not in by_code["3"]
    assert by_code["2"]["datatype"] == "text"
    # The follow-up question: not required, and its hint says when it applies.
    deep = by_code["4"]
    assert str(deep["required"]).lower() == "false"
    assert "In a travel lane? is 'Yes'" in deep["datatype_description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_8_an_unknown_service_is_a_404_in_the_format_asked(door: Door, fmt: str) -> None:
    response = door.get(f"/open311/v2/services/NOPE.{fmt}")
    assert response.status_code == 404
    [error] = errors_of(response, fmt)
    assert "NOPE" in error["description"]


# -- POST ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_9_a_missing_wrong_or_revoked_key_is_a_403(door: Door, fmt: str) -> None:
    for key in ("", "scf_wrong", door.key + "x"):
        response = door.post(fmt, key=key, **GOOD)
        assert response.status_code == 403, key
        assert "api_key" in errors_of(response, fmt)[0]["description"]
    accepted = door.post(fmt, **GOOD)
    assert accepted.status_code == 200, accepted.text
    revoke(door.store, "fixmystreet", actor="test")
    assert door.post(fmt, **GOOD).status_code == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_10_service_code_missing_is_400_unknown_is_404(door: Door, fmt: str) -> None:
    fields = {k: v for k, v in GOOD.items() if k != "service_code"}
    response = door.post(fmt, **fields)
    assert response.status_code == 400
    assert "service_code" in errors_of(response, fmt)[0]["description"]
    response = door.post(fmt, **{**GOOD, "service_code": "NOPE"})
    assert response.status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_11_a_location_is_required_and_lat_needs_long(door: Door, fmt: str) -> None:
    fields = {k: v for k, v in GOOD.items() if k not in ("lat", "long")}
    response = door.post(fmt, **fields)
    assert response.status_code == 400
    assert "lat and long" in errors_of(response, fmt)[0]["description"]
    response = door.post(fmt, **fields, lat="41.3")
    assert response.status_code == 400
    assert "long is required" in errors_of(response, fmt)[0]["description"]
    response = door.post(fmt, **{**GOOD, "lat": "91"})
    assert response.status_code == 400
    assert "lat 91.0 is out of range" in errors_of(response, fmt)[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_12_required_attributes_list_keys_and_a_blank_optional_list(door: Door, fmt: str) -> None:
    fields = {k: v for k, v in GOOD.items() if k != "attribute[2]"}
    response = door.post(fmt, **fields)
    assert response.status_code == 400
    assert "attribute[2]" in errors_of(response, fmt)[0]["description"]
    response = door.post(fmt, **{**GOOD, "attribute[1]": "13"})
    assert response.status_code == 400
    assert "not an option" in errors_of(response, fmt)[0]["description"]
    # The follow-up list, unpicked, arrives blank (FixMyStreet): accepted as no answer.
    response = door.post(fmt, **{**GOOD, "attribute[1]": "12", "attribute[4]": ""})
    assert response.status_code == 200


def test_several_problems_are_several_errors(door: Door) -> None:
    response = door.post(
        "xml",
        service_code="POTHOLE",
        lat="41.3",
        email="not-an-email",
        **{"attribute[1]": "Maybe"},
    )
    assert response.status_code == 400
    texts = [e["description"] for e in errors_of(response, "xml")]
    assert len(texts) == 4, texts
    assert any("long is required" in t for t in texts)
    assert any("email" in t for t in texts)
    assert any("'Maybe'" in t and "question 1" in t for t in texts)
    assert any("attribute[2]" in t for t in texts)
    assert door.get("/open311/v2/requests.json").json() == []  # nothing half-written


def test_13_both_forms_of_a_list_attribute_are_read(door: Door) -> None:
    """``attribute[c][]`` (the spec) and plain ``attribute[c]`` (FixMyStreet) both arrive; a
    single-choice question given two values is refused by name."""
    pairs = [(k, v) for k, v in GOOD.items() if k != "attribute[1]"]
    assert door.post_pairs("json", [*pairs, ("attribute[1][]", "12")]).status_code == 200
    assert door.post_pairs("json", [*pairs, ("attribute[1]", "No")]).status_code == 200
    response = door.post_pairs("json", [*pairs, ("attribute[1]", "11"), ("attribute[1]", "12")])
    assert response.status_code == 400
    assert "attribute[1] takes one value" in response.json()[0]["description"]


def test_14_non_ascii_round_trips_and_15_realtime_answers_an_id(door: Door) -> None:
    text = "Nid-de-poule profond près de l'école — 深い穴 🕳"
    response = door.post("xml", **{**GOOD, "description": text})
    assert response.status_code == 200
    [answer] = xml(response)["service_requests"]["request"]
    assert answer["service_request_id"].isdigit() and "token" not in answer
    assert answer["service_notice"]
    shown = door.get(f"/open311/v2/requests/{answer['service_request_id']}.json").json()
    assert shown[0]["description"] == text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_16_tokens_are_404_every_service_is_realtime(door: Door, fmt: str) -> None:
    response = door.get(f"/open311/v2/tokens/abc.{fmt}")
    assert response.status_code == 404
    assert "realtime" in errors_of(response, fmt)[0]["description"]


# -- GET requests ------------------------------------------------------------------------------


def _age(door: Door, issue_id: int, days: float) -> None:
    when = datetime.now(UTC) - timedelta(days=days)
    with door.store.transaction() as conn:
        conn.execute(
            update(issues).where(issues.c.id == issue_id).values(created_at=when, updated_at=when)
        )


def _report(door: Door, **fields: str) -> int:
    response = door.post("json", **{**GOOD, **fields})
    assert response.status_code == 200, response.text
    return int(response.json()[0]["service_request_id"])


def test_17_the_default_is_the_last_90_days_and_at_most_1000(door: Door) -> None:
    old, new = _report(door), _report(door)
    _age(door, old, 91)
    listed = door.get("/open311/v2/requests.xml")
    ids = [r["service_request_id"] for r in xml(listed)["service_requests"]["request"]]
    assert ids == [str(new)]
    page = door.get("/open311/v2/requests.json", page_size="1", page="1").json()
    assert len(page) == 1
    assert door.get("/open311/v2/requests.json", page="2").json() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_18_dates_filter_and_bad_ones_are_400(door: Door, fmt: str) -> None:
    old, new = _report(door), _report(door)
    _age(door, old, 30)
    start = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    got = door.get("/open311/v2/requests.json", start_date=start, end_date=end).json()
    assert [r["service_request_id"] for r in got] == [str(old)]
    for bad in (
        {"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"},
        {"start_date": "2024-01-01T00:00:00"},
        {"end_date": "yesterday"},
    ):
        response = door.get(f"/open311/v2/requests.{fmt}", **bad)
        assert response.status_code == 400, bad
        assert errors_of(response, fmt)
    assert new


def test_19_status_and_service_code_lists_and_ids_override(door: Door) -> None:
    a, b = _report(door), _report(door)
    with door.store.transaction() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == b)
            .values(status="closed", closed_at=datetime.now(UTC))
        )

    def ids(**params: str) -> list[str]:
        return [r["service_request_id"] for r in door.get("/open311/v2/requests.json",
                                                          **params).json()]  # fmt: skip

    assert ids(status="open") == [str(a)]
    assert ids(status="closed") == [str(b)]
    assert sorted(ids(status="open,closed")) == sorted([str(a), str(b)])
    assert ids(service_code="GRAFFITI") == []
    assert sorted(ids(service_code="GRAFFITI,POTHOLE")) == sorted([str(a), str(b)])
    # service_request_id overrides every other filter, even ones that exclude it.
    assert ids(service_request_id=f"{b}", status="open", service_code="GRAFFITI") == [str(b)]
    assert door.get("/open311/v2/requests.json", status="fixed").status_code == 400


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_20_21_22_a_request_record(door: Door, fmt: str) -> None:
    issue_id = _report(door)
    closed_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with door.store.transaction() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id)
            .values(status="closed", closed_at=closed_at, updated_at=closed_at + timedelta(1))
        )
        post_message(conn, door.settings, issue_id, "Fixed: the hole is filled.")
    response = door.get(f"/open311/v2/requests/{issue_id}.{fmt}")
    assert response.status_code == 200
    data = body(response, fmt)
    records = data if fmt == "json" else data["service_requests"]["request"]
    [record] = records
    required = {"service_request_id", "status", "service_name", "service_code",
                "requested_datetime", "updated_datetime", "address", "address_id", "zipcode",
                "lat", "long", "media_url"}  # fmt: skip
    assert required <= set(record)
    assert record["status"] == "closed"
    assert record["updated_datetime"] == "2026-01-02T03:04:05Z"  # the closure time
    assert record["status_notes"] == "Fixed: the hole is filled."
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["requested_datetime"])
    assert float(record["lat"]) == 41.3083 and float(record["long"]) == -72.9279
    if fmt == "xml":
        assert b"null" not in response.content
    missing = door.get(f"/open311/v2/requests/99999.{fmt}")
    assert missing.status_code == 404 and errors_of(missing, fmt)
    assert door.get(f"/open311/v2/requests/x1.{fmt}").status_code == 404


def test_23_an_empty_parameter_is_the_same_as_none(door: Door) -> None:
    _report(door)
    everything = door.get("/open311/v2/requests.json").json()
    blank = door.get(
        "/open311/v2/requests.json",
        service_request_id="",
        service_code="",
        status="",
        start_date="",
        end_date="",
        jurisdiction_id="",
        page="",
        page_size="",
    ).json()
    assert blank == everything and len(everything) == 1
    assert door.post("json", **GOOD, address_string="", email="", phone="").status_code == 200


def test_24_a_single_jurisdiction_server_knows_only_its_own(door: Door) -> None:
    assert door.get("/open311/v2/services.json", jurisdiction_id="testville.gov").ok
    wrong = door.get("/open311/v2/services.xml", jurisdiction_id="elsewhere.gov")
    assert wrong.status_code == 404 and "elsewhere.gov" in errors_of(wrong, "xml")[0]["description"]
    assert door.post("json", **GOOD, jurisdiction_id="elsewhere.gov").status_code == 404


# -- clients' styles -------------------------------------------------------------------------


def test_fixmystreet_style(door: Door) -> None:
    """XML, names split in two, repeated plain attribute keys, a blank optional list, extra
    attributes of its own, non-ASCII text, and a description longer than the limit."""
    long_text = "Pothole on Ærø Street\n" + "Details. " * 800 + "\nhttps://fms.example/report/1"
    pairs = [
        ("service_code", "POTHOLE"), ("lat", "41.3083"), ("long", "-72.9279"),
        ("description", long_text), ("first_name", "Zoë"), ("last_name", "Ng"),
        ("email", "zoe@example.org"), ("media_url", "https://fms.example/photo/1.jpeg"),
        ("attribute[1]", "no"), ("attribute[4]", ""), ("attribute[2]", "z@example.org"),
        ("attribute[uprn]", "100012345"), ("deviceid", "abc"),
    ]  # fmt: skip
    response = door.post_pairs("xml", pairs)
    assert response.status_code == 200, response.text
    [answer] = xml(response)["service_requests"]["request"]
    got = door.get(f"/open311/v2/requests/{answer['service_request_id']}.xml")
    [record] = xml(got)["service_requests"]["request"]
    assert record["description"].startswith("Pothole on Ærø Street\nDetails.")
    assert record["description"].endswith(" […]") and len(record["description"]) == 5000
    assert record["media_url"] == "https://fms.example/photo/1.jpeg"


def test_the_specs_style(door: Door) -> None:
    """JSON, ``attribute[c][]``, a date-time answer to a date question (a form's
    datetime-local) kept as its date."""
    pairs = [(k, v) for k, v in GOOD.items() if not k.startswith("attribute")]
    pairs += [("attribute[1][]", "12"), ("attribute[2][]", "a@example.org"),
              ("attribute[3]", "2026-05-01T13:45")]  # fmt: skip
    response = door.post_pairs("json", pairs)
    assert response.status_code == 200, response.text
    issue_id = int(response.json()[0]["service_request_id"])
    record = door.store.get(issue_id)
    assert record is not None
    answers = {a.question_id: a.answer for a in record.issue.answers}
    assert answers == {"1": "No", "2": "a@example.org", "3": "2026-05-01"}
    assert record.reported_via == "fixmystreet"


def test_an_address_alone_is_placed_by_the_geocoder(make_door: Callable[..., Door]) -> None:
    door = make_door(geocoder=True)
    fields = {k: v for k, v in GOOD.items() if k not in ("lat", "long")}
    response = door.post("json", **fields, address_string="1 Main St")
    assert response.status_code == 200, response.text
    record = door.store.get(int(response.json()[0]["service_request_id"]))
    assert record is not None and (record.issue.lat, record.issue.lng) == (41.31, -72.92)
    refused = door.post("xml", **fields, address_string="Nowhere Lane")
    assert refused.status_code == 400
    text = errors_of(refused, "xml")[0]["description"]
    assert "could not be placed (no candidates)" in text and "lat and long" in text


def test_an_address_alone_without_a_geocoder_is_refused_naming_what_is_needed(
    door: Door,
) -> None:
    fields = {k: v for k, v in GOOD.items() if k not in ("lat", "long")}
    response = door.post("json", **fields, address_string="1 Main St")
    assert response.status_code == 400
    assert (
        "no geocoder serves service POTHOLE; send lat and long" in response.json()[0]["description"]
    )


# -- privacy ---------------------------------------------------------------------------------


def test_no_get_shows_private_answers_or_the_reporter(door: Door) -> None:
    issue_id = _report(
        door, email="jane@example.org", first_name="Jane", last_name="Secretname",
        phone="+1 203 555 0100",
    )  # fmt: skip
    with door.store.transaction() as conn:
        post_message(conn, door.settings, issue_id, "Received.")
    paths = ["/open311/v2/services.{f}", "/open311/v2/services/POTHOLE.{f}",
             "/open311/v2/requests.{f}", f"/open311/v2/requests/{issue_id}.{{f}}",
             "/open311/v2/servicerequestupdates.{f}", "/open311/discovery.{f}"]  # fmt: skip
    for path in paths:
        for fmt in ("json", "xml"):
            text = door.get(path.format(f=fmt)).text
            for secret in ("jane@example.org", "Secretname", "555 0100",
                           "private-answer@example.org", door.key):  # fmt: skip
                assert secret not in text, (path, fmt, secret)


# -- limits and keys -------------------------------------------------------------------------


def test_the_rate_limit_answers_429_with_retry_after(make_door: Callable[..., Door]) -> None:
    door = make_door(rpm=2)
    assert door.post("json", **GOOD).status_code == 200
    assert door.post("json", **GOOD).status_code == 200
    response = door.post("xml", **GOOD)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert "try again" in errors_of(response, "xml")[0]["description"]


def test_a_body_over_the_cap_is_refused_unread(door: Door) -> None:
    response = door.post("json", **{**GOOD, "description": "x" * 20_000})
    assert response.status_code == 413
    assert "16 KB" in response.json()[0]["description"]
    assert door.get("/open311/v2/requests.json").json() == []


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"service_code=POTHOLE&description=%FF%FE", "application/x-www-form-urlencoded"),
        (b'{"service_code": "POTHOLE"}', "application/json"),
        (b"&".join(b"a=%d" % i for i in range(600)), "application/x-www-form-urlencoded"),
    ],
)
def test_bodies_that_are_not_utf8_forms_are_400(door: Door, content: bytes, kind: str) -> None:
    response = requests.post(
        f"{door.url}/open311/v2/requests.json",
        data=content,
        headers={"Content-Type": kind},
        timeout=10,
    )
    assert response.status_code in (400, 403)
    assert response.json()[0]["description"]


def test_api_keys_on_the_command_line(run: Callable[..., Any]) -> None:
    made = run("api-keys", "create", "fixmystreet")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("scf_") and len(key) > 40
    listed = run("api-keys", "list", "--json")
    assert key not in listed.stdout
    [entry] = json.loads(listed.stdout)
    assert entry["name"] == "fixmystreet" and entry["active"] is True
    again = run("api-keys", "create", "fixmystreet")
    assert again.exit_code == 1 and "exists already" in again.output
    bad = run("api-keys", "create", "no spaces please")
    assert bad.exit_code == 1 and "not usable" in bad.output
    assert run("api-keys", "revoke", "fixmystreet").exit_code == 0
    [entry] = json.loads(run("api-keys", "list", "--json").stdout)
    assert entry["active"] is False and entry["revoked_at"]
    twice = run("api-keys", "revoke", "fixmystreet")
    assert twice.exit_code == 1 and "revoked already" in twice.output
    assert run("api-keys", "revoke", "nobody").exit_code == 1


def test_the_access_log_names_the_key_never_the_key_or_the_query(
    door: Door, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="scf_plugins.server.access"):
        door.post("json", **GOOD)
        door.get("/open311/v2/servicerequestupdates.json", api_key=door.key)

        # The line is written once the answer is sent, on the server's thread: wait for it.
        def logged() -> list[logging.LogRecord] | None:
            lines = [r for r in caplog.records if r.name == "scf_plugins.server.access"]
            return lines if len(lines) >= 2 else None

        lines = wait_for(logged, 5, "the access log's two lines")
    assert [(r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("POST", "/open311/v2/requests.json", 200),
        ("GET", "/open311/v2/servicerequestupdates.json", 200),
    ]
    assert lines[0].api_key == "fixmystreet"  # type: ignore[attr-defined]
    assert all(door.key not in r.getMessage() for r in lines)
    assert all(isinstance(r.duration_ms, float) for r in lines)  # type: ignore[attr-defined]


def test_healthz_without_an_engine(door: Door) -> None:
    response = door.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "sync": False,
        "last_pass_at": None,
        "last_pass_age_seconds": None,
    }


# -- hostile clients and odd data ------------------------------------------------------------


def test_a_slow_client_holds_up_nobody(door: Door) -> None:
    """A connection trickling its headers (slowloris) does not stop others being served."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(door.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as slow:
        slow.sendall(b"GET /open311/v2/services.json HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for _ in range(3):
            assert door.get("/open311/v2/services.json").status_code == 200
            slow.sendall(b"a")


def test_a_declared_huge_body_is_refused_before_it_is_sent(door: Door) -> None:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(door.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(
            b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 50000000\r\n\r\nservice_code=POTHOLE"
        )
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413")


def test_too_many_ids_or_query_fields_are_400(door: Door) -> None:
    ids = ",".join(str(i) for i in range(1, 1002))
    response = door.get("/open311/v2/requests.json", service_request_id=ids)
    assert response.status_code == 400 and "at most 1000" in response.json()[0]["description"]
    flood = "&".join(f"x{i}=1" for i in range(600))
    response = requests.get(f"{door.url}/open311/v2/requests.xml?{flood}", timeout=10)
    assert response.status_code == 400
    assert "too many fields" in errors_of(response, "xml")[0]["description"]


def test_text_no_xml_or_utf8_can_hold_never_breaks_a_get(door: Door) -> None:
    """A message stored before the store cleaned such text (a lone surrogate, U+FFFF, a
    control character) is left out of XML and escaped in JSON; the GET still answers."""
    from scf_plugins.store.tables import comments

    issue_id = _report(door)
    with door.store.transaction() as conn:  # past the store's cleaning, on any database
        conn.execute(
            comments.insert().values(
                issue_id=issue_id, author="x", text="odd \x0b text \uffff here", kind="system",
                created_at=datetime.now(UTC), push_attempted=False, attempts=0,
            )
        )  # fmt: skip
    for fmt in ("json", "xml"):
        response = door.get(f"/open311/v2/requests/{issue_id}.{fmt}")
        assert response.status_code == 200
    [record] = xml(door.get(f"/open311/v2/requests/{issue_id}.xml"))["service_requests"]["request"]
    assert record["status_notes"] == "odd  text  here"


def test_render_escapes_what_utf8_cannot_carry() -> None:
    from scf_plugins.server.formats import render

    assert json.loads(render("json", "x", [{"a": "b\ud800c"}])) == [{"a": "b\ud800c"}]
    assert b"<a>bc</a>" in render("xml", "x", [{"a": "b\ud800c"}])


def test_ids_that_are_not_plain_digits_match_nothing(door: Door) -> None:
    """'²' is a digit to Python but no issue id: nothing matches, and nothing fails."""
    for path in ("requests", "servicerequestupdates"):
        response = door.get(f"/open311/v2/{path}.json", service_request_id="²,1e3, 7 ")
        assert response.status_code == 200 and response.json() == []
    assert door.get("/open311/v2/requests/².json").status_code == 404


# -- POST servicerequestupdates (mySociety) -----------------------------------------------------


def post_update(door: Door, fmt: str = "xml", key: str | None = None, **fields: str) -> Any:
    """An update as FixMyStreet posts one when a resident comments."""
    data = {
        "api_key": door.key if key is None else key,
        "update_id": "fms-7",
        "status": "OPEN",
        "updated_datetime": "2026-12-01T10:00:00Z",
        "description": "Still there, and deeper.",
        "first_name": "Zoë",
        "last_name": "-",
        "email": "zoe@example.org",
        **fields,
    }
    return requests.post(
        f"{door.url}/open311/v2/servicerequestupdates.{fmt}", data=data, timeout=10
    )


def test_a_posted_update_is_a_local_comment_once_and_never_echoed(
    make_door: Callable[..., Door],
) -> None:
    door = make_door(server="updates_from_any_key = true\n")  # for another client's update
    issue_id = door.post(**GOOD).json()[0]["service_request_id"]
    response = post_update(door, service_request_id=issue_id)
    assert response.status_code == 200, response.text
    [item] = xml(response)["service_request_updates"]["request_update"]
    again = post_update(door, "json", service_request_id=issue_id)  # a retry: the same one
    assert again.status_code == 200 and again.json() == [{"update_id": item["update_id"]}]
    # another client's update_id is its own
    other = create(door.store, "another-client", actor="test")
    third = post_update(door, "json", key=other, service_request_id=issue_id)
    assert third.json()[0]["update_id"] != item["update_id"]
    record = door.store.get(int(issue_id))
    assert record is not None
    mine = [c for c in record.comments if c.kind == "comment"]
    assert [(c.author, c.text) for c in mine] == [("Zoë", "Still there, and deeper.")] * 2
    assert str(mine[0].id) == item["update_id"]
    feed = door.get("/open311/v2/servicerequestupdates.json").json()
    assert "Still there, and deeper." not in json.dumps(feed)  # not read back as the city's


def test_a_bad_update_is_refused_with_each_problem(door: Door) -> None:
    issue_id = door.post(**GOOD).json()[0]["service_request_id"]
    missing = post_update(door, "json", service_request_id=issue_id, update_id="", status="",
                          updated_datetime="", description="")  # fmt: skip
    assert missing.status_code == 400
    texts = " ".join(e["description"] for e in errors_of(missing, "json"))
    for field in ("update_id", "status", "updated_datetime", "description"):
        assert f"{field} is required" in texts
    naive = post_update(door, "xml", service_request_id=issue_id,
                        updated_datetime="2026-12-01 10:00")  # fmt: skip
    assert naive.status_code == 400 and "is not a W3C datetime" in naive.text
    control = post_update(door, "json", service_request_id=issue_id, description="a\x1b[2Jb")
    assert control.status_code == 400 and "control character" in control.text
    assert post_update(door, "json", service_request_id="99999").status_code == 404
    assert post_update(door, "json", service_request_id="1e3").status_code == 404
    assert post_update(door, "json", key="wrong", service_request_id=issue_id).status_code == 403
    multipart = requests.post(
        f"{door.url}/open311/v2/servicerequestupdates.json",
        data={"api_key": door.key}, files={"photo1": ("a.jpg", b"x")}, timeout=10,
    )  # fmt: skip
    assert multipart.status_code == 400 and "x-www-form-urlencoded" in multipart.text
    record = door.store.get(int(issue_id))
    assert record is not None and not [c for c in record.comments if c.kind == "comment"]
    wrong_place = requests.post(f"{door.url}/open311/v2/services.json", timeout=10)
    assert wrong_place.status_code == 405 and "servicerequestupdates" in wrong_place.text
