"""The console's Issues and Issue pages: filters, search and pages over ``scf issues list``'s
query; an issue's staff and public views; each action through the core (audited, the engine
woken), refused by the core when the state does not allow it, and never without the form's
CSRF token; unknown ids are 404 pages; nothing a resident wrote becomes markup."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select, update

from scf_plugins.intake.reporting import Report
from scf_plugins.ops import audit, staff
from scf_plugins.ops import issues as desk
from scf_plugins.server.console.issues import STATUS_LABELS
from scf_plugins.store.tables import comments, issues
from scf_plugins.store.writes import insert_comment
from scf_plugins.testing import Harness

from .consoled import ACTOR, CHEAP, Client, Consoled, make_account, serve_console

ROW = re.compile(r'<th scope="row"><a href="/console/issues/(\d+)">')


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


class Desk:
    """A world on the Cityworks emulator, its console with the admin ``ada`` and the staff
    account ``sam``, and a record of the engine's wake-ups."""

    def __init__(self, w: Harness) -> None:
        self.w = w
        self.served: Consoled = serve_console(w)
        self.woken: list[int] = []
        self.served.ctx.wake = lambda: self.woken.append(1)
        make_account(self.served, "ada", "admin")
        make_account(self.served, "sam", "staff")

    @property
    def store(self) -> Any:
        return self.served.store

    def signed_in(self, name: str = "ada") -> Client:
        client = self.served.client()
        assert client.sign_in(name).status_code == 303
        return client

    def audited(self) -> list[tuple[str, str, int | None, str]]:
        """The audit log's entries about issues, oldest first: (actor, action, issue, detail);
        not the reports the tests make to have issues."""
        entries = audit.listed(self.store)[::-1]
        return [(e.actor, e.action, e.issue_id, e.detail) for e in entries
                if e.action.startswith("issues.") and e.action != "issues.report"]  # fmt: skip

    def row(self, issue_id: int) -> Any:
        with self.store.read() as conn:
            return conn.execute(select(issues).where(issues.c.id == issue_id)).one()

    def set_row(self, issue_id: int, **values: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(update(issues).where(issues.c.id == issue_id).values(**values))

    def many(self, count: int, summary: str = "Pothole {n}") -> list[int]:
        """``count`` POTHOLE issues stored as ``scf report`` stores them (no CLI per issue)."""
        w = self.w

        def type_of(code: str) -> Any:
            return self.store.request_type(code)

        made = []
        for n in range(count):
            given = Report("POTHOLE", summary.format(n=n), 41.3083, -72.9279,
                           answers=(("501", "Yes"), ("502", "Smaller than a dinner plate"),
                                    ("503", "r@example.org")))  # fmt: skip
            made.append(desk.report(w.settings, self.store, type_of, given, (), actor=ACTOR))
        return made


@pytest.fixture
def d(world: Callable[..., Harness]) -> Desk:
    return Desk(world())


def listed(client: Client, query: str = "") -> list[int]:
    """The issue ids the Issues page lists for ``query``, in order."""
    page = client.get("/console/issues" + query)
    assert page.status_code == 200, page.text
    return [int(i) for i in ROW.findall(page.text)]


def part(page: str, heading_id: str) -> str:
    """The section of ``page`` under the heading ``heading_id``."""
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def follow(client: Client, answer: requests.Response) -> str:
    """The page a POST's 303 leads to (its flash message shown)."""
    assert answer.status_code == 303, answer.text
    return client.get(answer.headers["location"]).text


def flash(page: str) -> str:
    found = re.search(r'<p class="flash (?:good|bad)"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no flash message"
    return html.unescape(re.sub(r"<[^>]+>", "", str(found.group(1))))


def link(page: str, rel: str) -> str:
    """Where the page's ``rel`` link (``next``, ``prev``) goes."""
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    assert found, f"no {rel} link"
    return html.unescape(found.group(1))


def photo(tmp_path: Path) -> str:
    path = tmp_path / "hole.png"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 255)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


# -- the Issues page -------------------------------------------------------------------------


def test_filters_and_search_list_what_scf_issues_list_lists(d: Desk) -> None:
    w = d.w
    acknowledged = [w.report(summary=f"Deep pothole {n}", address="Elm St") for n in range(2)]
    assert w.sync().acknowledged == 2
    failing = w.report(summary="Sign 50% bent", address="Oak Ave")
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    assert w.sync().errors == 1
    underscore = w.report(summary="Tag reads a_b", address="165 Church St")
    plain = w.report(summary="Tag reads axb and 50 more")
    sam = d.signed_in("sam")  # any signed-in account

    assert listed(sam) == [plain, underscore, failing, *acknowledged[::-1]]
    assert listed(sam, "?status=failing&integration=cityworks") == [failing]
    assert listed(sam, "?status=acknowledged") == acknowledged[::-1]
    assert listed(sam, "?status=open&integration=cityworks") == [plain, underscore, failing]
    assert listed(sam, "?status=closed") == []
    assert listed(sam, f"?search={failing}") == [failing]
    assert listed(sam, "?search=ELM+st") == acknowledged[::-1]
    assert listed(sam, "?search=165") == [underscore]  # a number finds addresses too
    assert listed(sam, "?search=50%25") == [failing]  # "%" is a character, not a wildcard
    assert listed(sam, "?search=a_b") == [underscore]  # and so is "_"
    assert listed(sam, "?search=_") == [underscore]
    assert listed(sam, "?search=tag&status=open") == [plain, underscore]

    page = sam.get("/console/issues?status=failing&integration=cityworks").text
    assert ">Failing issues of cityworks, newest first</caption>" in page
    assert '<option value="failing" selected>' in page
    assert '<option value="cityworks" selected>' in page
    for header in ("Id", "Status", "Type", "Integration", "Remote id", "Summary"):
        assert f'<th scope="col">{header}</th>' in page
    row = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "<td>Open</td>" in row and "Failing (ambiguous, attempt 1)" in row
    for label in ("Status", "Integration", "Search"):
        assert re.search(rf'<label for="\w+">{label}</label>', page)
    acked = sam.get("/console/issues?status=acknowledged").text
    assert (
        "<td>Acknowledged</td>" in acked and f"<td>{d.row(acknowledged[0]).remote_id}</td>" in acked
    )


def test_a_query_that_is_not_valid_gives_the_page_with_one_line(d: Desk) -> None:
    ada = d.signed_in()
    for status in STATUS_LABELS:  # every filter the Overview links to is taken
        assert ada.get(f"/console/issues?status={status}&integration=cityworks").status_code == 200
    for query, says in [
        ("?status=bogus", "there is no status 'bogus'; use one of: open, acknowledged"),
        ("?integration=nowhere", "there is no integration 'nowhere'; the integrations: cityworks"),
        ("?search=" + "x" * 201, "the search is 201 characters long; the most is 200"),
        ("?search=a%00b", "the search contains a control character"),
        ("?before=abc", "before must be an issue id (a whole number)"),
        ("?after=-1", "after must be an issue id (a whole number)"),
        ("?before=99999999999999999999", "before must be an issue id"),
        ("?before=3&after=1", "give before or after, not both"),
    ]:
        page = ada.get("/console/issues" + query)
        assert page.status_code == 400, (query, page.status_code)
        assert says in html.unescape(page.text), query
        assert '<form method="get" action="/console/issues"' in page.text  # the form stays


def test_pages_of_50_newest_first_with_previous_and_next(d: Desk) -> None:
    d.w.report()  # loads the request types
    made = [1, *d.many(119)]
    assert made == list(range(1, 121))
    ada = d.signed_in()
    first = ada.get("/console/issues").text
    assert [int(i) for i in ROW.findall(first)] == list(range(120, 70, -1))
    assert "Previous" not in first
    next_link = link(first, "next")
    assert next_link == "/console/issues?before=71"

    d.many(1, "Reported while paging")  # issue 121: the next page does not shift
    second = ada.get(next_link).text
    assert [int(i) for i in ROW.findall(second)] == list(range(70, 20, -1))
    third_link = link(second, "next")
    third = ada.get(third_link).text
    assert [int(i) for i in ROW.findall(third)] == list(range(20, 0, -1))
    assert 'rel="next"' not in third
    back = link(third, "prev")
    assert back == "/console/issues?after=20"
    assert [int(i) for i in ROW.findall(ada.get(back).text)] == list(range(70, 20, -1))
    newest = link(second, "prev")
    assert [int(i) for i in ROW.findall(ada.get(newest).text)] == list(range(120, 70, -1))

    # A filter is kept from page to page.
    filtered = ada.get("/console/issues?status=open&search=pothole").text
    assert link(filtered, "next") == "/console/issues?status=open&search=pothole&before=71"
    beyond = ada.get("/console/issues?before=1")
    assert beyond.status_code == 200 and "No issue matches." in beyond.text


# -- the Issue page ----------------------------------------------------------------------------


def test_the_staff_view_beside_the_public_view(d: Desk, tmp_path: Path) -> None:
    w = d.w
    issue_id = w.report(summary="Deep pothole", address="Elm St", name="Jane Doe",
                        email="jane@example.org", image=[photo(tmp_path)])  # fmt: skip
    assert w.sync().acknowledged == 1
    rid = d.row(issue_id).remote_id
    w.emulator.state.staff("comment", w.remote_id(issue_id), text="To SCF: Crew booked for Monday")
    w.later(minutes=10)
    w.sync()
    with d.store.transaction() as conn:
        insert_comment(conn, issue_id, "Jane", "It got bigger", "comment",
                       client_ref="fixmystreet:1", via="fixmystreet")  # fmt: skip
    ada = d.signed_in()
    ada.get(f"/console/issues/{issue_id}")
    ada.submit(f"/console/issues/{issue_id}/comment", {"comment": "Checked by phone"})
    page = ada.get(f"/console/issues/{issue_id}").text
    assert f"<h1>Issue {issue_id}</h1>" in page

    staff_view, public_view = part(page, "staff-view"), part(page, "public-view")
    for view in (staff_view, public_view):
        assert "Deep pothole" in view and "Elm St" in view and rid in view
        assert "41.3083, -72.9279" in view and "POTHOLE" in view and "cityworks" in view
        assert "Is the pothole in a travel lane?" in view
        assert re.search(r'<img src="/media/[\w-]+\.jpg" alt="Photo 1 of issue \d+ \(', view), view
        kinds = re.findall(r'<p class="meta"><strong>([^<]+)</strong>', view)
        assert kinds[0] == "Reported" and "System message" in kinds
        assert "Comment from the remote system" in kinds and "Local comment" in kinds
        assert kinds.index("Comment from the remote system") < kinds.index("Local comment")
        assert "Crew booked for Monday" in view and "Checked by phone" in view
    assert "jane@example.org" in staff_view and "Jane Doe" in staff_view
    assert "r@example.org" in staff_view  # the private answer, marked as such
    assert re.search(r'r@example.org <span class="tag">private</span>', staff_view)
    assert "Resident update (through API key fixmystreet)" in staff_view
    assert "@" not in public_view  # neither the email nor the private answer
    assert "Email for follow-up" not in public_view and "Jane Doe" not in public_view
    assert "Resident update" in public_view and "fixmystreet" not in public_view
    # Acknowledged: withdraw, resubmit and comment; not retry, edit, release, recategorize.
    actions = part(page, "actions")
    assert "Withdraw</button>" in actions and "Add comment</button>" in actions
    assert "Resubmit</button>" in actions and "Retry now" not in actions
    assert "the remote system is not touched" in html.unescape(actions).lower()
    assert f"its request {rid} stays as it is" in actions
    assert 'id="edit"' not in page and 'id="recategorize"' not in page
    typed = ada.get(f"/console/issues/{issue_id}?type=GRAFFITI").text
    assert "Only an Open issue not sent yet can be given another request type." in typed
    assert '<label for="comment">Comment</label>' in actions


def test_what_is_wrong_now_and_retry_now(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    assert w.sync().errors == 1
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    wrong = part(page, "wrong")
    assert "Last error" in wrong and "(ambiguous)" in wrong and "Attempts" in wrong
    assert "Next try" in wrong
    assert "Retry now</button>" in page
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/retry")))
    assert said.startswith("1 issue(s) and 0 comment(s) or photo(s) will be tried again")
    assert d.woken == [1]
    assert d.audited()[-1] == ("ada (console)", "issues.retry", issue_id, "retried")
    assert w.sync().acknowledged == 1
    assert "Retry now" not in ada.get(f"/console/issues/{issue_id}").text


def test_add_comment_reaches_the_remote_request(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    w.sync()
    sam = d.signed_in("sam")
    sam.get(f"/console/issues/{issue_id}")
    said = flash(follow(sam, sam.submit(f"/console/issues/{issue_id}/comment",
                                        {"comment": "Crew on the way\r\nsoon"})))  # fmt: skip
    assert said == "Comment added; it goes to the remote request on the next pass."
    [*_, mine] = w.show(issue_id)["comments"]
    assert (mine["author"], mine["text"], mine["kind"]) == (
        "sam",
        "Crew on the way\nsoon",
        "comment",
    )
    assert d.audited()[-1][:3] == ("sam (console)", "issues.comment", issue_id)
    assert d.woken
    w.sync()
    sent = [c["Comments"] for c in w.emulator.state.comments[w.remote_id(issue_id)]]
    assert any("Crew on the way\nsoon" in text for text in sent), sent
    empty = follow(sam, sam.submit(f"/console/issues/{issue_id}/comment", {"comment": "  "}))
    assert flash(empty) == "Error: the comment must be 1 to 5000 characters"


def test_withdraw_needs_a_reason_and_leaves_the_remote_system_alone(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    w.sync()
    ada = d.signed_in()
    ada.get(f"/console/issues/{issue_id}")
    refused = follow(ada, ada.submit(f"/console/issues/{issue_id}/withdraw", {"reason": " "}))
    assert flash(refused) == "Error: The reason must be 1 to 500 printable characters."
    assert d.row(issue_id).status == "acknowledged" and d.audited() == []
    done = follow(ada, ada.submit(f"/console/issues/{issue_id}/withdraw",
                                  {"reason": "A duplicate of 12"}))  # fmt: skip
    assert flash(done).startswith(f"Issue {issue_id} withdrawn: closed here; the remote system was")
    assert d.row(issue_id).status == "closed"
    assert d.audited()[-1] == ("ada (console)", "issues.withdraw", issue_id,
                               "withdrew: A duplicate of 12")  # fmt: skip
    assert "Withdraw</button>" not in done  # closed: nothing to withdraw any more


def test_release_with_a_corrected_address(d: Desk) -> None:
    w = d.w
    issue_id = w.report(address="Elm St")
    d.set_row(issue_id, held=True, last_error="address not verified", last_error_kind="held")
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    assert "Held" in part(page, "wrong") and "Release</button>" in page
    assert "Retry now" not in page  # held: waiting for its address, not a back-off
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/release",
                                        {"address": "165 Church St"})))  # fmt: skip
    assert said == f"Issue {issue_id} released; it is sent on the next pass."
    row = d.row(issue_id)
    assert not row.held and row.address == "165 Church St"
    assert d.audited()[-1] == ("ada (console)", "issues.release", issue_id,
                               "released with a corrected address")  # fmt: skip
    assert w.sync().acknowledged == 1


def test_edit_changes_only_what_the_form_changed(d: Desk) -> None:
    w = d.w
    issue_id = w.report(summary="Deep pothole", address="Elm St", description="One\nTwo")
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    form = part(page, "edit")
    assert 'value="Deep pothole"' in form and 'value="Elm St"' in form
    assert ">One\nTwo</textarea>" in form and 'value="41.3083"' in form
    assert '<option value="Yes" selected>' in form  # the answers as they are
    fields = {"summary": "Deep pothole", "description": "One\r\nTwo", "address": "Elm St",
              "lat": "41.3083", "lng": "-72.9279", "answer:501": "Yes",
              "answer:502": "Smaller than a dinner plate", "answer:503": "r@example.org"}  # fmt: skip
    same = follow(ada, ada.submit(f"/console/issues/{issue_id}/edit", fields))
    assert flash(same) == "Error: Nothing was changed: the form held the issue's current values."
    changed = {**fields, "summary": "Very deep pothole", "answer:502": "Larger than a dinner plate"}
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/edit", changed)))
    assert said == f"Issue {issue_id} corrected; it is sent on the next pass."
    shown = w.show(issue_id)
    assert shown["summary"] == "Very deep pothole" and shown["description"] == "One\nTwo"
    assert [a["answer"] for a in shown["answers"]] == [
        "Yes", "Larger than a dinner plate", "r@example.org"]  # fmt: skip
    assert d.audited()[-1] == ("ada (console)", "issues.edit", issue_id,
                               "edited: summary, answers")  # fmt: skip
    bad = follow(ada, ada.submit(f"/console/issues/{issue_id}/edit", {**changed, "lat": "north"}))
    assert flash(bad) == "Error: Latitude must be a number, such as 41.3083"
    w.sync()
    assert 'id="edit"' not in ada.get(f"/console/issues/{issue_id}").text  # sent: no edit


def test_recategorize_chooses_the_type_then_answers_its_questions(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    assert '<option value="STREETLIGHT">' in part(page, "recategorize")
    chosen = ada.get(f"/console/issues/{issue_id}?type=STREETLIGHT").text
    form = part(chosen, "recategorize")
    assert "Pole number (on the tag)" in form and "Contact E-Mail (private)" in form
    assert '<input type="hidden" name="type" value="STREETLIGHT">' in form
    unknown = ada.get(f"/console/issues/{issue_id}?type=NOPE").text
    assert "There is no stored request type &#39;NOPE&#39;" in unknown
    answers = {"type": "STREETLIGHT", "answer:521": "P-17", "answer:522": "Flickering",
               "answer:523": ""}  # fmt: skip
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/recategorize", answers)))
    assert said.startswith("Error: question 523 (Contact E-Mail) needs an answer")
    assert w.show(issue_id)["request_type"] == "POTHOLE"
    answers["answer:523"] = "jo@example.org"
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/recategorize", answers)))
    assert said == f"Issue {issue_id} is now STREETLIGHT, served by cityworks."
    shown = w.show(issue_id)
    assert shown["request_type"] == "STREETLIGHT"
    assert [a["answer"] for a in shown["answers"]] == ["P-17", "Flickering", "jo@example.org"]
    assert d.audited()[-1] == ("ada (console)", "issues.recategorize", issue_id,
                               "recategorized from POTHOLE to STREETLIGHT")  # fmt: skip


def test_resubmit_sends_it_anew(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    w.sync()
    first = d.row(issue_id).remote_id
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    assert 'value="its earlier request could not be followed"' in part(page, "actions")
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/resubmit",
                                        {"reason": "the crew lost it"})))  # fmt: skip
    assert said.startswith(f"Issue {issue_id} resubmitted: sent anew on the next pass")
    assert d.row(issue_id).remote_id is None
    assert d.audited()[-1] == ("ada (console)", "issues.resubmit", issue_id,
                               "resubmitted: the crew lost it")  # fmt: skip
    assert w.sync().acknowledged == 1 and d.row(issue_id).remote_id != first


