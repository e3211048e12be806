"""Signing in to the console, in the browser: anonymous visitors are sent to the sign-in
page, a wrong password is one line on it, the right one lets an administrator in, and
``Sign out`` ends it."""

from __future__ import annotations

from .person import Person
from .site import Site


def test_an_anonymous_visitor_is_sent_to_sign_in_and_an_admin_gets_in(
    person: Person, site: Site
) -> None:
    password = site.account("ada", "admin")
    person.open("/console/")
    assert person.path == "/console/login"
    person.fill("Username", "ada")
    person.fill("Password", "not-" + password)
    person.press("Sign in")
    person.waits_to_see("wrong username or password")
    assert person.path == "/console/login"
    assert person.field("Password").get_attribute("value") == ""  # never given back

    person.fill("Username", "ada")
    person.fill("Password", password)
    person.press("Sign in")
    person.waits_to_see("Sign out")
    assert person.path == "/console/"
    assert person.sees("ada")
    person.press("Sign out")
    person.waits_to_see("Sign in")
    person.open("/console/")
    assert person.path == "/console/login"
