"""An issue's day in the browser: after a fault its create fails and the Overview shows it
failing; from its page `Retry now` gets it acknowledged with its remote id, and a comment
added there reaches the remote system (the Cityworks emulator)."""

from __future__ import annotations

from scf_cityworks.standin import EmulatorStaff

from scf_plugins.testing import wait_for

from .person import Person
from .site import Site


def test_a_failing_issue_is_retried_from_its_page_and_a_comment_reaches_the_emulator(
    person: Person, site: Site
) -> None:
    password = site.account("sam", "staff")
    # The emulator answers the next create 503: the issue waits, failing, for its back-off.
    site.emulator.state.inject("503", count=1, match="servicerequest/create")
    issue_id = site.report("Pothole outside number 12")
    wait_for(lambda: site.show(issue_id)["sync"]["last_error"], 15, "the create to fail")

    person.sign_in("sam", password)
    person.waits_to_see("Needs attention")
    assert person.sees("cityworks: 1 failing")
    person.link("1 failing").click()
    person.waits_to_see("Pothole outside number 12")
    assert person.path == "/console/issues"
    person.link(str(issue_id)).click()
    person.waits_to_see("What is wrong now")
    assert person.path == f"/console/issues/{issue_id}"
    assert person.sees("HTTP 503") and person.sees("Open")

    person.press("Retry now")
    person.waits_to_see("will be tried again")  # the answer to the POST, before reloading
    person.waits_to_see("Acknowledged", timeout=15, reload=True)
    remote_id = site.harness.remote_id(issue_id)
    assert person.sees(f"remote id {remote_id}")
    assert not person.sees("What is wrong now")
    assert "Retry now" not in person.buttons()

    person.fill("Comment", "Crew: the hole is by the drain, not the kerb.")
    person.press("Add comment")
    person.waits_to_see("the hole is by the drain")  # on the timeline at once
    city = EmulatorStaff(site.emulator.state)
    wait_for(
        lambda: any("the hole is by the drain" in c for c in city.comment_texts(str(remote_id))),
        15,
        "the comment to reach the emulator",
    )
