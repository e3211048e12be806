"""The rest of the console's forms done with the keyboard alone, as :mod:`.test_keyboard` does
the others (Tab and Shift+Tab to move, typing, Enter and Space; every stop drawn focused):
an issue held for its address released with a corrected one, another recategorized (the type
chosen, then its questions answered), an acknowledged issue resubmitted, an API key rotated, a
report refused beside its field and then accepted, and an integration's app secret saved."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scf_plugins.config import credentials
from scf_plugins.testing import wait_for

from .person import Person
from .site import Site
from .test_api_keys import post_report
from .test_keyboard import go, sign_in_by_keyboard

# An address check that holds what it cannot verify ("Elm St"), until staff release it.
GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
min_score = 85
on_reject = "hold"
"""
# An Accela integration beside Cityworks: its plugin declares the secret app_secret.
PERMITS = """
[integrations.permits]
plugin = "accela"
environment = "test"
request_types = ["ServiceRequest/Tree/Trim/NA"]

[integrations.permits.test]
url = "{url}"
auth_url = "{url}"
agency = "ISLANDTON"
accela_environment = "TEST"
app_id = "{app_id}"
user = "scf-int"
"""
APP_ID = "scf-app-637"
APP_SECRET = "App-Secret-9034-permits"
ACCELA_PASSWORD = "Permits-Pass-5521"


@pytest.fixture
def gis() -> Iterator[Any]:
    """The ArcGIS stand-in: it knows "1 Broadway", not "Elm St"."""
    from scf_arcgis.fake import FakeGeocodeServer

    with FakeGeocodeServer() as server:
        yield server


@pytest.fixture
def agency() -> Iterator[Any]:
    """The Accela emulator, knowing the integration's user and application."""
    from scf_accela.emulator import AccelaEmulator, AgencyState

    state = AgencyState(users={"scf-int": ACCELA_PASSWORD}, apps={APP_ID: APP_SECRET})
    with AccelaEmulator(state) as server:
        yield server


def test_held_issues_released_and_recategorized_with_the_keyboard_alone(
    gis: Any, make_site: Callable[..., Site], person_at: Callable[[Site], Person]
) -> None:
    site = make_site(extra='address_validation = "county_gis"', tail=GEOCODER.format(url=gis.url))
    person = person_at(site)
    keys = person.keys
    pothole = site.report("Pothole on Elm", address="Elm St")
    light = site.report("Light out on Elm", address="Elm St")
    wait_for(
        lambda: all(site.show(i)["sync"]["held"] for i in (pothole, light)),
        15,
        "both issues held for their address",
    )
    sign_in_by_keyboard(person, "sam", site.account("sam", "staff"))

    person.open(f"/console/issues/{pothole}")
    keys.tab_to("Corrected address (optional)")
    keys.type("1 Broadway")
    keys.tab()
    assert keys.describe() == "Release" and keys.focus_is_visible()
    keys.space()
    person.waits_to_see(f"Issue {pothole} released; it is sent on the next pass.")
    wait_for(lambda: site.show(pothole)["status"] == "acknowledged", 15, "the released issue sent")
    remote = site.emulator.state.requests[int(site.show(pothole)["remote_id"])]
    assert remote["ProbAddress"] == "1 BROADWAY, NEW HAVEN, CT, 06511"

    person.open(f"/console/issues/{light}")
    keys.tab_to("New request type")
    keys.type("Streetlight")  # the closed select takes the type its name begins with
    keys.tab()
    assert keys.describe() == "Show its questions" and keys.focus_is_visible()
    keys.enter()
    person.waits_to_see("It becomes Streetlight Out (STREETLIGHT)")
    keys.tab_to("Pole number (on the tag)", starts=True)
    keys.type("SL-2231")
    keys.tab_to("The light is", starts=True)
    keys.type("Flickering")
    keys.back_tab()  # Shift+Tab: the pole number is still what was typed
    assert keys.focused.get_attribute("value") == "SL-2231" and keys.focus_is_visible()
    keys.tab_to("Contact E-Mail", starts=True)
    keys.type("r@example.org")
    keys.tab_to("Recategorize")
    keys.space()
    person.waits_to_see(f"Issue {light} is now STREETLIGHT, served by cityworks.")
    shown = site.show(light)
    assert shown["request_type"] == "STREETLIGHT"
    assert {a["answer"] for a in shown["answers"]} >= {"SL-2231", "Flickering"}, shown["answers"]


def test_resubmitting_an_issue_with_the_keyboard_alone(person: Person, site: Site) -> None:
    keys = person.keys
    issue_id = site.report("Pothole by the library")
    wait_for(lambda: site.show(issue_id)["status"] == "acknowledged", 15, "the report sent")
    first = site.show(issue_id)["remote_id"]
    sign_in_by_keyboard(person, "sam", site.account("sam", "staff"))

    person.open(f"/console/issues/{issue_id}")
    keys.tab_to("Reason (told to the resident)")  # Withdraw's comes first
    keys.tab_to("Reason (told to the resident)")  # then Resubmit's, filled in already
    assert keys.focused.get_attribute("value") == "its earlier request could not be followed"
    keys.type("The crew found no request to work from.")  # Tab selected it: typing replaces
    assert keys.focused.get_attribute("value") == "The crew found no request to work from."
    keys.tab()
    assert keys.describe() == "Resubmit" and keys.focus_is_visible()
    keys.space()
    person.waits_to_see(f"Issue {issue_id} resubmitted")
    wait_for(
        lambda: site.show(issue_id)["remote_id"] not in (None, first), 15, "a new remote request"
    )
    person.waits_to_see("The crew found no request to work from.", reload=True)


