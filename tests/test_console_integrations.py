"""The console's Integrations pages: an integration's health and request types, the password
form (stored where ``scf credentials set`` stores it, never shown or written anywhere else),
``Test connection`` against the Cityworks emulator and the ArcGIS stand-in, and ``Refresh
request types``."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scf_plugins.config import credentials
from scf_plugins.ops import audit, staff
from scf_plugins.testing import Harness

from .conftest import PASSWORD as CITYWORKS_PASSWORD
from .consoled import CHEAP, Client, Consoled, make_account, serve_console

PAGE = "/console/integrations/cityworks"
WRONG = "not-the-password-41"
GIS_PASSWORD = "gis-secret-pass-7"
PRODUCTION = """
[integrations.cityworks.production]
url = "https://cw.example.gov/Cityworks/Services/AMS"
user = "scf-prod"
"""
GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
user = "gis"
"""
VARIABLE = "SCF_CITYWORKS_TEST_PASSWORD"


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def gis() -> Iterator[Any]:
    """The ArcGIS stand-in, which logs in ``gis`` with :data:`GIS_PASSWORD`."""
    from scf_arcgis.fake import FakeGeocodeServer, FakeLocator

    with FakeGeocodeServer(FakeLocator(user="gis", password=GIS_PASSWORD)) as server:
        yield server


@pytest.fixture
def cw(world: Callable[..., Harness], gis: Any) -> tuple[Harness, Consoled]:
    """Cityworks (test and production environments) behind a geocoder that logs in; no
    password in the environment, so the secrets file is what counts; an admin ``ada`` and a
    staff account ``sam``."""
    w = world(
        extra='address_validation = "county_gis"',
        tail=PRODUCTION + GEOCODER.format(url=gis.url),
    )
    os.environ.pop(VARIABLE)  # the harness puts it back (unset) when it closes
    served = serve_console(w)
    make_account(served, "ada", "admin")
    make_account(served, "sam", "staff")
    return w, served


@pytest.fixture
def secrets_file(cw: tuple[Harness, Consoled]) -> Path:
    """The secrets file ``scf credentials set`` writes: the harness keeps one in its folder
    (``SCF_SECRETS_FILE``), where :func:`credentials.secrets_path` finds it."""
    path = credentials.secrets_path()
    assert path.is_relative_to(cw[0].folder) and not path.exists()
    return path


def admin(served: Consoled) -> Client:
    """A browser signed in as ``ada``."""
    client = served.client()
    assert client.sign_in("ada").status_code == 303
    return client


def main_text(page: str) -> str:
    """The page's main part as words (tags removed, entities read)."""
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r"</?(?:strong|a|span|code)\b[^>]*>", "", main)  # inline: no space
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def save_password(client: Client, password: str, environment: str = "test") -> Any:
    """Open the integration's page and press ``Save password`` of ``environment``."""
    client.get(PAGE)
    return client.submit(PAGE + "/password", {"environment": environment, "password": password})


def test_the_page_shows_the_plugin_endpoint_health_and_request_types(
    cw: tuple[Harness, Consoled],
) -> None:
    w, served = cw
    ada = admin(served)
    page = ada.get(PAGE)
    assert page.status_code == 200
    text = main_text(page.text)
    assert "Integration cityworks" in text
    assert f"Endpoint {w.emulator.url} (user scf-int)" in text
    assert "Environment in use test" in text and "Plugin cityworks" in text
    assert "Circuit closed: calls go through" in text
    assert "Last pass none recorded yet" in text
    assert "No issue of cityworks is failing." in text
    assert "by geocoder county_gis" in text
    # One password form per environment, each saying whether it is set, in words.
    assert "test environment (in use)" in text and "production environment" in text
    assert text.count("Password: not set") == 2
    assert page.text.count('<button type="submit" aria-describedby="env-1">Save password') == 1
    assert page.text.count(">Test connection</button>") == 2
    fields = re.findall(r"<input [^>]*name=\"password\"[^>]*>", page.text)
    assert len(fields) == 2
    for field in fields:
        assert 'type="password"' in field and 'autocomplete="new-password"' in field
        assert "value=" not in field  # never pre-filled
    for n in (1, 2):  # each field has its visible label
        assert f'<label for="password-{n}">Password</label>' in page.text


def test_a_failing_issue_s_error_is_shown_and_linked(cw: tuple[Harness, Consoled]) -> None:
    w, served = cw
    credentials.store("cityworks", "test", CITYWORKS_PASSWORD)
    credentials.store("county_gis", None, GIS_PASSWORD)
    w.report(summary="fails", address="165 church st")
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    w.sync()
    text = admin(served).get(PAGE).text
    [issue_id] = [i for i in re.findall(r'href="/console/issues/(\d+)"', text)]
    assert "Latest errors" in text and "ambiguous" in main_text(text)
    assert 'href="/console/issues?status=failing&amp;integration=cityworks">1</a>' in text
    assert int(issue_id) >= 1


