"""The console's forms for the named extra secrets a plugin declares (Accela's ``app_secret``):
one per environment beside its password form, stored where ``scf credentials set NAME --env
ENV --key KEY`` stores it, used by ``Test connection`` at once, and never shown or written
anywhere else; refused without the CSRF token and to a ``staff`` account."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from scf_accela.emulator import AccelaEmulator, AgencyState

from scf_plugins.config import credentials
from scf_plugins.ops import audit, staff
from scf_plugins.testing import Harness

from .consoled import CHEAP, Client, Consoled, make_account, serve_console
from .test_console_integrations import main_text

PAGE = "/console/integrations/permits"
APP_ID = "scf-app-637"
APP_SECRET = "App-Secret-9034-permits"
PASSWORD = "Permits-Pass-5521"
PERMITS = """
[integrations.permits]
plugin = "accela"
environment = "test"
request_types = ["ServiceRequest/Tree/Trim/NA"]  # cityworks serves "*"
module = "ServiceRequest"

[integrations.permits.test]
url = "{url}"
auth_url = "{url}"
agency = "ISLANDTON"
accela_environment = "TEST"
app_id = "{app_id}"
user = "scf-int"

[integrations.permits.production]
url = "https://apis.accela.com"
agency = "ISLANDTON"
app_id = "{app_id}"
user = "scf-prod"
"""
VARIABLE = "SCF_PERMITS_TEST_APP_SECRET"


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def agency() -> Iterator[AccelaEmulator]:
    """The Accela emulator, knowing the integration's user and application."""
    state = AgencyState(users={"scf-int": PASSWORD}, apps={APP_ID: APP_SECRET})
    with AccelaEmulator(state) as server:
        yield server


