"""Cancelling the remote request from here: ``scf issues withdraw ID --remote`` (and the
console's "Also cancel the remote request") cancels it once, with the reason, where the plugin
declares it can; where it cannot, nothing is changed and the line says why."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from scf_plugins import Capabilities, Integration, hookimpl
from scf_plugins.ops import staff
from scf_plugins.testing import Harness
from scf_plugins.testing.fake import FakeRemote

from .consoled import CHEAP, make_account, serve_console

REASON = "A duplicate of request 12"


def cancellations(w: Harness, rid: int) -> list[str]:
    """The reason of each cancel the emulator took for request ``rid``."""
    return list(w.emulator.state.cancellations.get(rid, []))


def test_withdraw_remote_cancels_the_cityworks_request_once_with_the_reason(
    world: Callable[..., Harness],
) -> None:
    w = world()
    issue_id = w.report()
    assert w.sync().acknowledged == 1
    rid = w.remote_id(issue_id)
    done = w.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == (
        f"issue {issue_id} withdrawn: closed here; request {rid} cancelled in cityworks "
        f"(cancelled with status CANCEL)"
    )
    record = w.emulator.state.requests[rid]
    assert record["Cancel"] is True and record["CancelReason"] == REASON
    assert cancellations(w, rid) == [REASON]
    shown = w.show(issue_id)
    assert shown["status"] == "closed" and REASON in shown["comments"][-1]["text"]
    again = w.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert again.exit_code == 1 and "it is closed already" in again.output
    w.sync()  # the cancel is not read back as a cancel to reopen the issue: it has no link
    assert w.show(issue_id)["status"] == "closed" and cancellations(w, rid) == [REASON]


def test_a_lost_cancel_answer_is_looked_up_and_not_cancelled_twice(
    world: Callable[..., Harness],
) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.inject("drop_after_commit", match="servicerequest/cancel")
    lost = w.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON, "--json")
    [outcome] = json.loads(lost.output)
    assert lost.exit_code == 1 and not outcome["done"]
    assert (
        "did not cancel request" in outcome["text"]
        and "nothing was changed here" in (outcome["text"])
    )
    assert w.show(issue_id)["status"] == "acknowledged"  # nothing changed here
    done = w.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert done.exit_code == 0 and "it was cancelled already" in done.output, done.output
    assert cancellations(w, rid) == [REASON]  # cancelled once, by the first call


def test_a_request_closed_remotely_is_not_cancelled_and_the_issue_stays(
    world: Callable[..., Harness],
) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.staff("close", rid, status="COMPLETE")
    refused = w.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert refused.exit_code == 1
    assert "is closed in Cityworks with status COMPLETE" in refused.output
    assert w.show(issue_id)["status"] == "acknowledged" and cancellations(w, rid) == []


class NoCancel(FakeRemote):
    """A remote system whose plugin cannot cancel from here."""

    @hookimpl
    def capabilities(self, integration: Integration) -> Capabilities:
        return Capabilities()


def fake(harness: Callable[..., Harness], basic_config: str, plugin: FakeRemote) -> Harness:
    from scf_plugins.plugins import build_manager

    host = build_manager(load_entry_points=False)
    host.register(plugin, "fake-a")
    w = harness(basic_config, host=host)
    w.cli_ok("request-types", "--refresh")
    return w


def test_where_the_plugin_cannot_the_line_says_so_and_nothing_changes(
    harness: Callable[..., Harness], basic_config: str
) -> None:
    plugin = NoCancel("fake-a")
    w = fake(harness, basic_config, plugin)
    sent = w.report("GRAFFITI", summary="Tag")
    never = w.report("GRAFFITI", summary="Tag again")
    w.sync()
    w.cli_ok("issues", "withdraw", str(never), "--reason", "hold it")  # not sent yet: no link
    rid = w.show(sent)["remote_id"]
    refused = w.cli("issues", "withdraw", str(sent), "--remote", "--reason", REASON)
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"issue {sent} not withdrawn: the fake-a plugin cannot cancel a request from here: "
        f"cancel request {rid} in alpha by hand, and withdraw it without --remote"
    )
    assert w.show(sent)["status"] == "acknowledged"
    assert not any(call[0] == "cancel_request" for call in plugin.calls)


def test_an_issue_never_sent_has_nothing_to_cancel_and_a_create_in_doubt_is_refused(
    harness: Callable[..., Harness], basic_config: str
) -> None:
    w = fake(harness, basic_config, FakeRemote("fake-a"))
    unsent = w.report("GRAFFITI", summary="Tag")
    done = w.cli("issues", "withdraw", str(unsent), "--remote", "--reason", REASON)
    assert done.exit_code == 0
    assert done.output.strip() == (
        f"issue {unsent} withdrawn: closed here; it had no remote request to cancel"
    )
    doubtful = w.report("GRAFFITI", summary="Tag")
    store = w.store()
    from sqlalchemy import update

    from scf_plugins.store.tables import issues

    with store.transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == doubtful).values(submit_attempted=True))
    refused = w.cli("issues", "withdraw", str(doubtful), "--remote", "--reason", REASON)
    assert refused.exit_code == 1 and "has no remote id here yet" in refused.output
    assert f"scf issues retry {doubtful}" in refused.output


@pytest.fixture
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff, "HASHER", CHEAP)


def test_the_console_offers_it_only_where_the_plugin_declares_it(
    world: Callable[..., Harness], cheap: None
) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    served = serve_console(w)
    make_account(served, "ada", "admin")
    ada = served.client()
    assert ada.sign_in("ada").status_code == 303
    page = ada.get(f"/console/issues/{issue_id}").text
    assert 'name="remote" value="1"' in page and "Also cancel the remote request" in page
    answer = ada.submit(f"/console/issues/{issue_id}/withdraw", {"reason": REASON, "remote": "1"})
    assert answer.status_code == 303
    assert cancellations(w, rid) == [REASON] and w.show(issue_id)["status"] == "closed"


def test_the_console_offers_nothing_more_where_the_plugin_cannot(
    harness: Callable[..., Harness], basic_config: str, cheap: None
) -> None:
    w = fake(harness, basic_config, NoCancel("fake-a"))
    issue_id = w.report("GRAFFITI", summary="Tag")
    w.sync()
    served = serve_console(w)
    make_account(served, "ada", "admin")
    ada = served.client()
    assert ada.sign_in("ada").status_code == 303
    page = ada.get(f"/console/issues/{issue_id}").text
    assert "Withdraw</button>" in page and 'name="remote"' not in page
    assert re.search(r"so cancel it there", page)
