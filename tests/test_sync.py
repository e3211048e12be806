"""The sync engine end to end: the emulator over loopback, the real plugins, a SQLite store."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scf_plugins.engine import retries, transitions
from scf_plugins.store.tables import poll_batches, poll_rounds


def texts(world, issue_id: int, kind: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["text"] for c in world.show(issue_id)["comments"] if kind in (None, c["kind"])]


def test_open_to_acknowledged_with_the_message_naming_the_remote_id(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report(address="165 Church St", name="Jane Doe", email="jane@example.org")
    report = w.sync()
    assert (report.submitted, report.acknowledged, report.errors) == (1, 1, 0)
    shown = w.show(issue_id)
    rid = shown["remote_id"]
    assert shown["status"] == "acknowledged" and rid is not None
    [ack] = shown["comments"]
    assert ack["kind"] == "system" and ack["author"] == "Testville 311"
    assert f"service request {rid}" in ack["text"]
    remote = w.emulator.state.requests[int(rid)]
    assert (
        remote["OtherSystemId"] == shown["link"]["marker"]
        and remote["ProbAddress"] == "165 Church St"
    )
    assert w.sync().acknowledged == 0  # nothing is submitted twice


@pytest.mark.parametrize(("status", "expected"), [
    ("CLOSED", "has been completed and this issue is now closed"),
    ("COMPLETE", "Work on {rid} is complete."),
])  # fmt: skip
def test_acknowledged_to_closed_with_default_or_per_status_message(world, status, expected) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.staff("close", rid, status=status)
    assert w.sync().closed == 1
    shown = w.show(issue_id)
    assert shown["status"] == "closed" and shown["remote_status"] == status
    assert expected.format(rid=rid) in texts(w, issue_id, "system")[-1]
    # Polling stops for good: later remote changes are not seen.
    w.emulator.state.counts.clear()
    w.emulator.state.staff("reopen", rid)
    assert w.sync().closed == 0 and w.show(issue_id)["status"] == "closed"
    assert w.emulator.state.counts["ams/servicerequest/byids"] == 0


@pytest.mark.parametrize(("status", "expected"), [
    ("CANCEL", "was cancelled by city staff"),
    ("DUP", "Request {rid} duplicates another one."),
])  # fmt: skip
def test_acknowledged_to_open_on_cancel_then_recategorized(world, status, expected) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.staff("cancel", rid, status=status)
    assert w.sync().cancelled == 1
    shown = w.show(issue_id)
    assert shown["status"] == "open" and shown["remote_id"] is None
    assert shown["integration"] is None
    assert expected.format(rid=rid) in texts(w, issue_id, "system")[-1]
    assert w.sync().acknowledged == 0  # not resubmitted on its own
    assert len(w.emulator.state.requests) == 1
    result = w.cli(
        "issues",
        "recategorize",
        str(issue_id),
        "--type",
        "DoorWall",
        "--answer",
        "40=Broken window",
    )
    assert result.exit_code == 0, result.output
    assert w.sync().acknowledged == 1
    shown = w.show(issue_id)
    assert shown["status"] == "acknowledged" and shown["request_type"] == "DoorWall"
    new = w.emulator.state.requests[int(shown["remote_id"])]
    assert new["ProblemCode"] == "DoorWall" and int(shown["remote_id"]) != rid
    assert [a["answer"] for a in shown["answers"]] == ["Broken window"]


def test_recategorize_refuses_a_linked_issue(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    result = w.cli("issues", "recategorize", str(issue_id), "--type", "DoorWall")
    assert result.exit_code == 1 and "only an Open, unlinked issue" in result.output


def test_closed_to_archived_after_two_weeks(world) -> None:  # type: ignore[no-untyped-def]
    from freezegun import freeze_time

    w = world()
    issue_id = w.report()
    w.sync()
    w.emulator.state.staff("close", w.remote_id(issue_id))
    with freeze_time(w.clock.now):
        from scf_plugins.timeutil import utcnow

        w.sync(clock=utcnow)
    with freeze_time(w.clock.now) as frozen:
        frozen.tick(13 * 86400)
        assert w.sync(clock=utcnow).archived == 0
        frozen.tick(1 * 86400 + 60)
        assert w.sync(clock=utcnow).archived == 1
    assert w.show(issue_id)["status"] == "archived"
    assert w.cli("issues", "list", "--status", "archived").output.count("Deep pothole") == 1


def test_activity_once_per_value(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    staff = w.emulator.state.staff
    staff("set_field", rid, field="DispatchTo", value="Streets Crew 4")
    assert w.sync().activity == 1
    assert w.sync().activity == 0
    staff("set_field", rid, field="DispatchTo", value="Sign Shop")
    w.sync()
    staff("set_field", rid, field="DispatchTo", value="Streets Crew 4")
    w.sync()
    staff("set_field", rid, field="DispatchTo", value="")
    w.sync()
    assert texts(w, issue_id, "system")[1:] == [
        "Your request has been assigned to Streets Crew 4.",
        "Your request has been assigned to Sign Shop.",
    ]


def test_comments_both_ways_each_once_and_no_echo(world) -> None:  # type: ignore[no-untyped-def]
    w = world(extra='comment_prefix = ""')
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    # A resident's comment that itself starts with the prefix must not come back.
    assert (
        w.cli(
            "comment", str(issue_id), "To SCF: the hole is deeper now", "--author", "Jane"
        ).exit_code
        == 0
    )
    w.emulator.state.staff("comment", rid, text="  to scf:  Crew scheduled for Tuesday")
    w.emulator.state.staff("comment", rid, text="internal: use cold patch")
    first = w.sync()
    assert (first.comments_out, first.comments_in) == (1, 1)
    second = w.sync()
    assert (second.comments_out, second.comments_in) == (0, 0)
    remote = [c["Comments"] for c in w.emulator.state.comments[rid]]
    assert remote.count("To SCF: the hole is deeper now") == 1
    shown = w.show(issue_id)["comments"]
    pulled = [(c["author"], c["text"]) for c in shown if c["kind"] == "remote"]
    assert pulled == [("Hayes, D", "Crew scheduled for Tuesday")]
    assert [c["text"] for c in shown if c["kind"] == "comment"] == [
        "To SCF: the hole is deeper now"
    ]


def test_comments_on_closed_issues_are_not_pushed(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.staff("close", rid)
    w.sync()
    w.cli("comment", str(issue_id), "Thanks for fixing it")
    assert w.sync().comments_out == 0
    assert w.emulator.state.comments.get(rid, []) == []


def test_a_definite_failure_is_recorded_and_retried_with_back_off(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.emulator.state.problem(101)["Active"] = False
    report = w.sync()
    assert report.errors == 1 and report.acknowledged == 0
    shown = w.show(issue_id)
    assert shown["status"] == "open"
    assert shown["sync"]["last_error_kind"] == "definite"
    assert "Problem is not active" in shown["sync"]["last_error"]
    assert "last error    [definite]" in w.cli("issues", "show", str(issue_id)).output
    w.emulator.state.problem(101)["Active"] = True
    assert w.sync().acknowledged == 0  # backing off
    w.later(minutes=6)
    assert w.sync().acknowledged == 1
    assert w.show(issue_id)["sync"]["last_error"] is None
    assert len(w.emulator.state.requests) == 1


def test_back_off_grows_and_is_capped() -> None:
    from datetime import timedelta

    delays = [retries.backoff("transient", n) for n in range(1, 12)]
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert delays[-1] == timedelta(hours=1) and delays == sorted(delays)
    assert retries.backoff("definite", 30) == timedelta(hours=24)


def test_a_lost_create_answer_is_reconciled_into_exactly_one_request(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.emulator.state.inject("drop_after_commit", match="servicerequest/create")
    report = w.sync()
    assert report.errors == 1 and w.show(issue_id)["sync"]["last_error_kind"] == "ambiguous"
    assert len(w.emulator.state.requests) == 1
    w.later(minutes=1)
    assert w.sync().acknowledged == 1
    assert len(w.emulator.state.requests) == 1
    assert w.show(issue_id)["remote_id"] == str(next(iter(w.emulator.state.requests)))


def test_a_crash_between_the_remote_create_and_the_local_commit(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise SystemExit("killed after the create, before the commit")

    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(transitions, "acknowledge", crash)
        w.sync(owner="dead-process")
    assert len(w.emulator.state.requests) == 1 and w.show(issue_id)["status"] == "open"
    assert w.sync().acknowledged == 0  # the dead process's lease still holds
    w.later(minutes=6)
    report = w.sync()
    assert report.acknowledged == 1 and report.submitted == 0  # found, not created again
    assert len(w.emulator.state.requests) == 1
    assert len(texts(w, issue_id, "system")) == 1


def test_one_unreachable_integration_does_not_block_another(world) -> None:  # type: ignore[no-untyped-def]
    tail = """
