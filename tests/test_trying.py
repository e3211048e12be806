"""Trying a config: the emulators' staff and fault commands, a configurable pull prefix, and
the small things a newcomer meets (a key typo, a port in use)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

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
