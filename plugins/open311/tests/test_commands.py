"""``scf emulator open311``: it serves, and its staff commands act on a running one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from scf_open311.commands import emulator_command
from scf_open311.emulator import Open311Emulator


@pytest.mark.slow  # a subprocess
def test_the_emulator_command_serves_and_stops_on_sigterm() -> None:
    env = {**os.environ, "SCF_EMULATOR_KEY": "cli-key-1234"}
    scf = str(Path(sys.executable).parent / "scf")
    proc = subprocess.Popen([scf, "emulator", "open311", "--port", "0", "--xml-only"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/open311/v2")
        assert requests.get(f"{url}/services.json", timeout=5).status_code == 404  # XML only
        assert b"<services>" in requests.get(f"{url}/services.xml", timeout=5).content
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_staff_commands_act_on_a_running_emulator(emulator: Open311Emulator) -> None:
    rid = emulator.state.create([("service_code", "GRAF"), ("lat", "1"), ("long", "2"),
                                 ("description", "Tag")])["service_request_id"]  # fmt: skip
    at = ["--at", emulator.root]
    runner = CliRunner()
    out = runner.invoke(emulator_command, ["staff", "close", rid, "--notes", "Gone", *at])
    assert out.exit_code == 0, out.output
    assert f"request {rid}: close done (status closed)" in out.output
    assert emulator.state.requests[rid]["status_notes"] == "Gone"
    emulator.state.create([("service_code", "LIGHT"), ("lat", "1"), ("long", "2"),
                           ("attribute[pole]", "P1")])  # fmt: skip
    out = runner.invoke(emulator_command, ["staff", "process-batch", *at])
    assert out.exit_code == 0 and "made 1 request(s)" in out.output
    out = runner.invoke(emulator_command, ["staff", "close", "999", *at])
    assert out.exit_code == 1 and "the emulator refused it: 'no request 999'" in out.output
    out = runner.invoke(emulator_command, ["fault", "503", *at])
    assert out.exit_code == 0
    assert requests.get(f"{emulator.url}/services.json", timeout=5).status_code == 503
    out = runner.invoke(emulator_command, ["staff", "close", rid,
                              "--at", "http://127.0.0.1:9"])  # fmt: skip
    assert out.exit_code == 1 and "no emulator answers at http://127.0.0.1:9" in out.output
