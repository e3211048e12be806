"""The console on a phone-sized screen (375 CSS pixels wide): the sign-in page, the Overview
and an issue's page read without scrolling sideways."""

from __future__ import annotations

from .person import Person
from .site import Site


def test_sign_in_the_overview_and_an_issue_fit_a_phone(person: Person, site: Site) -> None:
    password = site.account("ada", "admin")
    issue_id = site.report("Pothole by the library")
    person.use_phone()
    person.open("/console/login")
    assert person.driver.execute_script("return window.innerWidth") == 375
    assert person.field("Username").is_displayed() and person.button("Sign in").is_displayed()
    assert not person.scrolls_sideways(), "the sign-in page scrolls sideways at 375 px"

    person.sign_in("ada", password)
    person.waits_to_see("Needs attention")
    assert person.path == "/console/"
    assert not person.scrolls_sideways(), "the Overview scrolls sideways at 375 px"

    person.open(f"/console/issues/{issue_id}")
    person.waits_to_see("Pothole by the library")
    assert not person.scrolls_sideways(), "an issue's page scrolls sideways at 375 px"
