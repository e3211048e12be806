"""Every console form done with the keyboard alone: Tab and Shift+Tab to move, typing into
what has the focus, Enter to send a form or follow a link, Space to press a button; the focus
always drawn where it is, and the skip link taking it past the header and nav."""

from __future__ import annotations

from .person import Person
from .site import Site


def test_sign_in_and_out_with_the_keyboard_alone(person: Person, site: Site) -> None:
    password = site.account("ada", "admin")
    keys = person.keys
    person.open("/console/")  # anonymous: sent to sign in
    assert person.path == "/console/login"

    keys.tab()
    assert keys.describe() == "Skip to main content" and keys.focus_is_visible()
    keys.enter()
    assert keys.in_main(), "the skip link did not take the focus to the main content"
    keys.tab()
    assert keys.describe() == "Username" and keys.focus_is_visible()
    keys.type("ada")
    keys.tab()
    assert keys.describe() == "Password"
    keys.type(password)
    keys.back_tab()  # Shift+Tab goes back to the name, as typed
    assert keys.describe() == "Username"
    assert keys.focused.get_attribute("value") == "ada"
    keys.tab()
    keys.enter()  # Enter in a field sends its form
    person.waits_to_see("Needs attention")
    assert person.path == "/console/"

    keys.tab_to("Sign out")
    keys.space()
    person.waits_to_see("Sign in")
    person.open("/console/")
    assert person.path == "/console/login"