def test_rotating_an_api_key_with_the_keyboard_alone(person: Person, site: Site) -> None:
    keys = person.keys
    sign_in_by_keyboard(person, "ada", site.account("ada", "admin"))
    go(person, "API keys", "API keys")
    keys.tab_to("Name")
    keys.type("fixmystreet")
    keys.enter()
    person.waits_to_see("New key for fixmystreet")
    first = shown_key(person)
    keys.tab_to("Rotate fixmystreet")  # what a screen reader says of its `Rotate`
    keys.space()
    person.waits_to_see("The key it replaces keeps working until")
    second = shown_key(person)
    assert second != first
    for key in (second, first):  # the old one until its grace period ends
        answer = post_report(site, key)
        assert answer.status_code == 200, answer.text


def shown_key(person: Person) -> str:
    """The new key the API keys page shows once (the code under "New key for …")."""
    [key] = re.findall(r"\bscf_[A-Za-z0-9_-]{20,}", person.group("Copy this key now").text)
    return key


def described(person: Person) -> str:
    """What the focused control's description says (its ``aria-describedby`` elements, as a
    screen reader reads them after its name): where a refusal beside it is announced."""
    return str(
        person.driver.execute_script(
            "const ids = (document.activeElement.getAttribute('aria-describedby') || '')"
            ".split(/\\s+/).filter(Boolean);"
            "return ids.map((id) => document.getElementById(id))"
            ".filter(Boolean).map((e) => e.innerText.trim()).join(' ');"
        )
    )


def test_a_report_refused_beside_its_field_then_sent_with_the_keyboard_alone(
    person: Person, site: Site
) -> None:
    keys = person.keys
    sign_in_by_keyboard(person, "sam", site.account("sam", "staff"))
    go(person, "Report an issue", "Report an issue")
    keys.tab_to("Request type")
    keys.type("Pothole")
    keys.tab_to("Choose this type")
    keys.enter()
    person.waits_to_see("The report: Pothole")
    keys.tab_to("Summary (required)")
    keys.type("Pothole at 12 Oak Street")
    keys.tab_to("Latitude (required)")
    keys.type("4l.3083")  # a letter l for a 1
    keys.tab()
    keys.type("-72.9279")
    keys.tab_to("Is the pothole in a travel lane?", starts=True)
    keys.type("Yes")
    keys.tab_to("Approximate size", starts=True)
    keys.type("Larger")
    keys.tab_to("Email for follow-up", starts=True)
    keys.type("r@example.org")
    keys.tab_to("Report issue")
    keys.space()
    person.waits_to_see("The report was not saved")
    assert person.path == "/console/issues/new"

    keys.tab_to("Latitude (required)")
    said = described(person)
    assert "Error: Latitude must be a number, such as 41.3083" in said, said
    assert keys.focused.get_attribute("aria-invalid") == "true"
    assert keys.focused.get_attribute("value") == "4l.3083"  # what was typed is kept
    keys.type("41.3083")  # Tab selected it: typing replaces
    keys.tab()
    assert keys.describe() == "Longitude (required)"
    assert keys.focused.get_attribute("value") == "-72.9279"
    keys.tab_to("Report issue")
    keys.enter()
    person.waits_to_see("Reported as issue")
    issue_id = int(person.path.rsplit("/", 1)[-1])
    shown = site.show(issue_id)
    assert shown["lat"] == pytest.approx(41.3083)
    # The answers chosen before the refusal were kept in the form, and sent.
    assert "Larger than a dinner plate" in {a["answer"] for a in shown["answers"]}


def test_saving_an_app_secret_with_the_keyboard_alone(
    agency: Any, make_site: Callable[..., Site], person_at: Callable[[Site], Person]
) -> None:
    # Without the Cityworks password the site loads no request types before it serves:
    # `scf request-types --refresh` would fail on permits, whose app secret is saved here.
    site = make_site(password=False, tail=PERMITS.format(url=agency.url, app_id=APP_ID))
    person = person_at(site)
    keys = person.keys
    sign_in_by_keyboard(person, "ada", site.account("ada", "admin"))
    go(person, "Integrations", "Integrations")
    go(person, "permits", "Integration permits")
    assert person.sees("App secret: not set")

    keys.tab_to("Password")
    keys.type(ACCELA_PASSWORD)
    keys.tab()
    assert keys.describe() == "Save password"
    keys.space()
    person.waits_to_see("Saved the test password of permits.")
    keys.tab_to("App secret")
    keys.type(APP_SECRET)
    keys.back_tab()  # Shift+Tab: back to the password form's button
    assert keys.describe() == "Save password" and keys.focus_is_visible()
    keys.tab_to("App secret")
    assert keys.focused.get_attribute("value") == APP_SECRET
    keys.tab()
    assert keys.describe() == "Save app secret" and keys.focus_is_visible()
    keys.enter()
    person.waits_to_see("Saved the test app secret of permits.")
    assert person.sees("App secret: set")
    stored = json.loads(credentials.secrets_path().read_text())
    assert stored["permits.test:app_secret"] == APP_SECRET

    keys.tab_to("Test connection")
    keys.enter()
    person.waits_to_see("Succeeded")
    assert person.sees("Check the settings (accela plugin): OK")
    for secret in (APP_SECRET, ACCELA_PASSWORD):
        assert secret not in person.driver.page_source
