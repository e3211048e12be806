"""Residents hear back: the emails of an issue's messages, sent once each through an SMTP
server on 127.0.0.1 (the kit's :class:`SmtpSink`), with their consent and nothing leaked.

The host runs on the fake remote plugin, in this process, on the harness's clock; the mail
server is real SMTP on loopback."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from scf_plugins.plugins import PluginHost
from scf_plugins.testing import FakeRemote, FakeStaff, Harness
from scf_plugins.testing.smtp_sink import Received, SmtpSink

PUBLIC = "https://311.testville.gov"
ADDRESS = "jane.doe@example.org"
SECOND = "sam.lee@example.org"

CONFIG = """
[organization]
name = "City of Testville"
bot_name = "Testville 311"

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]
closed_statuses = ["CLOSED"]
cancel_statuses = ["CANCEL"]

[integrations.alpha.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"

[[integrations.alpha.activity]]
field = "DispatchTo"
message = "Your request has been assigned to {{value}}."

[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Testville 311 <no-reply@testville.gov>"

[server]
public_url = "{public}"
{more}
"""


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """The city's mail server, on a free loopback port."""
    with SmtpSink() as server:
        yield server


@pytest.fixture
def town(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote], sink: SmtpSink
) -> Callable[..., Harness]:
    """A host on the fake plugin whose [email] is the sink: ``town(more=...)`` adds sections."""
    host, _ = fake_host

    def make(more: str = "") -> Harness:
        return harness(CONFIG.format(port=sink.port, public=PUBLIC, more=more), host=host)

    return make


@pytest.fixture
def staff(fake_host: tuple[PluginHost, FakeRemote]) -> FakeStaff:
    """City staff working in the fake remote system."""
    return FakeStaff(fake_host[1])


def report(town: Harness, email: str = ADDRESS, **fields: str) -> int:
    """A resident's report with an email, a name and a phone."""
    fields.setdefault("name", "Jane Doe")
    fields.setdefault("phone", "555-0100")
    return town.report("POTHOLE", "1=No", f"2={email}", email=email, **fields)


def message_ids(received: list[Received]) -> Counter[str]:
    """How many times each Message-ID arrived."""
    return Counter(str(r.message["Message-ID"]) for r in received)


def about(received: list[Received], phrase: str) -> list[Received]:
    """The messages whose text part says ``phrase``."""
    return [r for r in received if phrase in r.part("plain")]


def links(received: Received) -> list[str]:
    """A message's unsubscribe links: this report's (its text), this address's (its
    List-Unsubscribe header)."""
    found = f"{received.part()} {received.message['List-Unsubscribe']}"
    return re.findall(rf"{re.escape(PUBLIC)}/unsubscribe/[A-Za-z0-9._~-]+", found)


def notices(town: Harness, issue_id: int) -> list[dict[str, Any]]:
    """``scf issues show --json``'s list of what was emailed."""
    found: list[dict[str, Any]] = town.show(issue_id)["notifications"]
    return found


def test_the_acknowledgement_and_closing_emails_arrive_once_each(
    town: Callable[..., Harness], sink: SmtpSink, staff: FakeStaff
) -> None:
    t = town()
    issue_id = report(t)
    assert t.sync().emails == 1
    (ack,) = sink.wait_for(1)
    remote_id = t.show(issue_id)["remote_id"]
    assert ack.rcpt_tos == (ADDRESS,) and ack.mail_from == "no-reply@testville.gov"
    assert remote_id in ack.subject or remote_id in ack.part()
    assert "has received it as service request" in ack.part() and remote_id in ack.part()
    assert "City of Testville" in ack.part() and "Deep pothole" in ack.part()
    assert ack.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{PUBLIC}/unsubscribe/" in str(ack.message["List-Unsubscribe"])
    assert ack.part("html") and "has received it" in ack.part("html")
    assert f"See it here: {PUBLIC}/reports/{issue_id}\n" in ack.part()
    assert f'href="{PUBLIC}/reports/{issue_id}"' in ack.part("html")
    for _ in range(2):  # more passes send nothing again
        assert t.sync().emails == 0
    staff.close(remote_id, "CLOSED")
    assert t.sync().closed == 1
    received = sink.wait_for(2)
    assert t.sync().emails == 0 and len(sink.received) == 2
    (closing,) = about(received, "closed")
    assert closing.rcpt_tos == (ADDRESS,)
    assert set(message_ids(sink.received).values()) == {1}
    shown = notices(t, issue_id)
    assert [(n["kind"], n["state"]) for n in shown] == [
        ("acknowledged", "sent"),
        ("closed", "sent"),
    ]
    assert all(n["sent_at"] for n in shown) and ADDRESS not in json.dumps(shown)
    screen = t.cli_ok("issues", "show", str(issue_id)).output
    assert "email         acknowledged (notification 1): sent" in screen


def test_every_kind_is_sent_and_a_switched_off_kind_is_not(
    town: Callable[..., Harness], sink: SmtpSink, staff: FakeStaff
) -> None:
    t = town('[notifications]\nsend = ["activity", "comment", "canceled"]\n')
    issue_id = report(t)
    t.sync()
    remote_id = t.show(issue_id)["remote_id"]
    staff.set_field(remote_id, "DispatchTo", "Streets crew 4")
    staff.comment(remote_id, "To SCF: we will be there on Monday")
    t.sync()
    staff.cancel(remote_id, "CANCEL")
    t.sync()
    received = sink.wait_for(3)
    t.sync()
    assert len(sink.received) == 3  # no acknowledgement: switched off
    assert about(received, "assigned to Streets crew 4")
    assert about(received, "we will be there on Monday")
    assert about(received, "cancel")
    assert [n["kind"] for n in notices(t, issue_id)] == ["activity", "comment", "canceled"]


def test_a_withdrawn_issue_emails_its_reason_as_the_closing_message(
    town: Callable[..., Harness], sink: SmtpSink
) -> None:
    t = town()
    issue_id = report(t)
    t.sync()
    sink.wait_for(1)
    reason = "the road belongs to the state, whose crews fix it"
    t.cli_ok("issues", "withdraw", str(issue_id), "--reason", reason)
    t.later(minutes=1)  # the command ran on the wall's clock, the engine runs on the harness's
    assert t.sync().emails == 1
    (closing,) = about(sink.wait_for(2), reason)
    assert closing.subject.endswith("— closed") and closing.rcpt_tos == (ADDRESS,)
    assert [(n["kind"], n["state"]) for n in notices(t, issue_id)] == [
        ("acknowledged", "sent"),
        ("closed", "sent"),
    ]


def test_a_kind_switched_off_after_it_was_queued_is_skipped(
    town: Callable[..., Harness], sink: SmtpSink
) -> None:
    t = town()
    issue_id = report(t)
    t.engine().run_pass(notify=False)  # acknowledged, its email queued, not sent
    t.write_config(CONFIG.format(port=sink.port, public=PUBLIC,
                                 more='[notifications]\nsend = ["closed"]\n'))  # fmt: skip
    t.sync()
    assert sink.received == []
    assert notices(t, issue_id)[0]["state"] == "skipped"
    assert notices(t, issue_id)[0]["reason"] == "switched off"


def test_an_unsubscribe_link_stops_mail_about_the_report_and_a_get_changes_nothing(
    town: Callable[..., Harness], sink: SmtpSink, staff: FakeStaff
) -> None:
    t = town()
    door = t.serve()
    issue_id = report(t)
    other = report(t, summary="Another hole")
    t.sync()
    received = sink.wait_for(2)
    (ack,) = [r for r in received if "Deep pothole" in r.part() and "Another" not in r.part()]
    this_report, _ = links(ack)
    local = this_report.replace(PUBLIC, door.url)
    page = requests.get(local, timeout=10)
    assert page.status_code == 200 and ADDRESS not in page.text
    assert "Stop emails about this report" in page.text
    staff.set_field(t.show(issue_id)["remote_id"], "DispatchTo", "Crew 1")
    t.sync()
    assert len(sink.wait_for(3)) == 3  # the GET changed nothing
    done = requests.post(local, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert done.status_code == 200 and ADDRESS not in done.text
    staff.set_field(t.show(issue_id)["remote_id"], "DispatchTo", "Crew 2")
    staff.set_field(t.show(other)["remote_id"], "DispatchTo", "Crew 3")
    t.sync()
    received = sink.wait_for(4)
    t.sync()
    assert len(sink.received) == 4 and about(received, "Crew 3")
    assert not about(received, "Crew 2")
    assert notices(t, issue_id)[-1]["state"] == "skipped"
    assert notices(t, issue_id)[-1]["reason"] == "unsubscribed"


def test_the_mail_server_down_gives_one_alarm_then_everything_waiting_goes_once(
    town: Callable[..., Harness], sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    t = town()
    sink.refuse()
    ids = [report(t, summary=f"hole {n}") for n in range(3)]
    with caplog.at_level(logging.INFO):
        first = t.sync()
        assert first.acknowledged == 3 and first.emails == 0
        for _ in range(3):
            t.later(minutes=1)  # the probes fail too
            assert t.sync().emails == 0
        ids.append(report(t, summary="hole 3"))
        t.sync()
    alarms = [r for r in caplog.records if "email is down" in r.getMessage()]
    assert len(alarms) == 1 and alarms[0].levelno == logging.WARNING
    status = json.loads(t.cli("status", "--json").output)["notifications"]
    assert status["down"] and status["waiting"] == 4 and status["failing"] == 0
    assert all(n.attempts == 0 for n in _rows(t))  # nobody charged
    sink.accept()
    with caplog.at_level(logging.INFO):
        t.later(minutes=10)
        assert t.sync().emails == 4
    assert sum("email is back" in r.getMessage() for r in caplog.records) == 1
    sink.wait_for(4)
    t.later(minutes=10)
    t.sync()
    assert len(sink.received) == 4 and set(message_ids(sink.received).values()) == {1}
    assert json.loads(t.cli("status", "--json").output)["notifications"]["waiting"] == 0


def test_a_refusal_skips_an_email_and_a_temporary_failure_backs_off(
    town: Callable[..., Harness], sink: SmtpSink
) -> None:
    t = town()
    refused = report(t, summary="refused")
    sink.answer(550, "5.1.1 <jane.doe@example.org>: no such user", at="rcpt")
    t.sync()
    (notice,) = notices(t, refused)
    assert notice["state"] == "skipped" and "refused" in notice["reason"]
    assert ADDRESS not in notice["reason"] and "<address>" in notice["reason"]
    later = report(t, summary="later")
    sink.answer(451)
    t.sync()
    assert notices(t, later)[0]["state"] == "failing"
    status = json.loads(t.cli("status", "--json").output)
    assert status["notifications"]["failing"] == 1 and t.cli("status").exit_code == 1
    assert t.sync().emails == 0  # backing off
    t.later(minutes=2)
    assert t.sync().emails == 1 and notices(t, later)[0]["state"] == "sent"
    assert len(sink.received) == 1


def test_a_notification_failing_past_give_up_after_hours_is_skipped_as_expired(
    town: Callable[..., Harness], sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    t = town("[notifications]\ngive_up_after_hours = 3\n")
    issue_id = report(t)
    sink.answer(451, times=1000)  # the mailbox stays busy
    with caplog.at_level(logging.WARNING):
        t.sync()
        t.later(hours=2, minutes=59)
        assert t.sync().errors == 1
        assert notices(t, issue_id)[0]["state"] == "failing"  # not yet: tried again
        t.later(minutes=2)
        done = t.sync()
    (notice,) = notices(t, issue_id)
    assert notice["state"] == "skipped" and notice["reason"].startswith("expired: ")
    assert done.errors == 1 and done.problems
    (line,) = [r for r in caplog.records if getattr(r, "event", None) == "expired"]
    assert "was queued over 3 hours ago and still fails" in line.getMessage()
    assert ADDRESS not in caplog.text
    sink.clear()
    t.later(hours=5)
    assert t.sync().emails == 0 and sink.received == []
    status = json.loads(t.cli("status", "--json").output)["notifications"]
    assert status["waiting"] == 0 and status["failing"] == 0


def test_an_interrupted_send_is_uncertain_and_sent_again_only_when_staff_say_so(
    town: Callable[..., Harness], sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    t = town()
    issue_id = report(t)
    sink.drop(keep=True)  # the server took it, then the connection broke before its answer
    with caplog.at_level(logging.WARNING):
        t.sync()
    assert len(sink.wait_for(1)) == 1
    (notice,) = notices(t, issue_id)
    assert notice["state"] == "uncertain"
    assert f"scf notifications retry {notice['id']}" in caplog.text
    t.later(hours=2)
    t.sync()
    assert len(sink.received) == 1  # never again on its own
    status = json.loads(t.cli("status", "--json").output)["notifications"]
    assert status == {**status, "uncertain": 1, "waiting": 0}
    assert "1 uncertain" in t.cli("status").output
    answer = t.cli_ok("notifications", "retry", str(notice["id"]))
    assert "was uncertain; it is sent on the next pass" in answer.output
    refused = t.cli("notifications", "retry", "99")
    assert refused.exit_code == 1 and "there is no notification 99" in refused.output
    t.sync()
    assert len(sink.wait_for(2)) == 2 and notices(t, issue_id)[0]["state"] == "sent"
    again = t.cli("notifications", "retry", str(notice["id"]))
    assert again.exit_code == 1 and "nothing to retry" in again.output
    audit = t.cli_ok("audit", "--json").output
    assert "notifications.retry" in audit and ADDRESS not in audit


def test_an_issue_s_emails_go_in_order_an_earlier_one_backing_off_holds_the_later_back(
    town: Callable[..., Harness], sink: SmtpSink, staff: FakeStaff
) -> None:
    t = town()

    def acknowledged_and_closed(summary: str) -> int:
        """An issue whose acknowledgement and closing emails both wait."""
        issue_id = report(t, summary=summary)
        t.engine().run_pass(notify=False)
        staff.close(t.show(issue_id)["remote_id"], "CLOSED")
        t.engine().run_pass(notify=False)
        return issue_id

    first = acknowledged_and_closed("Deep pothole")
    sink.answer(451)  # the acknowledgement fails for now: the closing waits behind it
    t.sync()
    kinds = [(n["kind"], n["state"]) for n in notices(t, first)]
    assert kinds == [("acknowledged", "failing"), ("closed", "waiting")]
    assert sink.received == []
    t.later(minutes=2)
    t.sync()
    assert [r.subject for r in sink.wait_for(2)] == [
        f"Your report {first}: Deep pothole — received",
        f"Your report {first}: Deep pothole — closed",
    ]
    second = acknowledged_and_closed("Another hole")
    sink.drop(keep=True)  # the acknowledgement ends uncertain: it holds nothing back
    t.sync()
    assert [n["state"] for n in notices(t, second)] == ["uncertain", "sent"]
    assert [r.subject.rsplit(" ", 1)[-1] for r in sink.wait_for(4)[2:]] == ["received", "closed"]


def test_operators_list_notifications_by_state_and_dismiss_uncertain_or_failing_ones(
    town: Callable[..., Harness], sink: SmtpSink
) -> None:
    from scf_plugins.server.console.overview import needs_attention

    t = town()
    report(t, summary="uncertain")
    sink.drop(keep=True)
    t.sync()
    report(t, summary="failing")
    sink.answer(451)
    t.sync()
    report(t, summary="sent")
    t.sync()
    listed = json.loads(t.cli_ok("notifications", "list", "--json").output)
    assert [(n["id"], n["issue_id"], n["kind"], n["state"]) for n in listed] == [
        (3, 3, "acknowledged", "sent"),
        (2, 2, "acknowledged", "failing"),
        (1, 1, "acknowledged", "uncertain"),
    ]
    assert all(n["when"] for n in listed) and "4.3.0 try again later" in listed[1]["reason"]
    screen = t.cli_ok("notifications", "list", "--state", "uncertain").output
    assert screen.splitlines()[0].split() == ["id", "issue", "kind", "state", "when", "reason"]
    assert len(screen.splitlines()) == 3 and "uncertain" in screen.splitlines()[2]
    assert ADDRESS not in screen + json.dumps(listed)
    one = json.loads(t.cli_ok("notifications", "list", "--limit", "1", "--json").output)
    assert [n["id"] for n in one] == [3]
    status = json.loads(t.cli("status", "--json").output)
    assert "scf notifications list --state uncertain" in " ".join(
        a.words for a in needs_attention(status)
    )

    done = t.cli("notifications", "dismiss", "1", "2", "3", "99")
    assert done.exit_code == 1
    lines = done.output.splitlines()
    assert lines[0] == (
        "notification 1: dismissed (acknowledged of issue 1, uncertain before); it is not sent "
        "unless `scf notifications retry 1`"
    )
    assert lines[1].startswith("notification 2: dismissed (acknowledged of issue 2, failing")
    assert lines[2] == "notification 3: it is sent; only an uncertain or failing one is dismissed"
    assert lines[3] == "notification 99: there is no such notification"
    mail = json.loads(t.cli_ok("status", "--json").output)["notifications"]
    assert (mail["waiting"], mail["failing"], mail["uncertain"]) == (0, 0, 0)
    skipped = json.loads(t.cli_ok("notifications", "list", "--state", "skipped", "--json").output)
    assert [n["id"] for n in skipped] == [2, 1]
    assert all(n["reason"].startswith("dismissed by ") for n in skipped)
    audit = t.cli_ok("audit", "--json").output
    assert audit.count("notifications.dismiss") == 2 and ADDRESS not in audit
    t.later(hours=1)
    assert t.sync().emails == 0 and len(sink.received) == 2
    t.cli_ok("notifications", "retry", "2")  # a dismissal is undone by a retry
    assert t.sync().emails == 1


def _rows(t: Harness) -> list[Any]:
    from sqlalchemy import select

    from scf_plugins.store.tables import notifications

    with t.store().read() as conn:
        return list(conn.execute(select(notifications)).all())


def test_no_email_address_in_any_log_line_get_or_metric(
    town: Callable[..., Harness],
    sink: SmtpSink,
    staff: FakeStaff,
    caplog: pytest.LogCaptureFixture,
) -> None:
    t = town()
    door = t.serve()
    gets: list[str] = []
    # On scf's loggers: each CLI command the harness runs sets the root logger's level.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="scf_plugins"):
        issue_id = report(t)
        report(t, email=SECOND, summary="second")
        sink.answer(451, "4.2.0 <jane.doe@example.org> mailbox busy", at="rcpt")
        t.sync()
        t.later(minutes=5)
        sink.drop(keep=True)
        t.sync()
        remote_id = t.show(issue_id)["remote_id"]
        staff.close(remote_id, "CLOSED")
        t.sync()
        received = sink.wait_for(2)
        for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{issue_id}.json",
                     "/metrics", "/healthz"):  # fmt: skip
            gets.append(door.get(path).text)
        for each in received:
            for link in [*links(each), f"{PUBLIC}/reports/{issue_id}"]:
                page = requests.get(link.replace(PUBLIC, door.url), timeout=10)
                assert page.status_code == 200, link
                gets.append(page.text)
        gets.append(t.cli_ok("status").output + t.cli_ok("status", "--prometheus").output)
    assert "scf_notifications" in gets[2]
    access = [r.getMessage() for r in caplog.records if r.name == "scf_plugins.server.access"]
    assert any("/unsubscribe/" in line for line in access)  # the access log was read too
    for address in (ADDRESS, SECOND):
        assert address not in caplog.text
        assert not any(address in page for page in gets)
        assert not any(address in r.getMessage() for r in caplog.records)


def test_contact_details_are_purged_on_the_configured_day(
    town: Callable[..., Harness], staff: FakeStaff, sink: SmtpSink
) -> None:
    from freezegun import freeze_time

    from scf_plugins.timeutil import utcnow

    start = utcnow()
    with freeze_time(start) as frozen:
        t = town("[privacy]\npurge_contact_after_days = 30\n")
        issue_id = report(t)
        t.cli_ok("sync", "--once")
        staff.close(t.show(issue_id)["remote_id"], "CLOSED")
        t.cli_ok("sync", "--once")
        frozen.move_to(start + timedelta(days=15))  # archive_after_days = 14
        t.cli_ok("sync", "--once")
        shown = t.show(issue_id)
        assert shown["status"] == "archived" and shown["reporter"]["email"] == ADDRESS
        frozen.move_to(start + timedelta(days=15 + 29, hours=23))
        t.cli_ok("sync", "--once")
        assert t.show(issue_id)["reporter"]["email"] == ADDRESS  # a day short: kept
        frozen.move_to(start + timedelta(days=15 + 30, minutes=1))
        t.cli_ok("sync", "--once")
        shown = t.show(issue_id)
    assert shown["reporter"] == {"name": None, "email": None, "phone": None}
    assert shown["contact_purged_at"]
    assert [a["answer"] for a in shown["answers"] if a["private"]] == [""]
    assert [a["answer"] for a in shown["answers"] if not a["private"]] == ["No"]
    assert "contact details purged" in t.cli_ok("issues", "show", str(issue_id)).output


def test_the_demo_shows_the_acknowledgement_and_closing_emails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scf_plugins.cli.demo import run_demo
    from scf_plugins.plugins import build_manager

    monkeypatch.delenv("SCF_CITYWORKS_TEST_PASSWORD", raising=False)
    lines: list[str] = []
    assert run_demo(build_manager(disabled=set()), lines.append) == 0
    out = "\n".join(lines)
    assert "Mail server (SMTP sink) at 127.0.0.1:" in out
    assert "The mail server received 6 emails to residents, one per message" in out
    assert "Subject: Your report 1: Deep pothole in the bus lane — received" in out
    assert "Subject: Your report 1: Deep pothole in the bus lane — closed" in out
    assert "has received it as service request" in out and "is now closed" in out
    assert "@example.org" not in out
