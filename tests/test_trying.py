"""Trying a config: the emulators' staff and fault commands, a configurable pull prefix, and
the small things a newcomer meets (a key typo, a port in use)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scf_cityworks.commands import emulator_command

SCF = str(Path(sys.executable).parent / "scf")


def staff(w: Any, *args: str) -> Any:
    return CliRunner().invoke(emulator_command, [*args, "--at", w.emulator.root])


def test_staff_commands_drive_a_running_emulator(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    rid = str(w.remote_id(issue_id))
    result = staff(w, "staff", "comment", rid, "To SCF: a crew comes Tuesday")
    assert result.exit_code == 0, result.output
    assert staff(w, "staff", "set", rid, "DispatchTo", "Crew 4").exit_code == 0
    assert w.sync().comments_in == 1
    closed = staff(w, "staff", "close", rid, "--status", "COMPLETE")
    assert closed.exit_code == 0 and "status COMPLETE" in closed.output
    assert w.sync().closed == 1
    assert staff(w, "fault", "503", "--match", "byids").exit_code == 0


def test_bad_control_requests_get_one_clear_line(world: Any) -> None:
    w = world()
    missing = staff(w, "staff", "close", "424242")
    assert missing.exit_code == 1 and "the emulator refused it" in missing.output
    assert "Traceback" not in missing.output and len(missing.output.strip().splitlines()) == 1
    unknown = staff(w, "fault", "explode")
    assert unknown.exit_code == 1 and "unknown fault 'explode'; use one of: 503" in unknown.output
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = CliRunner().invoke(
        emulator_command, ["staff", "close", "1", "--at", f"http://127.0.0.1:{port}"]
    )
    assert nobody.exit_code == 1 and "no emulator answers" in nobody.output
    import requests

    raw = requests.post(f"{w.emulator.root}/__emulator/staff", json={"request_id": 1}, timeout=10)
    assert raw.status_code == 400 and raw.json() == {"error": "the JSON body needs 'action'"}


def test_the_pull_prefix_is_configurable(world: Any) -> None:
    w = world(extra='pull_prefix = "Public:"')
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    w.emulator.state.staff("comment", rid, text="public :  Crew booked")
    w.emulator.state.staff("comment", rid, text="To SCF: not this one any more")
    assert w.sync().comments_in == 1
    pulled = [c["text"] for c in w.show(issue_id)["comments"] if c["kind"] == "remote"]
    assert pulled == ["Crew booked"]


def test_a_key_typo_suggests_the_closest_key(world: Any) -> None:
    w = world(extra='closed_status = ["DONE"]')
    result = w.cli("config", "check")
    assert result.exit_code == 1
    assert "closed_status: unknown key; did you mean 'closed_statuses'?" in result.output


@pytest.mark.slow  # a subprocess
def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for command in (["emulator", "cityworks"], ["emulator", "arcgis"]):
            done = subprocess.run(
                [SCF, *command, "--port", port], capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 1, done
            assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
            assert "Traceback" not in done.stderr


def test_a_version_that_is_not_a_version_says_so(world: Any) -> None:
    w = world()
    w.path.write_text(w.path.read_text().replace('version = "15.8"', 'version = "latest"'))
    result = w.cli("config", "check")
    assert result.exit_code == 1 and "version: 'latest' is not a version" in result.output


def test_https_against_a_plain_http_server_says_so(world: Any) -> None:
    w = world()
    w.path.write_text(w.path.read_text().replace('url = "http://', 'url = "https://'))
    result = w.cli("doctor")
    assert "answers plain HTTP, not TLS, on this https URL; use http://" in result.output
    assert "ca_bundle" not in result.output


def test_a_failed_refresh_exits_1_and_says_so_once(world: Any) -> None:
    w = world()
    assert w.cli("request-types", "--refresh").exit_code == 0
    w.emulator.stop()
    result = w.cli("request-types", "--refresh")
    assert result.exit_code == 1
    assert result.output.count("not refreshed") == 1 and "POTHOLE" in result.output


def test_type_codes_match_ignoring_case_and_comments_say_where_they_go(world: Any) -> None:
    w = world()
    issue_id = w.report("pothole", "501=Yes", "502=Smaller than a dinner plate", "503=r@x.org")
    assert w.show(issue_id)["request_type"] == "POTHOLE"
    said = w.cli("comment", str(issue_id), "Still there")
    assert "once the issue is linked" in said.output
    w.sync()
    assert "on the next pass" in w.cli("comment", str(issue_id), "Bigger now").output
    w.emulator.state.staff("close", w.remote_id(issue_id))
    w.sync()
    closed = w.cli("comment", str(issue_id), "Thanks")
    assert closed.exit_code == 0 and "it stays here: the issue is closed" in closed.output


def test_the_cancel_reason_is_kept_for_staff_and_offered_to_the_message(world: Any) -> None:
    w = world()
    text = w.path.read_text().replace(
        "canceled_by_status = { ", 'canceled_by_status = { CANCEL = "Cancelled: {reason}", '
    )
    w.path.write_text(text)
    issue_id = w.report()
    w.sync()
    w.emulator.state.staff("cancel", w.remote_id(issue_id), reason="Private property")
    assert w.sync().cancelled == 1
    shown = w.show(issue_id)
    assert shown["sync"]["attention_kind"] == "canceled"
    assert "Private property" in shown["sync"]["attention"]
    assert shown["comments"][-1]["text"] == "Cancelled: Private property"


def test_issues_show_prints_times_in_the_organizations_zone(world: Any) -> None:
    w = world()
    w.path.write_text(
        w.path.read_text().replace(
            'bot_name = "Testville 311"',
            'bot_name = "Testville 311"\ntimezone = "America/New_York"',
        )
    )
    issue_id = w.report()
    text = w.cli("issues", "show", str(issue_id)).output
    import re

    assert re.search(r"reported      \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", text), text


@pytest.mark.slow  # a subprocess
def test_scf_serve_on_a_busy_port_is_one_clear_line(world: Any) -> None:
    w = world()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = subprocess.run(
            [SCF, "--config", str(w.path), "serve", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_report_names_every_missing_answer_at_once(world: Any) -> None:
    w = world()
    w.cli("request-types", "--refresh")
    result = w.cli("report", "--type", "POTHOLE", "--summary", "x", "--lat", "41.3",
                   "--lng", "-72.9")  # fmt: skip
    assert result.exit_code == 1
    assert all(f"question {q}" in result.output for q in ("501", "502", "503"))