# -- refusals ------------------------------------------------------------------------------------


def test_a_forged_post_is_refused_by_the_core_and_changes_nothing(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    w.sync()
    before = dict(d.row(issue_id)._mapping)
    ada = d.signed_in()
    page = ada.get(f"/console/issues/{issue_id}").text
    assert "Release</button>" not in page and "Retry now" not in page
    for action, fields, says in [
        ("release", {}, f"Error: issue {issue_id} is not held"),
        ("retry", {}, "Error: none of these issues is Open and waiting to be sent"),
        ("edit", {"summary": "Changed"}, f"Error: issue {issue_id} is acknowledged and linked"),
        ("recategorize", {"type": "GRAFFITI"}, f"Error: issue {issue_id} is acknowledged"),
    ]:
        shown = follow(ada, ada.submit(f"/console/issues/{issue_id}/{action}", fields))
        assert flash(shown).startswith(says), (action, flash(shown))
        assert f"<h1>Issue {issue_id}</h1>" in shown
    ada.submit(f"/console/issues/{issue_id}/withdraw", {"reason": "gone"})
    closed = follow(ada, ada.submit(f"/console/issues/{issue_id}/resubmit", {"reason": "again"}))
    assert flash(closed) == f"Error: Issue {issue_id} not resubmitted: it is closed already."
    again = follow(ada, ada.submit(f"/console/issues/{issue_id}/withdraw", {"reason": "again"}))
    assert flash(again) == f"Error: Issue {issue_id} not withdrawn: it is closed already."
    after = dict(d.row(issue_id)._mapping)
    assert after["status"] == "closed"
    assert {k: v for k, v in after.items() if k not in ("status", "updated_at", "closed_at",
            "remote_id", "link_endpoint", "link_environment", "remote_status", "marker")} == {
        k: v for k, v in before.items() if k not in ("status", "updated_at", "closed_at",
        "remote_id", "link_endpoint", "link_environment", "remote_status", "marker")}  # fmt: skip
    assert [a[1] for a in d.audited()] == ["issues.withdraw"]  # only what was done


def test_a_post_without_the_csrf_token_changes_nothing(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    ada = d.signed_in()
    ada.get(f"/console/issues/{issue_id}")
    for action, fields in [("comment", {"comment": "sneaky"}), ("withdraw", {"reason": "x"}),
                           ("edit", {"summary": "Changed"}), ("retry", {})]:  # fmt: skip
        for token in (None, "forged"):
            data = fields if token is None else {**fields, "csrf_token": token}
            answer = ada.post(f"/console/issues/{issue_id}/{action}", data)
            assert answer.status_code == 403, (action, token)
    with d.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(comments)).scalar() == 0
    row = d.row(issue_id)
    assert (row.status, row.summary) == ("open", "Deep pothole")
    assert d.audited() == [] and d.woken == []


def test_unknown_and_not_numeric_ids_are_404_pages(d: Desk) -> None:
    ada = d.signed_in()
    for path in ("/console/issues/999", "/console/issues/abc", "/console/issues/-1",
                 "/console/issues/99999999999999999999", "/console/issues/1.5"):  # fmt: skip
        page = ada.get(path)
        assert page.status_code == 404, path
        assert "<h1>Not found</h1>" in page.text
    assert "There is no issue 999." in ada.get("/console/issues/999").text
    ada.get("/console/issues")
    gone = ada.submit("/console/issues/999/comment", {"comment": "hello"})
    assert gone.headers["location"] == "/console/issues/999"
    page = ada.get("/console/issues/999")
    assert page.status_code == 404 and "there is no issue 999" in flash(page.text)
    huge = ada.submit("/console/issues/99999999999999999999/retry")
    assert huge.status_code == 404


def test_html_a_resident_or_staff_wrote_is_shown_as_text(d: Desk) -> None:
    w = d.w
    issue_id = w.report(summary='<script>alert("x")</script>', address="<b>Elm</b> St")
    ada = d.signed_in()
    ada.get(f"/console/issues/{issue_id}")
    ada.submit(f"/console/issues/{issue_id}/comment", {"comment": '<img src=x onerror="boom">'})
    for page in (ada.get(f"/console/issues/{issue_id}").text, ada.get("/console/issues").text,
                 ada.get("/console/issues?search=%3Cscript%3E").text):  # fmt: skip
        assert "<script>" not in page and "<b>Elm" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
    page = ada.get(f"/console/issues/{issue_id}").text
    assert "&lt;img src=x onerror=&#34;boom&#34;&gt;" in page


def test_edit_keeps_each_option_of_a_multiple_choice(basic: Harness) -> None:
    issue_id = basic.report("SIGNS", "21=3", "22=Stop", "22=Yield", "24=No")
    served = serve_console(basic)
    make_account(served, "ada", "admin")
    ada = served.client()
    ada.sign_in("ada")
    form = part(ada.get(f"/console/issues/{issue_id}").text, "edit")
    assert "<legend>Which kinds?</legend>" in form
    assert re.search(r'name="answer:22" value="Stop" checked>', form)
    assert re.search(r'name="answer:22" value="Yield" checked>', form)
    assert re.search(r'name="answer:22" value="Street name">', form)
    assert "Please do not touch a fallen sign." in form  # an info question is shown, not asked
    kept = [("csrf_token", ada.csrf), ("summary", "Deep pothole"), ("lat", "41.3083"),
            ("lng", "-72.9279"), ("answer:21", "3"), ("answer:24", "No")]  # fmt: skip
    path = f"/console/issues/{issue_id}/edit"
    said = flash(follow(ada, ada.post(path, [*kept, ("answer:22", ""), ("answer:22", "Stop"),
                                             ("answer:22", "Street name")])))  # fmt: skip
    assert said == f"Issue {issue_id} corrected; it is sent on the next pass."
    answers = [(a["question_id"], a["answer"]) for a in basic.show(issue_id)["answers"]]
    assert answers == [("21", "3"), ("22", "Stop"), ("22", "Street name"), ("24", "No")]
    none = flash(follow(ada, ada.post(path, [*kept, ("answer:22", "")])))
    assert "question 22 (Which kinds?) needs an answer" in none
