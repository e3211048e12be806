"""One alarm per outage: an integration down as a whole opens its circuit, waiting issues are
not charged, a probe runs when due, and everything waiting goes at once when it is back."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from scf_plugins import LoginRefused, TransientError
from scf_plugins.engine.circuits import integration_wide

from .conftest import PASSWORD


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_refused_login_is_one_line_not_one_per_issue(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w = world()
    ids = [w.report(summary=f"pothole {n}") for n in range(6)]
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-1")
    caplog.set_level(logging.WARNING)
    report = w.sync()
    assert report.acknowledged == 0 and report.errors == 1
    assert len(report.problems) == 1 and "refused the login" in report.problems[0]
    lines = [line for line in warnings_of(caplog) if "cityworks" in line]
    assert len(lines) == 1 and "is down" in lines[0] and "not charged" in lines[0]
    for issue_id in ids:  # not charged: no attempt, no error, no back-off
        sync = w.show(issue_id)["sync"]
        assert (sync["attempts"], sync["last_error"], sync["next_attempt_at"]) == (0, None, None)

    # Passes before the probe is due send nothing and say nothing more.
    caplog.clear()
    calls = sum(w.emulator.state.counts.values())
    again = w.sync()
    assert (again.errors, again.problems) == (0, [])
    assert sum(w.emulator.state.counts.values()) == calls and not warnings_of(caplog)

    # The probe is due and still refused: a debug line, no warning, the next probe later.
    caplog.set_level(logging.DEBUG, logger="scf_plugins.engine.circuits")
    w.later(seconds=16)
    again = w.sync()
    assert again.errors == 1 and again.acknowledged == 0
    assert not warnings_of(caplog)
    assert any("still down" in r.getMessage() for r in caplog.records)

    # Fixed: the next due probe goes through and everything waiting is sent at once.
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", PASSWORD)
    w.later(seconds=31)
    caplog.clear()
    back = w.sync()
    assert back.acknowledged == 6 and back.errors == 0
    assert any("is back after" in line for line in warnings_of(caplog))
    assert all(w.show(i)["sync"]["attempts"] == 0 for i in ids)


def test_an_unreachable_host_opens_the_circuit_and_polls_wait_for_it(world: Any) -> None:
    w = world()
    acknowledged = w.report()
    assert w.sync().acknowledged == 1
    waiting = w.report(summary="second")
    w.emulator.stop()
    report = w.sync()
    assert report.errors == 1 and "is down" in report.problems[0]
    assert "cannot reach" in report.problems[0]
    assert w.show(waiting)["sync"]["attempts"] == 0
    assert w.show(acknowledged)["sync"]["last_error"] is None


def test_changing_the_password_closes_the_circuit_at_once(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world()
    issue_id = w.report()
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-2")
    assert w.sync().errors == 1
    monkeypatch.delenv("SCF_CITYWORKS_TEST_PASSWORD")
    monkeypatch.setenv("SCF_SECRETS_FILE", str(w.folder / "secrets.json"))
    result = w.cli("credentials", "set", "cityworks", "--env", "test", "--stdin",
                   input=f"{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the next pass tries it at once" in result.output
    assert w.sync().acknowledged == 1  # no waiting for the probe
    assert w.show(issue_id)["status"] == "acknowledged"


def test_what_counts_as_the_integration_being_down() -> None:
    def tagged(error: Exception, outcome: str) -> Exception:
        error.outcome = outcome  # type: ignore[attr-defined]
        return error

    assert integration_wide(LoginRefused("no"))
    assert integration_wide(tagged(TransientError("refused"), "connection"))
    assert integration_wide(tagged(TransientError("503"), "http-503"))
    assert integration_wide(tagged(TransientError("x"), "tls"))
    # Not the integration's: a timeout, a 500 (may be the issue's data), a dropped create.
    from scf_plugins import AmbiguousError, DefiniteError

    assert not integration_wide(tagged(TransientError("slow"), "timeout"))
    assert not integration_wide(tagged(TransientError("500"), "http-500"))
    assert not integration_wide(tagged(AmbiguousError("dropped"), "connection"))
    assert not integration_wide(DefiniteError("bad data"))


def test_json_logs_name_the_integration_and_issue_and_the_pass_counts(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = world()
    issue_id = w.report()
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    caplog.set_level(logging.INFO)
    w.sync()
    [warning] = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "scf_plugins.engine.loop"
    ]
    assert warning.integration == "cityworks" and warning.issue_id == issue_id  # type: ignore[attr-defined]
    [line] = [r for r in caplog.records if getattr(r, "event", None) == "pass"]
    assert line.errors == 1 and line.acknowledged == 0  # type: ignore[attr-defined]


def test_a_refused_login_is_logged_as_refused(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w = world()
    w.report()
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-4")
    caplog.set_level(logging.INFO, logger="scf_plugins.net.http")
    w.sync()
    [login] = [r for r in caplog.records
               if getattr(r, "method", "") == "General/Authentication/Authenticate"]  # fmt: skip
    assert login.outcome == "refused"  # type: ignore[attr-defined]
