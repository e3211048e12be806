"""A fix takes effect at once: a circuit belongs to the environment, endpoint and credentials it
tripped on, and ``scf issues retry`` ends the wait of the circuits it concerns, saying what the
next pass will do."""

from __future__ import annotations

import dataclasses
import logging
import socket
from typing import Any

import pytest
from sqlalchemy import select

from scf_plugins.engine import circuits
from scf_plugins.models import Secret
from scf_plugins.store.tables import circuits as circuit_rows

from .conftest import PASSWORD

PASSWORD_VAR = "SCF_CITYWORKS_TEST_PASSWORD"
LOGIN = "general/authentication/authenticate"  # the emulator's count of login calls


def logins(w: Any) -> int:
    return int(w.emulator.state.counts[LOGIN])


def test_a_refused_login_fixed_then_retry_and_one_pass_acknowledge(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world()
    issue_id = w.report()
    w.setenv(PASSWORD_VAR, "wrong-password-7")
    report = w.sync()
    assert report.acknowledged == 0 and "is down" in report.problems[0]

    # Still wrong: the answer says the integration is down and that the next pass probes it
    # first; that pass probes at once (no 15 s wait) and sends nothing.
    said = w.cli_ok("issues", "retry", str(issue_id)).output
    assert "1 issue(s) and 0 comment(s) or photo(s) will be tried again on the next pass" in said
    assert "cityworks is down since" in said and "refused the login" in said
    assert "the next pass probes it first" in said
    before = logins(w)
    assert w.sync().acknowledged == 0
    assert logins(w) == before + 1

    # Fixed with `scf credentials set`, then retried: one pass acknowledges the issue.
    monkeypatch.delenv(PASSWORD_VAR)
    w.cli_ok("credentials", "set", "cityworks", "--env", "test", "--stdin",
             input=f"{PASSWORD}\n")  # fmt: skip
    said = w.cli_ok("issues", "retry", str(issue_id)).output
    assert "will be tried again on the next pass" in said and "down" not in said
    assert w.sync().acknowledged == 1
    assert w.show(issue_id)["status"] == "acknowledged"


def test_a_password_put_right_elsewhere_is_tried_at_once(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Not through `scf credentials set` (the environment of the service, another secrets
    file): the circuit tripped on the old password does not hold back the new one."""
    w = world()
    issue_id = w.report()
    w.setenv(PASSWORD_VAR, "wrong-password-8")
    assert w.sync().acknowledged == 0
    w.setenv(PASSWORD_VAR, PASSWORD)
    caplog.set_level(logging.WARNING)
    assert w.sync().acknowledged == 1  # the clock has not moved: no probe was due
    [back] = [r.getMessage() for r in caplog.records if "is back" in r.getMessage()]
    assert "tripped on other settings" in back
    assert w.show(issue_id)["status"] == "acknowledged"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_wrong_url_put_right_in_the_config_sends_on_the_next_pass(world: Any) -> None:
    w = world()
    issue_id = w.report()
    right = w.path.read_text()
    wrong = right.replace(w.emulator.root, f"http://127.0.0.1:{closed_port()}")
    w.path.write_text(wrong)
    report = w.sync()
    assert report.acknowledged == 0 and "cannot reach" in report.problems[0]
    assert w.show(issue_id)["sync"]["attempts"] == 0  # down as a whole: not charged
    status = w.cli("status", "--json")
    assert '"down": true' in status.output

    w.path.write_text(right)
    report = w.sync()  # the same moment: the old endpoint's probe is not waited for
    assert report.acknowledged == 1 and report.errors == 0
    assert '"down": false' in w.cli("status", "--json").output


def test_retry_failing_ends_the_wait_of_a_down_integration(world: Any) -> None:
    """Nothing is failing (a down integration charges no issue), but it is down: `retry
    --failing` ends its wait rather than saying there is nothing to retry."""
    w = world()
    w.report()
    w.setenv(PASSWORD_VAR, "wrong-password-9")
    w.sync()
    result = w.cli_ok("issues", "retry", "--failing")
    assert result.output.startswith("no issue is failing; cityworks is down since")
    assert "the next pass probes it first, and sends what waits only if it answers" in (
        result.output
    )
    before = logins(w)
    w.sync()  # the clock has not moved: the probe runs because its wait was ended
    assert logins(w) == before + 1


def test_retry_with_no_circuit_and_nothing_failing_still_refuses(world: Any) -> None:
    w = world()
    result = w.cli("issues", "retry", "--failing")
    assert result.exit_code == 1 and "no issue is failing; nothing to retry" in result.output


def test_the_fingerprint_holds_no_password_and_knows_what_changed(world: Any) -> None:
    w = world()
    w.report()
    w.setenv(PASSWORD_VAR, "wrong-password-10")
    w.sync()
    with w.store().read() as conn:
        [stored] = conn.execute(select(circuit_rows.c.reason)).scalars()
        [circuit] = circuits.read_all(conn).values()
    assert "wrong-password-10" not in stored and PASSWORD not in stored
    assert circuit.reason.startswith("Cityworks refused the login")

    live = w.settings.integrations["cityworks"]
    assert circuit.applies_to(live)
    for change in ({"url": live.url + "x"}, {"user": "other"}, {"environment": "prod"},
                   {"password": Secret(PASSWORD)}):  # fmt: skip
        assert not circuit.applies_to(dataclasses.replace(live, **change)), change
    # A command without the workers' secrets (no password here) still sees it down.
    assert circuit.applies_to(dataclasses.replace(live, password=None))


def test_a_circuit_written_before_fingerprints_applies_to_any_settings(world: Any) -> None:
    w = world()
    with w.store().transaction() as conn:
        conn.execute(
            circuit_rows.insert().values(
                integration="cityworks",
                opened_at=w.clock.now,
                reason="an older scf wrote this",
                probe_at=w.clock.now,
                probes=0,
            )
        )
    with w.store().read() as conn:
        circuit = circuits.read(conn, "cityworks")
    assert circuit is not None and circuit.fingerprint is None
    assert circuit.reason == "an older scf wrote this"
    assert circuit.applies_to(w.settings.integrations["cityworks"])