def test_saving_a_password_stores_it_where_the_cli_does_and_nowhere_else(
    cw: tuple[Harness, Consoled], secrets_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, served = cw
    caplog.set_level(logging.DEBUG)
    ada = admin(served)
    saved = save_password(ada, CITYWORKS_PASSWORD)
    assert saved.status_code == 303 and saved.headers["location"] == PAGE
    page = ada.get(PAGE)
    assert "Saved the test password of cityworks." in page.text
    assert json.loads(secrets_file.read_text()) == {"cityworks.test": CITYWORKS_PASSWORD}
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    text = main_text(page.text)
    assert "Password: set" in text and "Password: not set" in text  # test, then production
    # The audit says who saved which, and nothing more.
    [entry] = [e for e in audit.listed(served.store) if e.action == "credentials.save"]
    assert (entry.actor, entry.integration, entry.detail) == (
        "ada (console)",
        "cityworks",
        "saved the test password",
    )
    # The password is in no page, header, redirect, log line or audit entry.
    for response in ada.everything():
        assert CITYWORKS_PASSWORD not in response
    assert CITYWORKS_PASSWORD not in caplog.text
    assert all(
        CITYWORKS_PASSWORD not in f"{e.actor} {e.detail}" for e in audit.listed(served.store)
    )


def test_an_environment_variable_is_named_as_the_password_s_source(
    cw: tuple[Harness, Consoled], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, served = cw
    monkeypatch.setenv("SCF_CITYWORKS_PRODUCTION_PASSWORD", "from-the-environment-1")
    text = main_text(admin(served).get(PAGE).text)
    assert "Password: from the environment variable SCF_CITYWORKS_PRODUCTION_PASSWORD" in text
    assert "from-the-environment-1" not in text


def test_a_password_for_an_environment_the_config_lacks_is_refused(
    cw: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = cw
    ada = admin(served)
    saved = save_password(ada, "some-password-1", environment="staging")
    assert saved.status_code == 303
    assert "cityworks has no such environment" in ada.get(PAGE).text
    assert not secrets_file.exists()
    empty = save_password(ada, "")
    assert empty.status_code == 303
    assert "an empty password was not stored" in ada.get(PAGE).text
    assert not secrets_file.exists()


def test_test_connection_succeeds_with_the_right_password_and_says_why_not_with_a_wrong_one(
    cw: tuple[Harness, Consoled], caplog: pytest.LogCaptureFixture
) -> None:
    _, served = cw
    caplog.set_level(logging.DEBUG)
    ada = admin(served)
    save_password(ada, CITYWORKS_PASSWORD)
    ada.get(PAGE)
    tested = ada.submit(PAGE + "/test", {"environment": "test"})
    assert tested.status_code == 200  # the outcome is the answer to the POST itself
    text = main_text(tested.text)
    assert "Connection test: test environment Succeeded" in text
    assert "Find 127.0.0.1 (name resolution): OK" in text
    assert "Check the settings (cityworks plugin): OK" in text
    assert "Log in as 'scf-int' and read the request types: OK. " in text
    assert "logged in as 'scf-int'" in text and "public request types" in text

    save_password(ada, WRONG)
    ada.get(PAGE)
    text = main_text(ada.submit(PAGE + "/test", {"environment": "test"}).text)
    assert "Connection test: test environment Failed" in text
    assert re.search(r"Connect to 127\.0\.0\.1 on port \d+: OK", text)
    failed = re.search(r"Log in as 'scf-int' and read the request types: Failed\. ([^.]+)", text)
    assert failed, text
    assert "scf credentials set cityworks --env test" in text  # how to put it right
    for secret in (CITYWORKS_PASSWORD, WRONG):
        assert all(secret not in response for response in ada.everything())
        assert secret not in caplog.text


def test_test_connection_of_an_unreachable_environment_names_the_step(
    cw: tuple[Harness, Consoled], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, served = cw
    # A production endpoint nothing listens on, on this machine.
    text = w.path.read_text().replace("https://cw.example.gov", "http://127.0.0.1:9")
    w.path.write_text(text)
    ada = admin(served)
    ada.get(PAGE)
    page = main_text(ada.submit(PAGE + "/test", {"environment": "production"}).text)
    assert "Connection test: production environment Failed" in page
    assert "Connect to 127.0.0.1 on port 9: Failed. cannot connect to 127.0.0.1:9" in page
    assert "Check the settings (cityworks plugin): Not tried" in page


def test_refresh_request_types_reloads_them_and_is_audited(cw: tuple[Harness, Consoled]) -> None:
    _, served = cw
    store = served.store
    store.replace_request_types("cityworks", [])
    ada = admin(served)
    assert "None cached yet." in main_text(ada.get(PAGE).text)
    # No password yet: the page says why nothing was loaded.
    assert ada.submit(PAGE + "/request-types").status_code == 303
    page = ada.get(PAGE).text
    assert "Error: integration cityworks (test) has no password" in main_text(page)
    assert "None cached yet." in main_text(page)
    # The password saved a moment ago is the one used.
    save_password(ada, CITYWORKS_PASSWORD)
    ada.get(PAGE)
    assert ada.submit(PAGE + "/request-types").status_code == 303
    page = ada.get(PAGE).text
    types = [t for t in store.request_types() if t.integration == "cityworks"]
    assert (
        types and f"Refreshed the request types of cityworks: {len(types)} request types." in page
    )
    [entry] = [e for e in audit.listed(store) if e.action == "request_types.refresh"]
    assert entry.actor == "ada (console)" and entry.integration == "cityworks"
    # Each type with its questions in order: type, required, private, options.
    pothole = next(t for t in types if t.code == "POTHOLE")
    text = main_text(page)
    section = text[text.index(f"{pothole.name} (POTHOLE)") :]
    places = [section.index(q.text) for q in pothole.questions]
    assert places == sorted(places)
    first = pothole.questions[0]
    row = f"{first.text} {first.type} {'yes' if first.required else 'no'}"
    assert row in section
    assert ", ".join(first.options) in section


def test_the_list_names_each_integration_and_geocoder(cw: tuple[Harness, Consoled]) -> None:
    _, served = cw
    page = admin(served).get("/console/integrations")
    assert page.status_code == 200
    assert '<a href="/console/integrations/cityworks">cityworks</a>' in page.text
    assert '<a href="/console/geocoders/county_gis">county_gis</a>' in page.text
    text = main_text(page.text)
    assert "cityworks cityworks test" in text and "OK not set" in text


def test_a_geocoder_that_logs_in_has_a_password_form_and_a_connection_test(
    cw: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = cw
    ada = admin(served)
    path = "/console/geocoders/county_gis"
    page = ada.get(path)
    assert page.status_code == 200
    assert "Password: not set" in main_text(page.text)
    assert ada.submit(path + "/password", {"password": GIS_PASSWORD}).status_code == 303
    assert json.loads(secrets_file.read_text()) == {"county_gis": GIS_PASSWORD}
    assert "Saved the password of county_gis." in ada.get(path).text
    text = main_text(ada.submit(path + "/test").text)
    assert "Connection test: geocoder Succeeded" in text
    assert "Read the service's description: OK" in text
    assert all(GIS_PASSWORD not in response for response in ada.everything())


def test_a_staff_account_cannot_open_or_use_them(
    cw: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = cw
    sam = served.client()
    sam.sign_in("sam")
    sam.get("/console/")
    for path in ("/console/integrations", PAGE, "/console/geocoders/county_gis"):
        assert sam.get(path).status_code == 403
    for path, fields in (
        (PAGE + "/password", {"environment": "test", "password": "sams-password-12"}),
        (PAGE + "/test", {"environment": "test"}),
        (PAGE + "/request-types", {}),
        ("/console/geocoders/county_gis/password", {"password": "sams-password-12"}),
    ):
        assert sam.submit(path, fields).status_code == 403
    assert not secrets_file.exists()
    assert audit.listed(served.store) == [] or all(
        e.actor != "sam (console)" for e in audit.listed(served.store)
    )


def test_forms_without_the_csrf_token_change_nothing(
    cw: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = cw
    ada = admin(served)
    served.store.replace_request_types("cityworks", [])
    before = audit.listed(served.store)
    assert (
        ada.post(PAGE + "/password", {"environment": "test", "password": "x" * 14}).status_code
        == 403
    )
    assert ada.post(PAGE + "/request-types", {}).status_code == 403
    assert ada.post(PAGE + "/password", {"csrf_token": "forged", "environment": "test",
                                         "password": "x" * 14}).status_code == 403  # fmt: skip
    assert not secrets_file.exists()
    assert [t for t in served.store.request_types() if t.integration == "cityworks"] == []
    assert audit.listed(served.store) == before


def test_a_saved_password_makes_scf_serve_read_its_passwords_again(
    cw: tuple[Harness, Consoled],
) -> None:
    from scf_plugins.server.running import build

    w, served = cw
    asked: list[bool] = []
    served.console.reload = lambda: asked.append(True)
    save_password(admin(served), CITYWORKS_PASSWORD)
    assert asked == [True]
    # scf serve gives its console the reload SIGHUP uses.
    serving = build(w.settings, w.host, served.store, sync=False)
    assert serving.context is not None
    assert serving.context.console.reload == serving.reload
