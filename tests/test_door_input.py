"""What the door takes from a client and what it builds for one: a date no server can hold is
a 400 naming the field (never a 500), invisible formatting characters are refused in one-line
fields and email (and never shown by the GETs), and URLs come from the config or the bound
address, never the ``Host`` header."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import update

from scf_plugins.server.open311 import Open311
from scf_plugins.store.tables import comments, issues
from scf_plugins.testing import Door

REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole",
    "attribute[1]": "12",
    "attribute[2]": "resident@example.org",
}
BAD_DATES = [
    "2026-13-01T00:00:00Z",  # month 13
    "2026-01-32T00:00:00Z",  # day 32
    "0000-01-01T00:00:00Z",  # year 0
    "9999-12-31T23:59:59+14:00",  # the year-9999 edge: in Python's range, not the server's
    "9999-12-31T23:59:59-14:00",  # an offset that carries it past year 9999
    "0001-01-01T00:00:00+01:00",  # an offset that carries it before year 1
    "2026-01-01T00:00:00+24:00",  # no such offset
    "1969-12-31T23:59:59Z",  # before what the server handles
    "9999-12-31",  # a date alone, its day's end past year 9999
    "0001-01-01",  # a date alone, 90 days before it before year 1
]


def errors(response: requests.Response) -> str:
    """The descriptions of a JSON errors reply, one string."""
    return " ".join(e["description"] for e in response.json())


def report(door: Door, **fields: str) -> requests.Response:
    """POST a report with ``fields`` over the good ones."""
    return door.post("json", **{**REPORT, **fields})


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["start_date", "end_date"])
@pytest.mark.parametrize("resource", ["requests", "servicerequestupdates"])
def test_every_date_no_server_can_hold_is_a_400_naming_the_field(
    door: Door, resource: str, field: str
) -> None:
    for bad in BAD_DATES:
        response = door.get(f"/open311/v2/{resource}.json", **{field: bad})
        assert response.status_code == 400, (bad, response.text)
        assert errors(response).startswith(f"{field} {bad!r}"), bad


def test_a_posted_updates_date_is_checked_the_same(door: Door) -> None:
    issue_id = report(door).json()[0]["service_request_id"]
    for bad in BAD_DATES[:8]:
        response = requests.post(
            f"{door.url}/open311/v2/servicerequestupdates.json",
            data={"api_key": door.key, "service_request_id": issue_id, "update_id": "u1",
                  "status": "OPEN", "updated_datetime": bad, "description": "Still there"},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 400, (bad, response.text)
        assert f"updated_datetime {bad!r}" in errors(response)


def test_the_last_dates_the_server_handles_are_taken(door: Door) -> None:
    for start in ("9998-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1970-01-01"):
        response = door.get("/open311/v2/requests.json", start_date=start)
        assert response.status_code == 200, (start, response.text)
    response = door.get("/open311/v2/requests.json", end_date="1970-01-01T00:00:00+00:00")
    assert response.status_code == 200


def test_the_servers_own_failure_is_logged_as_the_servers(
    door: Door, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Open311) -> Any:
        raise RuntimeError("a bug in the door")

    monkeypatch.setattr(Open311, "services", broken)
    with caplog.at_level(logging.WARNING, logger="scf_plugins.server"):
        response = door.get("/open311/v2/services.json")
    assert response.status_code == 500 and "bug" not in response.text
    [line] = caplog.messages
    assert line.endswith("unexpected RuntimeError in the server: a bug in the door")
    assert "plugin" not in line


# -- invisible formatting characters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "char"),
    [
        ("address_string", "1 Main St \u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("first_name", "Zo\u2066ë", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("last_name", "Smith\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
        ("email", "zoe\u200b@example.org", "U+200B (ZERO WIDTH SPACE)"),
        ("phone", "\u061c203 555 0100", "U+061C (ARABIC LETTER MARK)"),
        ("address_string", "\ufeff1 Main St", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ],
)
def test_invisible_formatting_in_a_one_line_field_is_a_400_naming_it(
    door: Door, field: str, value: str, char: str
) -> None:
    response = report(door, **{field: value})
    assert response.status_code == 400, response.text
    text = errors(response)
    shown = "first_name" if field == "last_name" else field  # the name is one field
    assert f"{shown} contains an invisible formatting character, {char}" in text


def test_joiners_names_and_emoji_need_are_taken(door: Door) -> None:
    persian = "\u0645\u06cc\u200c\u0631\u0648\u06cc"  # a name with a zero-width non-joiner
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji sequence with joiners
    response = report(door, first_name=persian, last_name=family)
    assert response.status_code == 200, response.text


def test_an_override_in_the_description_is_kept_out_of_the_summary_and_the_gets(
    door: Door,
) -> None:
    response = report(door, description="Pothole \u202eetah\u202c here\nsecond \u2067line\u2069")
    assert response.status_code == 200, response.text
    issue_id = int(response.json()[0]["service_request_id"])
    record = door.store.get(issue_id)
    assert record is not None and record.issue.summary == "Pothole etah here"
    [served] = door.get(f"/open311/v2/requests/{issue_id}.json").json()
    assert served["description"] == "Pothole etah here\nsecond line"


def test_an_update_refuses_invisible_formatting_in_its_names_and_id(door: Door) -> None:
    issue_id = report(door).json()[0]["service_request_id"]
    base = {"api_key": door.key, "service_request_id": issue_id, "status": "OPEN",
            "updated_datetime": "2026-12-01T10:00:00Z", "description": "Still there"}  # fmt: skip
    url = f"{door.url}/open311/v2/servicerequestupdates.json"
    named = requests.post(url, data={**base, "update_id": "u1", "first_name": "Public\u202eWorks"},
                          timeout=10)  # fmt: skip
    assert named.status_code == 400 and "first_name and last_name" in errors(named)
    tagged = requests.post(url, data={**base, "update_id": "u\u2066"}, timeout=10)
    assert tagged.status_code == 400 and "update_id" in errors(tagged)


def test_scf_report_refuses_them_through_the_same_intake(run: Callable[..., Any]) -> None:
    result = run(
        "report", "--type", "GRAFFITI", "--summary", "rtl \u202e here", "--lat", "1", "--lng", "2"
    )
    assert result.exit_code == 1
    assert "--summary contains an invisible formatting character, U+202E" in result.output


def test_text_stored_before_is_never_served_raw(door: Door) -> None:
    issue_id = int(report(door).json()[0]["service_request_id"])
    with door.store.transaction() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id)
            .values(address="1 Main\u202e St\u200b", description="", summary="Hole \u2066x\u2069")
        )
        conn.execute(
            comments.insert().values(
                issue_id=issue_id, author="Testville 311", text="Crew \u202esent\u202c",
                kind="system", created_at=door.store.get(issue_id).issue.created_at,  # type: ignore[union-attr]
                push_attempted=False, attempts=0,
            )
        )  # fmt: skip
    for path in (f"/open311/v2/requests/{issue_id}.json", "/open311/v2/servicerequestupdates.json",
                 f"/open311/v2/requests/{issue_id}.xml"):  # fmt: skip
        body = door.get(path).content.decode("utf-8")
        for char in ("\u202e", "\u202c", "\u2066", "\u2069", "\u200b"):
            assert char not in body and f"\\u{ord(char):04x}" not in body, (path, char)
    [served] = door.get(f"/open311/v2/requests/{issue_id}.json").json()
    assert (served["address"], served["description"]) == ("1 Main St", "Hole x")
    assert served["status_notes"] == "Crew sent"


# -- URLs ------------------------------------------------------------------------------------


def test_urls_come_from_the_bound_address_never_the_host_header(door: Door) -> None:
    response = requests.get(
        f"{door.url}/open311/discovery.json", headers={"Host": "evil.example"}, timeout=10
    )
    assert response.status_code == 200
    [endpoint] = response.json()["endpoints"]
    assert endpoint["url"] == f"{door.url}/open311/v2"


def test_serve_beyond_loopback_needs_public_url(run: Callable[..., Any]) -> None:
    result = run("serve", "--host", "0.0.0.0", "--port", "0")  # noqa: S104 (it is refused)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "needs [server] public_url" in lines[0]
