"""The console's Report an issue page: a call-taker chooses the request type, fills one form,
and the report goes through ``scf report``'s core (the intake's checks, audited, the engine
woken) to the Cityworks emulator; a refusal shows the form again with what was typed and each
problem beside its field, in the form's words; nothing typed becomes markup."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from scf_plugins.ops import audit, staff
from scf_plugins.store.tables import issues
from scf_plugins.testing import Harness
from scf_plugins.testing.smtp_sink import SmtpSink

from .consoled import CHEAP, Client, Consoled, make_account, serve_console

NEW = "/console/issues/new"
EMAIL = """
[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Testville 311 <no-reply@testville.gov>"

[server]
public_url = "http://311.testville.gov"  # http: the test client sends its cookies
"""
# A pothole as a resident tells it on the phone, with the emulator's three questions.
CALL = {
    "type": "POTHOLE",
    "summary": "Deep pothole by the library",
    "description": "Near the steps\r\nabout a foot wide",
    "address": "165 Church St",
    "lat": "41.3083",
    "lng": "-72.9279",
    "name": "Jane Doe",
    "email": "jane@example.org",
    "phone": "555-0100",
    "answer:501": "Yes",
    "answer:502": "Larger than a dinner plate",
    "answer:503": "follow-up@example.org",
}


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """The city's mail server, on a free loopback port."""
    with SmtpSink() as server:
        yield server


class Desk:
    """A world on the Cityworks emulator whose mail server is the sink, its console with the
    staff account ``sam``, and a record of the engine's wake-ups."""

    def __init__(self, w: Harness) -> None:
        self.w = w
        self.served: Consoled = serve_console(w)
        self.woken: list[int] = []
        self.served.ctx.wake = lambda: self.woken.append(1)
        make_account(self.served, "sam", "staff")

    @property
    def store(self) -> Any:
        return self.served.store

    def signed_in(self, name: str = "sam") -> Client:
        client = self.served.client()
        assert client.sign_in(name).status_code == 303
        return client

    def count(self) -> int:
        with self.store.read() as conn:
            found: int = conn.execute(select(func.count()).select_from(issues)).scalar_one()
            return found

    def reports(self) -> list[tuple[str, str, int | None, str | None, str]]:
        """The audit's report entries, oldest first."""
        return [(e.actor, e.action, e.issue_id, e.integration, e.detail)
                for e in audit.listed(self.store)[::-1] if e.action == "issues.report"]  # fmt: skip


@pytest.fixture
def d(world: Callable[..., Harness], sink: SmtpSink) -> Desk:
    return Desk(world(tail=EMAIL.format(port=sink.port)))


def call(client: Client, fields: dict[str, str] | None = None) -> requests.Response:
    """Open the form of the call's type, then send ``fields`` (default the whole call)."""
    fields = CALL if fields is None else fields
    client.get(f"{NEW}?type={fields.get('type', 'POTHOLE')}")
    return client.submit(NEW, fields)


def beside(page: str, control: str) -> str:
    """The problem shown beside the control ``control`` (its id), as text ('' when none)."""
    found = re.search(rf'<p id="{control}-problem" class="flash bad">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""


def section(page: str, heading_id: str) -> str:
    """The section of ``page`` under the heading ``heading_id``."""
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def flash(page: str) -> str:
    found = re.search(r'<p class="flash (?:good|bad)" role="[a-z]+">(.*?)</p>', page, re.S)
    assert found, "no flash message"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def follow(client: Client, answer: requests.Response) -> str:
    """The page a POST's 303 leads to."""
    assert answer.status_code == 303, answer.text
    return client.get(answer.headers["location"]).text


# -- reporting -------------------------------------------------------------------------------


def test_a_call_reported_in_the_console_reaches_acknowledged(d: Desk, sink: SmtpSink) -> None:
    w = d.w
    sam = d.signed_in()  # any signed-in account may report
    listing = sam.get("/console/issues").text
    assert '<a href="/console/issues/new">Report an issue</a>' in listing
    assert re.search(r'<nav aria-label="Console">.*href="/console/issues/new"', listing, re.S)

    chooser = sam.get(NEW).text
    assert "<h1>Report an issue</h1>" in chooser
    assert '<option value="POTHOLE">Pothole (POTHOLE, cityworks)</option>' in chooser
    assert 'name="summary"' not in chooser  # the form comes once the type is chosen
    assert '<a href="/console/issues/new" aria-current="page">Report an issue</a>' in chooser
    assert '<a href="/console/issues" aria-current' not in chooser  # one current link

    form = section(sam.get(f"{NEW}?type=POTHOLE").text, "details")
    asked = re.findall(r'<label for="report-q\d">([^<]+)</label>', form)
    assert asked == [
        "Is the pothole in a travel lane? (required)",
        "Approximate size (required)",
        "Email for follow-up (required) (private)",
    ]  # in their order, required and private said in words
    for label in ("Summary (required)", "Latitude (required)", "Longitude (required)",
                  "Description (optional)", "Name (optional)", "Email (optional)"):  # fmt: skip
        assert f">{label}</label>" in form

    answer = sam.submit(NEW, CALL)
    assert answer.status_code == 303, answer.text
    issue_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert answer.headers["location"] == f"/console/issues/{issue_id}"
    page = sam.get(answer.headers["location"]).text
    assert flash(page) == f"Reported as issue {issue_id}."
    assert d.woken == [1]
    assert d.reports() == [("sam (console)", "issues.report", issue_id, "cityworks",
                            "reported POTHOLE")]  # fmt: skip
    shown = w.show(issue_id)
    assert (shown["summary"], shown["description"]) == (
        CALL["summary"],
        "Near the steps\nabout a foot wide",
    )
    assert (shown["lat"], shown["lng"], shown["address"]) == (41.3083, -72.9279, "165 Church St")
    assert [a["answer"] for a in shown["answers"]] == [
        "Yes", "Larger than a dinner plate", "follow-up@example.org"]  # fmt: skip

    assert w.sync().acknowledged == 1
    remote_id = w.show(issue_id)["remote_id"]
    assert remote_id and w.emulator.state.requests  # the request is in Cityworks
    page = sam.get(f"/console/issues/{issue_id}").text
    assert "Acknowledged</span>" in page and f"remote id {remote_id}" in page
    # The resident's email was kept for them: the acknowledgement went there.
    (ack,) = sink.wait_for(1)
    assert ack.rcpt_tos == ("jane@example.org",) and remote_id in ack.part()


def test_scf_report_is_audited_too(d: Desk) -> None:
    issue_id = d.w.report()
    [(actor, *entry)] = d.reports()
    assert actor.endswith(" (cli)") and entry == ["issues.report", issue_id, "cityworks",
                                                  "reported POTHOLE"]  # fmt: skip


def test_private_answers_and_the_residents_details_stay_out_of_the_public_view(d: Desk) -> None:
    sam = d.signed_in()
    issue_id = int(call(sam).headers["location"].rsplit("/", 1)[1])
    page = sam.get(f"/console/issues/{issue_id}").text
    staff_view, public_view = section(page, "staff-view"), section(page, "public-view")
    assert "follow-up@example.org" in staff_view and "jane@example.org" in staff_view
    assert "Jane Doe" in staff_view and "555-0100" in staff_view
    assert re.search(r'follow-up@example.org <span class="tag">private</span>', staff_view)
    assert "@" not in public_view and "Jane Doe" not in public_view
    assert "555-0100" not in public_view and "Email for follow-up" not in public_view
    assert "Is the pothole in a travel lane?" in public_view  # a public answer is there
    with d.store.read() as conn:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).one()
    assert (row.reporter_email, row.reporter_phone) == ("jane@example.org", "555-0100")


# -- refusals --------------------------------------------------------------------------------


def test_each_problem_is_shown_beside_its_field_with_what_was_typed(d: Desk) -> None:
    sam = d.signed_in()
    typed = {**CALL, "summary": "  ", "lat": "", "lng": "east", "email": "jane at home",
             "answer:501": "", "answer:503": ""}  # fmt: skip
    refused = call(sam, typed)
    assert refused.status_code == 400
    page = refused.text
    assert beside(page, "report-summary") == "Error: Summary is required and cannot be blank"
    assert beside(page, "report-lat") == "Error: Latitude is required"
    assert beside(page, "report-lng") == "Error: Longitude must be a number, such as -72.9279"
    assert beside(page, "report-email") == (
        "Error: Email 'jane at home' is not an email address; use name@example.org"
    )
    assert beside(page, "report-q1") == (
        "Error: Question 501 (Is the pothole in a travel lane?) needs an answer: "
        "give one in the form")  # fmt: skip
    assert beside(page, "report-q3").startswith("Error: Question 503 (Email for follow-up)")
    assert beside(page, "report-q2") == "" and beside(page, "report-name") == ""
    assert "--" not in html.unescape(section(page, "details"))  # no option of `scf report`
    # Listed above the form too, each a link to its field.
    start = page.index('id="problems"')
    summary = page[start : page.index("</ul>", start)]
    assert re.findall(r'<a href="#([\w-]+)">', summary) == [
        "report-summary", "report-lat", "report-lng", "report-email", "report-q1", "report-q3"
    ]  # in the form's order  # fmt: skip
    assert '<a href="#report-summary">Summary is required' in summary
    assert '<a href="#report-q1">Question 501' in summary
    assert (
        'id="report-lat" name="lat" type="text" value="" inputmode="decimal" aria-invalid='
        '"true" aria-describedby="report-lat-problem report-lat-hint">'
    ) in page
    # What was typed is kept.
    assert 'value="east"' in page and 'value="jane at home"' in page
    assert 'value="165 Church St"' in page and 'value="Jane Doe"' in page
    assert ">Near the steps\r\nabout a foot wide</textarea>" in page
    assert '<option value="Larger than a dinner plate" selected>' in page
    assert '<input type="hidden" name="type" value="POTHOLE">' in page
    assert d.count() == 0 and d.reports() == [] and d.woken == []


def test_a_type_that_is_not_stored_is_refused_with_the_chooser(d: Desk) -> None:
    sam = d.signed_in()
    unknown = sam.get(f"{NEW}?type=NOPE")
    assert unknown.status_code == 400
    assert "There is no stored request type &#39;NOPE&#39;" in unknown.text
    assert 'name="summary"' not in unknown.text
    assert sam.get(f"{NEW}?type=").status_code == 400
    forged = sam.submit(NEW, {**CALL, "type": "NOPE"})
    assert forged.status_code == 400 and "no stored request type" in forged.text
    assert d.count() == 0


def test_a_post_without_the_csrf_token_changes_nothing(d: Desk) -> None:
    sam = d.signed_in()
    sam.get(f"{NEW}?type=POTHOLE")
    for token in (None, "forged"):
        data = CALL if token is None else {**CALL, "csrf_token": token}
        assert sam.post(NEW, data).status_code == 403
    assert d.count() == 0 and d.reports() == [] and d.woken == []
    assert d.served.client().get(NEW).headers["location"].startswith("/console/login")


def test_html_typed_in_a_field_is_shown_as_text(d: Desk) -> None:
    sam = d.signed_in()
    hostile = {**CALL, "summary": '<script>alert("x")</script>', "address": '"><b>Elm</b>',
               "name": "<img src=x onerror=boom>", "lat": "north"}  # fmt: skip
    page = call(sam, hostile).text
    assert "<script>alert" not in page and "<b>Elm" not in page and "<img src=x" not in page
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"' in page
    assert 'value="&#34;&gt;&lt;b&gt;Elm&lt;/b&gt;"' in page
    reported = call(sam, {**hostile, "lat": "41.3083"})
    shown = sam.get(reported.headers["location"]).text
    assert "<script>alert" not in shown and "&lt;script&gt;" in shown


# -- the form's controls ---------------------------------------------------------------------


class Controls(HTMLParser):
    """The controls of a page's forms (their ids) and the text of each ``<label for>``."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[tuple[str, str | None]] = []  # (tag, id)
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append((tag, found.get("id")))
        if tag == "label":
            self._label = found.get("for") or ""
            self.labels[self._label] = ""

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self.labels[self._label] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None


def unlabelled(page: str) -> list[tuple[str, str | None]]:
    """The controls without a visible label of their own."""
    parsed = Controls()
    parsed.feed(page)
    return [(tag, fid) for tag, fid in parsed.controls
            if not fid or not parsed.labels.get(fid, "").strip()]  # fmt: skip


def test_every_question_type_is_asked_and_every_control_has_a_visible_label(
    basic: Harness,
) -> None:
    basic.report("SIGNS", "21=3", "22=Stop", "24=No")  # loads the fake's request types
    served = serve_console(basic)
    make_account(served, "ada", "admin")
    ada = served.client()
    ada.sign_in("ada")
    chooser = ada.get(NEW).text
    assert unlabelled(chooser) == []
    page = ada.get(f"{NEW}?type=SIGNS").text
    assert unlabelled(page) == []
    form = section(page, "details")
    assert '<p class="hint">Please do not touch a fallen sign.</p>' in form  # info: shown only
    assert 'id="report-q2" name="answer:21" value="" inputmode="decimal"' in form  # number
    assert "<legend>Which kinds? (required)</legend>" in form  # multichoice
    assert 'id="report-q3-1" name="answer:22" value="Stop"' in form
    assert "When did it fall? (optional) (date and time, such as" in form  # datetime
    assert '<select id="report-q5" name="answer:24">' in form  # choice

    fields = [("csrf_token", ada.csrf), ("type", "SIGNS"), ("summary", "Signs down"),
              ("lat", "41.3083"), ("lng", "-72.9279"), ("answer:21", "2"), ("answer:22", ""),
              ("answer:22", "Stop"), ("answer:22", "Yield"), ("answer:24", "No")]  # fmt: skip
    answer = ada.post(NEW, fields)
    assert answer.status_code == 303, answer.text
    issue_id = int(answer.headers["location"].rsplit("/", 1)[1])
    answers = [(a["question_id"], a["answer"]) for a in basic.show(issue_id)["answers"]]
    assert answers == [("21", "2"), ("22", "Stop"), ("22", "Yield"), ("24", "No")]

    none = ada.post(NEW, [*fields[:6], ("answer:22", ""), ("answer:24", "No")])
    assert none.status_code == 400
    assert beside(none.text, "report-q3").startswith("Error: Question 22 (Which kinds?) needs")
    assert '<a href="#report-q3-1">Question 22' in none.text
    assert unlabelled(none.text) == []
    date = ada.get(f"{NEW}?type=POTHOLE").text
    assert 'name="answer:3" value="" type="date"' in date and unlabelled(date) == []
    assert "Is it deep? (required) (only when “In a travel lane?” is “Yes”)" in date


# -- what the Issue page's forms share with the CLI --------------------------------------------


def test_the_issue_pages_forms_say_their_own_words_and_the_cli_its_options(d: Desk) -> None:
    w = d.w
    issue_id = w.report()
    make_account(d.served, "ada", "admin")
    ada = d.signed_in("ada")
    ada.get(f"/console/issues/{issue_id}")
    edit = {"summary": " ", "lat": "41.3083", "lng": "-72.9279"}
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/edit", edit)))
    assert said == "Error: Summary is required and cannot be blank"
    recategorize = {"type": "STREETLIGHT", "answer:521": "P-17", "answer:522": "Out"}
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/recategorize",
                                        recategorize)))  # fmt: skip
    assert said == "Error: question 523 (Contact E-Mail) needs an answer: give one in the form"
    refused = w.cli("issues", "edit", str(issue_id), "--summary", " ")
    assert "--summary is required and cannot be blank" in refused.output
    refused = w.cli("issues", "recategorize", str(issue_id), "--type", "STREETLIGHT",
                    "--answer", "521=P-17", "--answer", "522=Out")  # fmt: skip
    assert "needs an answer: --answer 523=VALUE" in refused.output

    # The reason rule is one: the CLI names its option, the page its field.
    for args in (("issues", "withdraw", str(issue_id)), ("links", "withdraw", "cityworks",
                 "--environment", "old")):  # fmt: skip
        refused = w.cli(*args, "--reason", "\x07")
        assert refused.exit_code == 1
        assert "--reason must be 1 to 500 printable characters" in refused.output
    said = flash(follow(ada, ada.submit(f"/console/issues/{issue_id}/withdraw",
                                        {"reason": "x" * 501})))  # fmt: skip
    assert said == "Error: The reason must be 1 to 500 printable characters."
    assert w.show(issue_id)["status"] == "open"