@pytest.fixture
def permits(
    world: Callable[..., Harness], agency: AccelaEmulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[Harness, Consoled]:
    """Cityworks (whose plugin declares no secret) and an Accela integration ``permits`` at
    the emulator, with no secret of its in the environment; an admin ``ada`` and a staff
    account ``sam``."""
    for name in (VARIABLE, "SCF_PERMITS_TEST_PASSWORD", "SCF_PERMITS_PRODUCTION_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    w = world(tail=PERMITS.format(url=agency.url, app_id=APP_ID))
    served = serve_console(w)
    make_account(served, "ada", "admin")
    make_account(served, "sam", "staff")
    return w, served


@pytest.fixture
def secrets_file(permits: tuple[Harness, Consoled]) -> Path:
    """The harness's secrets file, where ``scf credentials set`` writes (not there yet)."""
    path = credentials.secrets_path()
    assert path.is_relative_to(permits[0].folder) and not path.exists()
    return path


def admin(served: Consoled) -> Client:
    """A browser signed in as ``ada``."""
    client = served.client()
    assert client.sign_in("ada").status_code == 303
    return client


def save_secret(
    client: Client, value: str, environment: str = "test", **more: str
) -> requests.Response:
    """Open the integration's page and press ``Save app secret`` of ``environment``."""
    client.get(PAGE)
    fields = {"environment": environment, "key": "app_secret", "secret": value, **more}
    response: requests.Response = client.submit(PAGE + "/secret", fields)
    return response


def test_each_environment_has_a_form_for_the_declared_secret(
    permits: tuple[Harness, Consoled],
) -> None:
    _, served = permits
    ada = admin(served)
    page = ada.get(PAGE)
    assert page.status_code == 200
    text = main_text(page.text)
    assert text.count("App secret: not set") == 2  # test, then production
    assert "The application's secret (--key app_secret)." in text
    assert "scf credentials set permits --env ENV --key KEY" in text
    for n in (1, 2):
        assert f'<label for="secret-{n}-1">App secret</label>' in page.text
        assert f'aria-describedby="env-{n}">Save app secret</button>' in page.text
    fields = re.findall(r'<input [^>]*name="secret"[^>]*>', page.text)
    assert len(fields) == 2
    for field in fields:
        assert 'type="password"' in field and 'autocomplete="new-password"' in field
        assert "value=" not in field  # never pre-filled
    # The Cityworks plugin declares no secret: its page has the passwords alone.
    cityworks = ada.get("/console/integrations/cityworks").text
    assert "Save app secret" not in cityworks and 'name="secret"' not in cityworks


def test_a_saved_secret_is_stored_under_its_key_used_at_once_and_shown_nowhere(
    permits: tuple[Harness, Consoled], secrets_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, served = permits
    caplog.set_level(logging.DEBUG)
    asked: list[bool] = []
    served.console.reload = lambda: asked.append(True)
    ada = admin(served)
    saved = save_secret(ada, APP_SECRET)
    assert saved.status_code == 303 and saved.headers["location"] == PAGE
    page = ada.get(PAGE)
    assert "Saved the test app secret of permits." in page.text
    assert asked == [True]  # scf serve reads its passwords and secrets again
    assert json.loads(secrets_file.read_text()) == {"permits.test:app_secret": APP_SECRET}
    found = credentials.lookup("permits", "test", "app_secret")
    assert found is not None and found.reveal() == APP_SECRET
    text = main_text(page.text)
    assert "App secret: set" in text and "App secret: not set" in text  # test, production
    [entry] = [e for e in audit.listed(served.store) if e.action == "credentials.save"]
    assert (entry.actor, entry.integration, entry.detail) == (
        "ada (console)",
        "permits",
        "saved the test app_secret",
    )

    # With its password too, Test connection logs in with both, read as stored now.
    ada.submit(PAGE + "/password", {"environment": "test", "password": PASSWORD})
    ada.get(PAGE)
    tested = main_text(ada.submit(PAGE + "/test", {"environment": "test"}).text)
    assert "Connection test: test environment Succeeded" in tested
    assert "Check the settings (accela plugin): OK" in tested

    for secret in (APP_SECRET, PASSWORD):
        assert all(secret not in response for response in ada.everything())
        assert secret not in caplog.text
        assert all(secret not in f"{e.actor} {e.detail}" for e in audit.listed(served.store))


def test_without_the_secret_test_connection_says_how_to_store_it(
    permits: tuple[Harness, Consoled],
) -> None:
    _, served = permits
    credentials.store("permits", "test", PASSWORD)
    ada = admin(served)
    ada.get(PAGE)
    tested = main_text(ada.submit(PAGE + "/test", {"environment": "test"}).text)
    assert "Connection test: test environment Failed" in tested
    assert "--key app_secret" in tested


def test_an_environment_variable_is_named_as_the_secret_s_source(
    permits: tuple[Harness, Consoled], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, served = permits
    monkeypatch.setenv(VARIABLE, "From-The-Environment-77")
    ada = admin(served)
    text = main_text(ada.get(PAGE).text)
    assert f"App secret: from the environment variable {VARIABLE}" in text
    save_secret(ada, APP_SECRET)
    page = main_text(ada.get(PAGE).text)
    assert f"Note: {VARIABLE} is set in this server's environment and wins over it." in page
    assert all("From-The-Environment-77" not in response for response in ada.everything())


def test_an_undeclared_key_an_unknown_environment_or_an_empty_secret_is_refused(
    permits: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = permits
    ada = admin(served)
    for key in ("api_token", "password", "", "APP_SECRET"):
        assert save_secret(ada, APP_SECRET, key=key).status_code == 303
        said = main_text(ada.get(PAGE).text)
        assert f"the accela plugin of permits declares no secret {key!r}" in said
    save_secret(ada, APP_SECRET, environment="staging")
    assert "permits has no such environment in the config" in ada.get(PAGE).text
    save_secret(ada, "")
    assert "an empty app_secret was not stored" in ada.get(PAGE).text
    # Cityworks declares no secret at all.
    ada.get("/console/integrations/cityworks")
    ada.submit(
        "/console/integrations/cityworks/secret",
        {"environment": "test", "key": "app_secret", "secret": APP_SECRET},
    )
    said = main_text(ada.get("/console/integrations/cityworks").text)
    assert "the cityworks plugin of cityworks declares no secret 'app_secret'" in said
    assert not secrets_file.exists()
    assert all(e.action != "credentials.save" for e in audit.listed(served.store))


def test_a_form_without_its_csrf_token_or_from_a_staff_account_stores_nothing(
    permits: tuple[Harness, Consoled], secrets_file: Path
) -> None:
    _, served = permits
    ada = admin(served)
    ada.get(PAGE)
    fields = {"environment": "test", "key": "app_secret", "secret": APP_SECRET}
    assert ada.post(PAGE + "/secret", fields).status_code == 403
    assert ada.post(PAGE + "/secret", {"csrf_token": "forged", **fields}).status_code == 403
    sam = served.client()
    sam.sign_in("sam")
    sam.get("/console/")
    assert sam.get(PAGE).status_code == 403
    assert sam.submit(PAGE + "/secret", fields).status_code == 403
    assert not secrets_file.exists()
    assert audit.listed(served.store) == [] or all(
        e.action != "credentials.save" for e in audit.listed(served.store)
    )
    assert os.environ.get(VARIABLE) is None