[integrations.down]
plugin = "cityworks"
version = "15.8"
srid = 3857
request_types = ["DoorWall"]
[integrations.down.production]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"
"""
    w = world(tail=tail)
    w.cli("request-types", "--refresh")
    up = w.report()
    report = w.sync()
    assert report.acknowledged == 1 and w.show(up)["status"] == "acknowledged"


def test_scf_sync_once_prints_a_summary_and_exit_code(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    w.report()
    result = w.cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "pass 1: submitted 1, acknowledged 1" in result.output
    w.emulator.state.inject("503", count=100)
    w.report()
    result = w.cli("sync", "--once")
    assert result.exit_code == 1 and "errors 2" in result.output  # the create and the poll


def test_a_lease_shorter_than_the_calls_never_sends_an_issue_twice(basic, fake_host) -> None:  # type: ignore[no-untyped-def]
    import threading
    from collections import Counter
    from datetime import timedelta

    from scf_plugins import hookimpl
    from scf_plugins.testing.fake import FakeRemote
    from scf_plugins.timeutil import utcnow

    host, _ = fake_host
    release = threading.Event()
    sent: Counter[int] = Counter()

    class SlowFirst(FakeRemote):
        @hookimpl
        def submit(self, integration, issue):  # type: ignore[no-untyped-def]
            sent[issue.id] += 1
            if issue.id == 1:  # the first issue's create hangs while every lease lapses
                release.wait(5)
            return FakeRemote.submit(self, integration, issue)

    host.unregister("fake-a")
    host.register(SlowFirst("fake-a"), "fake-a")
    for n in range(10):
        assert (
            basic.cli(
                "report", "--type", "GRAFFITI", "--summary", f"wall {n}", "--lat", "1", "--lng", "2"
            ).exit_code
            == 0
        )
    engine = basic.engine(clock=utcnow, lease=timedelta(milliseconds=1))
    threading.Timer(0.5, release.set).start()  # the slow create: it hangs half a second
    report = engine.run_pass()
    assert report.acknowledged == 10
    assert set(sent.values()) == {1}, sent


def test_request_types_against_the_emulator_in_order(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    out = w.cli("request-types").stdout
    pothole = out[out.index("POTHOLE  Pothole") : out.index("SIGNDAMAGE")]
    lines = [line.split()[0] for line in pothole.splitlines()[1:]]
    assert lines == ["501", "502", "503"]
    assert "503  Email for follow-up [text, required, private]" in pothole
    graffiti = out[out.index("GRAFFITI") : out.index("MISSEDTRASH")]
    assert "(only when 512='Private property')" in graffiti


def test_a_remote_id_too_long_to_keep_is_an_error_not_a_corrupt_link(basic, fake_host) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins import Submission, hookimpl
    from scf_plugins.engine.loop import run_pass
    from scf_plugins.testing.fake import FakeRemote

    class LongIds(FakeRemote):
        @hookimpl
        def submit(self, integration, issue):  # type: ignore[no-untyped-def]
            return Submission(remote_id="9" * 300)

    host, _ = fake_host
    host.unregister("fake-a")
    host.register(LongIds("fake-a"), "fake-a")
    assert (
        basic.cli(
            "report", "--type", "GRAFFITI", "--summary", "x", "--lat", "1", "--lng", "2"
        ).exit_code
        == 0
    )
    report = run_pass(basic.settings, host, basic.store())
    assert report.errors == 1 and report.acknowledged == 0
    import json

    shown = json.loads(basic.cli("issues", "show", "1", "--json").stdout)
    assert shown["status"] == "open" and "longer than 200" in shown["sync"]["last_error"]


def test_an_integration_with_wrong_settings_is_skipped_not_sent_wrong_data(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    w.report()
    w.path.write_text(w.path.read_text().replace("srid = 3857", "srid = 2234"))
    report = w.sync()
    assert report.acknowledged == 0 and not w.emulator.state.requests
    assert (
        "cityworks skipped: srid: Cityworks 15.8 stores Web Mercator; set srid = 3857"
        in report.problems[0]
    )
    # A long-running worker says so once, not on every pass (twice a second under serve).
    engine = w.engine()
    assert engine.run_pass().errors == 1
    again = engine.run_pass()
    assert again.errors == 0 and not again.problems and not w.emulator.state.requests


def test_reports_are_submitted_while_a_long_poll_runs(basic, fake_host) -> None:  # type: ignore[no-untyped-def]
    """Submits never wait for polls: a report stored (by another process) while a poll hangs
    is acknowledged in about a second."""
    import threading

    from scf_plugins import hookimpl
    from scf_plugins.engine.loop import SUBMIT_STEPS
    from scf_plugins.testing import wait_for
    from scf_plugins.testing.fake import FakeRemote
    from scf_plugins.timeutil import utcnow

    entered, release = threading.Event(), threading.Event()

    class SlowPoll(FakeRemote):
        @hookimpl
        def poll(self, integration, tracked):  # type: ignore[no-untyped-def]
            entered.set()
            release.wait(20)
            return FakeRemote.poll(self, integration, tracked)

    host, _ = fake_host
    host.unregister("fake-a")
    host.register(SlowPoll("fake-a"), "fake-a")
    report = ("report", "--type", "GRAFFITI", "--summary", "wall", "--lat", "1", "--lng", "2")
    assert basic.cli(*report).exit_code == 0
    store = basic.store()
    engine = basic.engine(clock=utcnow)
    engine.run_pass(SUBMIT_STEPS)  # issue 1 is linked, so the first poll round has it
    worker = threading.Thread(target=engine.run_continuously, args=(lambda kind, r: None,))
    worker.start()
    try:
        assert entered.wait(20), "the poll never started"
        assert basic.cli(*report).exit_code == 0  # issue 2 arrives while the poll hangs
        wait_for(
            lambda: store.get(2).issue.status.value == "acknowledged",  # type: ignore[union-attr]
            10,
            "issue 2 acknowledged while the poll hangs (it must not wait for the poll)",
        )
        assert not release.is_set()
    finally:
        release.set()
        engine.request_stop()
        worker.join(20)
    assert not worker.is_alive()


def test_a_round_of_many_batches_ends_with_its_last_batch_and_the_next_pass_polls_again(  # type: ignore[no-untyped-def]
    world,
) -> None:
    """Batches in flight when nothing is left to claim: the last one applied ends the round,
    so the next pass starts a new one instead of joining a round with nothing left in it."""
    w = world(extra="poll_batch_size = 3")
    ids = [w.report(summary=f"Pothole {n}") for n in range(10)]
    assert w.sync().acknowledged == 10
    assert w.sync().polled == 10
    store = w.store()
    with store.read() as conn:
        unfinished = conn.execute(
            select(func.count()).select_from(poll_rounds).where(poll_rounds.c.finished_at.is_(None))
        ).scalar()
        undone = conn.execute(
            select(func.count()).select_from(poll_batches).where(poll_batches.c.done.is_(False))
        ).scalar()
    assert (unfinished, undone) == (0, 0)
    for issue_id in ids:
        w.emulator.state.staff("close", w.remote_id(issue_id))
    report = w.sync()
    assert (report.polled, report.closed) == (10, 10)
