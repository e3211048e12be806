"""An integration's page in the browser: an administrator saves the Cityworks test password,
tests the connection against the emulator and sees it succeed, then refreshes the request
types; a ``staff`` account cannot open the page with its password form."""

from __future__ import annotations

from collections.abc import Callable

import requests

from ..conftest import PASSWORD
from .person import Person
from .site import Site


def test_an_admin_saves_the_test_password_and_the_connection_succeeds(
    make_site: Callable[..., Site], person_at: Callable[[Site], Person]
) -> None:
    site = make_site(password=False)
    person = person_at(site)
    admin = site.account("ada", "admin")
    person.sign_in("ada", admin)
    person.waits_to_see("Needs attention")
    person.link("Integrations").click()
    person.link("cityworks").click()
    assert person.path == "/console/integrations/cityworks"
    assert person.heading == "Integration cityworks"

    # Without a password the test fails, and says where.
    person.press("Test connection")
    person.waits_to_see("Connection test")
    assert person.sees("Failed")

    person.fill("Password", PASSWORD)
    person.press("Save password")
    person.waits_to_see("Saved the test password of cityworks.")
    assert person.field("Password").get_attribute("value") == ""  # never filled in again
    assert PASSWORD not in person.driver.page_source

    person.press("Test connection")
    person.waits_to_see("Connection test")
    assert person.sees("Succeeded"), person.text
    assert not person.sees("Failed")
    assert person.sees("logged in as 'scf-int'")
    assert PASSWORD not in person.driver.page_source

    person.press("Refresh request types")
    person.waits_to_see("Refreshed the request types of cityworks")
    assert person.sees("Pothole (POTHOLE)")
    assert person.sees("Questions, in the order they are asked")


def test_a_staff_account_cannot_open_the_password_form(person: Person, site: Site) -> None:
    password = site.account("sam", "staff")
    person.sign_in("sam", password)
    person.waits_to_see("Needs attention")
    assert "Integrations" not in [a.text for a in person.driver.find_elements("xpath", "//nav//a")]
    person.open("/console/integrations/cityworks")
    person.waits_to_see("This page is for administrators.")
    assert "Save password" not in person.buttons() and "Test connection" not in person.buttons()

    # The same request, with the same session, is answered 403.
    cookies = {c["name"]: c["value"] for c in person.cookies()}
    answer = requests.get(
        f"{site.url}/console/integrations/cityworks",
        cookies=cookies,
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 403
    assert "Save password" not in answer.text
