"""Every console form done with the keyboard alone: Tab and Shift+Tab to move, typing into
what has the focus, Enter to send a form or follow a link, Space to press a button; the focus
always drawn where it is, and the skip link taking it past the header and nav."""

from __future__ import annotations

from collections.abc import Callable

from scf_plugins.testing import wait_for

from ..conftest import PASSWORD
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

    # Signed in, the skip link passes the header's Sign out and the nav's links.
    keys.tab()
    assert keys.describe() == "Skip to main content" and keys.focus_is_visible()
    keys.enter()
    keys.tab()
    assert keys.in_main() and keys.describe() == "cityworks", keys.describe()
    keys.back_tab()  # back out of the main content, to the nav's last link
    assert keys.describe() == "Audit" and keys.focus_is_visible()
    went: list[str] = []
    while keys.describe() != "Sign out" and len(went) < 10:
        keys.back_tab()
        went.append(keys.describe())
    assert went[-1] == "Sign out", went
    keys.space()
    person.waits_to_see("Sign in")
    person.open("/console/")
    assert person.path == "/console/login"


def sign_in_by_keyboard(person: Person, name: str, password: str) -> None:
    """Sign in as ``name`` with Tab, typing and Enter."""
    person.open("/console/login")
    person.keys.tab_to("Username")
    person.keys.type(name)
    person.keys.tab_to("Password")
    person.keys.type(password)
    person.keys.enter()
    person.waits_to_see("Needs attention")


def go(person: Person, link: str, heading: str) -> None:
    """Follow the link that says ``link`` (Tab to it, Enter) to the page headed ``heading``."""
    person.keys.tab_to(link)
    person.keys.enter()
    wait_for(lambda: person.heading == heading, 10, f"the page {heading!r}")


def test_the_admin_pages_forms_with_the_keyboard_alone(
    make_site: Callable[..., Site], person_at: Callable[[Site], Person]
) -> None:
    site = make_site(password=False)
    person = person_at(site)
    keys = person.keys
    sign_in_by_keyboard(person, "ada", site.account("ada", "admin"))

    go(person, "Integrations", "Integrations")
    go(person, "cityworks", "Integration cityworks")
    keys.tab_to("Password")
    keys.type(PASSWORD)
    keys.tab()
    assert keys.describe() == "Save password"
    keys.space()
    person.waits_to_see("Saved the test password of cityworks.")
    keys.tab_to("Test connection")
    keys.enter()
    person.waits_to_see("Succeeded")
    keys.tab_to("Refresh request types")
    keys.space()
    person.waits_to_see("Refreshed the request types of cityworks")

    go(person, "API keys", "API keys")
    keys.tab_to("Name")
    keys.type("fixmystreet")
    keys.enter()  # Enter in the field sends the form
    person.waits_to_see("New key for fixmystreet")
    keys.tab_to("Revoke fixmystreet")  # what a screen reader says of its `Revoke`
    keys.space()
    person.waits_to_see("Revoked the API key fixmystreet")

    go(person, "Staff", "Staff")
    keys.tab_to("Username")
    keys.type("sam")
    keys.tab()
    assert keys.describe() == "Role"
    keys.type("admin")  # a closed select takes the option its typed words begin
    keys.tab_to("Password")
    keys.type("Sam-Console-Pass-2231")
    keys.tab_to("Create account")
    keys.enter()
    person.waits_to_see("Created the admin account sam.")
    keys.tab_to("New password for sam")
    keys.type("Sam-Console-Pass-7745")
    keys.enter()
    person.waits_to_see("Reset the password of sam")
    keys.tab_to("Disable sam")
    keys.space()
    person.waits_to_see("Disabled the account sam")

    go(person, "Audit", "Audit")
    assert person.sees("ada (console)")


def test_the_issue_pages_forms_with_the_keyboard_alone(person: Person, site: Site) -> None:
    keys = person.keys
    site.emulator.state.inject("not_found", count=1, match="servicerequest/create")
    first = site.report("Pothole outside number 12")
    wait_for(lambda: site.show(first)["sync"]["last_error"], 15, "the first create to fail")
    site.emulator.state.inject("503", count=1, match="servicerequest/create")
    second = site.report("Pothole by the bus stop")
    wait_for(
        lambda: all(site.show(i)["sync"]["last_error"] for i in (first, second)),
        15,
        "both creates to fail",
    )
    sign_in_by_keyboard(person, "sam", site.account("sam", "staff"))

    go(person, "Issues", "Issues")
    keys.tab_to("Status")
    keys.type("Failing")
    keys.tab_to("Search")
    keys.type("number 12")
    keys.enter()
    wait_for(lambda: "status=failing" in person.driver.current_url, 10, "the filtered list")
    person.waits_to_see("Pothole outside number 12")
    assert not person.sees("Pothole by the bus stop")
    go(person, str(first), f"Issue {first}")

    keys.tab_to("Description")
    keys.type("Deep enough to take a wheel off.")
    keys.tab_to("Save changes")
    keys.enter()
    person.waits_to_see(f"Issue {first} corrected")
    assert site.show(first)["description"] == "Deep enough to take a wheel off."

    person.open(f"/console/issues/{second}")
    keys.tab_to("Retry now")
    keys.space()
    person.waits_to_see("will be tried again")  # the answer to the POST, before reloading
    person.waits_to_see("Acknowledged", timeout=15, reload=True)
    keys.tab_to("Comment")
    keys.type("Crew: it is on the northbound side.")
    keys.tab_to("Add comment")
    keys.enter()
    person.waits_to_see("Comment added")
    keys.tab_to("Reason (told to the resident)")
    keys.type("Reported twice; the other report is being handled.")
    keys.enter()
    wait_for(lambda: site.show(second)["status"] == "closed", 15, "the issue withdrawn")


def test_reporting_a_call_with_the_keyboard_alone(person: Person, site: Site) -> None:
    keys = person.keys
    sign_in_by_keyboard(person, "sam", site.account("sam", "staff"))
    go(person, "Report an issue", "Report an issue")
    keys.tab_to("Request type")
    keys.type("Pothole")  # the closed select takes the type its name begins with
    keys.tab_to("Choose this type")
    keys.space()
    person.waits_to_see("The report: Pothole")

    keys.tab_to("Summary (required)")
    keys.type("Pothole at 40 Elm Street")
    keys.tab_to("Latitude (required)")
    keys.type("41.3083")
    keys.tab()
    assert keys.describe() == "Longitude (required)"
    keys.type("-72.9279")
    keys.tab_to("Is the pothole in a travel lane?", starts=True)
    keys.type("Yes")
    keys.tab_to("Approximate size", starts=True)
    keys.type("Smaller")
    keys.tab_to("Email for follow-up", starts=True)
    keys.type("r@example.org")
    keys.tab_to("Report issue")
    keys.enter()
    person.waits_to_see("Reported as issue")
    issue_id = int(person.path.rsplit("/", 1)[-1])
    wait_for(lambda: site.show(issue_id)["status"] == "acknowledged", 15, "the report sent")
    assert site.show(issue_id)["summary"] == "Pothole at 40 Elm Street"
