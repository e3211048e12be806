"""Answers every client can read: 404 and 405 in the format the path asks for, W3C dates
without a time in the filters, a key sent in a POST's URL refused with where it belongs,
and CORS for the browser apps the config names (none by default)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import xmltodict
from sqlalchemy import update

from scf_plugins.store.tables import issues
from scf_plugins.testing import Door, FakeRemote, Harness

from .conftest import BASIC
from .test_serve import GOOD, errors_of

APP = "https://app.example.gov"


# -- 404 and 405 -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "path",
    ["/open311/v2/nothing.{fmt}", "/open311/v2/services/POTHOLE/more.{fmt}",
     "/open311/nothing.{fmt}", "/nowhere.{fmt}", "/open311/v2/REQUESTS.{fmt}"],
)  # fmt: skip
def test_a_404_is_in_the_format_of_the_path(door: Door, path: str, fmt: str) -> None:
    response = door.get(path.format(fmt=fmt))
    assert response.status_code == 404
    [error] = errors_of(response, fmt)
    assert "no such resource" in error["description"]


@pytest.mark.parametrize("path", ["/open311/v2/services", "/open311/v2/requests.csv", "/nowhere"])
def test_a_404_without_a_format_is_plain_text(door: Door, path: str) -> None:
    response = door.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "OPTIONS"])
def test_a_405_is_in_the_format_of_the_path_with_allow(door: Door, method: str, fmt: str) -> None:
    response = requests.request(method, f"{door.url}/open311/v2/requests.{fmt}", timeout=10)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    [error] = errors_of(response, fmt)
    assert f"{method} is not allowed" in error["description"]


def test_a_405_without_a_format_is_plain_text(door: Door) -> None:
    response = requests.post(f"{door.url}/healthz", timeout=10)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "POST is not allowed" in response.text


# -- dates without a time --------------------------------------------------------------------


def _reported_at(door: Door, when: datetime) -> int:
    response = door.post("json", **GOOD)
    assert response.status_code == 200, response.text
    issue_id = int(response.json()[0]["service_request_id"])
    with door.store.transaction() as conn:
        conn.execute(
            update(issues).where(issues.c.id == issue_id).values(created_at=when, updated_at=when)
        )
    return issue_id


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_date_alone_is_that_utc_day_from_its_start_or_to_its_end(door: Door, fmt: str) -> None:
    late = _reported_at(door, datetime(2025, 3, 10, 23, 59, 59, tzinfo=UTC))
    next_day = _reported_at(door, datetime(2025, 3, 11, 0, 0, 1, tzinfo=UTC))

    def ids(**query: str) -> list[str]:
        response = door.get(f"/open311/v2/requests.{fmt}", **query)
        assert response.status_code == 200, response.text
        if fmt == "json":
            return [r["service_request_id"] for r in response.json()]
        listed = xmltodict.parse(response.content, force_list=("request",))["service_requests"]
        return [r["service_request_id"] for r in (listed or {}).get("request", [])]

    assert ids(start_date="2025-03-10", end_date="2025-03-10") == [str(late)]
    assert ids(start_date="2025-03-11", end_date="2025-03-11") == [str(next_day)]
    assert ids(start_date="2025-03-11") == [str(next_day)]
    assert sorted(ids(end_date="2025-03-11")) == sorted([str(late), str(next_day)])
    assert ids(start_date="2025-03-01", end_date="2025-03-10T23:00:00Z") == []
    updates = door.get(
        f"/open311/v2/servicerequestupdates.{fmt}", start_date="2025-03-10", end_date="2025-03-11"
    )
    assert updates.status_code == 200


@pytest.mark.parametrize("bad", ["2025-13-01", "2025-02-30", "2025-3-1", "20250301"])
def test_a_date_that_is_not_one_is_a_400(door: Door, bad: str) -> None:
    response = door.get("/open311/v2/requests.json", start_date=bad)
    assert response.status_code == 400
    [error] = errors_of(response, "json")
    assert "start_date" in error["description"]


# -- the key in a POST's URL -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("resource", ["requests", "servicerequestupdates"])
def test_a_key_in_a_posts_url_is_refused_saying_where_it_goes(
    door: Door, fmt: str, resource: str
) -> None:
    response = requests.post(
        f"{door.url}/open311/v2/{resource}.{fmt}",
        params={"api_key": door.key},
        data={k: v for k, v in GOOD.items()},
        timeout=10,
    )
    assert response.status_code == 403
    [error] = errors_of(response, fmt)
    assert "POST body" in error["description"] and "query string" in error["description"]
    assert door.key not in response.text
    with_photo = requests.post(
        f"{door.url}/open311/v2/{resource}.{fmt}",
        params={"api_key": door.key},
        data=GOOD,
        files={"photo1": ("a.jpg", b"\xff\xd8" + b"x" * 4096)},
        timeout=10,
    )
    assert with_photo.status_code == 403 and "POST body" in with_photo.text
    assert door.post(fmt, **GOOD).status_code == 200  # in the body it is fine


# -- CORS --------------------------------------------------------------------------------------


def cors_door(fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]) -> Door:
    """The basic config's door, open to browser apps on ``APP``."""
    text = BASIC + f'\n[server]\ncors_origins = ["{APP}"]\n'
    return harness(text, host=fake_host[0]).serve()


def test_cors_preflight_and_headers_for_an_allowed_origin_only(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    door = cors_door(fake_host, harness)
    preflight = requests.options(
        f"{door.url}/open311/v2/requests.json",
        headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    got = requests.get(f"{door.url}/open311/v2/services.json", headers={"Origin": APP}, timeout=10)
    assert got.status_code == 200 and got.headers["Access-Control-Allow-Origin"] == APP
    posted = requests.post(
        f"{door.url}/open311/v2/requests.json",
        data={"api_key": door.key, **GOOD},
        headers={"Origin": APP},
        timeout=10,
    )
    assert posted.status_code == 200 and posted.headers["Access-Control-Allow-Origin"] == APP
    # Another origin learns nothing: no CORS headers, and its preflight is refused.
    other = "https://elsewhere.example.com"
    got = requests.get(
        f"{door.url}/open311/v2/services.json", headers={"Origin": other}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in got.headers
    refused = requests.options(
        f"{door.url}/open311/v2/requests.json",
        headers={"Origin": other, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert refused.status_code == 400
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_cors_is_off_by_default(door: Door) -> None:
    preflight = requests.options(
        f"{door.url}/open311/v2/requests.json",
        headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers
    got = requests.get(f"{door.url}/open311/v2/services.json", headers={"Origin": APP}, timeout=10)
    assert "Access-Control-Allow-Origin" not in got.headers


def test_cors_origins_must_be_origins(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    w = harness(BASIC + '\n[server]\ncors_origins = ["*"]\n', host=fake_host[0])
    assert w.settings.server.cors_origins == ("*",)
    w.path.write_text(
        BASIC + '\n[server]\ncors_origins = ["https://app.example.gov/path"]\n', encoding="utf-8"
    )
    result = w.cli("config", "check")
    assert result.exit_code != 0 and "server.cors_origins" in result.output
