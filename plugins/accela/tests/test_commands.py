"""``scf emulator accela``: it serves, and its staff, fault and token commands act on a
running one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from scf_accela.commands import emulator_command
from scf_accela.emulator import AccelaEmulator


@pytest.mark.slow  # a subprocess
def test_the_emulator_command_serves_both_hosts_and_stops_on_sigterm() -> None:
    env = {**os.environ, "SCF_EMULATOR_PASSWORD": "cli-pass-1", "SCF_EMULATOR_APP_SECRET": "s-2"}
    scf = str(Path(sys.executable).parent / "scf")
    proc = subprocess.Popen(
        [scf, "emulator", "accela", "--port", "0", "--app-id", "app-9"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" at ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        form = {
            "grant_type": "password",
            "client_id": "app-9",
            "client_secret": "s-2",
            "username": "scf-int",
            "password": "cli-pass-1",
            "agency_name": "ISLANDTON",
            "environment": "TEST",
            "scope": "records",
        }
        token = requests.post(f"{url}/oauth2/token", data=form, timeout=5).json()["access_token"]
        types = requests.get(
            f"{url}/v4/settings/records/types", timeout=5, headers={"Authorization": token}
        )
        assert types.status_code == 200 and types.json()["result"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_staff_commands_act_on_a_running_emulator(emulator: AccelaEmulator) -> None:
    state = emulator.state
    rid = state.create({"type": {"id": "ServiceRequest-Graffiti-Graffiti-NA"}}, "scf-int")["id"]
    at = ["--at", emulator.root]
    runner = CliRunner()
    out = runner.invoke(emulator_command, ["staff", "void", rid, "--reason", "Duplicate", *at])
    assert out.exit_code == 0, out.output
    assert f"record {rid}: void done (status Void)" in out.output
    assert state.records[rid]["statusReason"]["value"] == "Duplicate"
    out = runner.invoke(emulator_command, ["staff", "comment", rid, "To SCF: on it", *at])
    assert out.exit_code == 0 and state.comments[rid][-1]["text"] == "To SCF: on it"
    out = runner.invoke(emulator_command, ["staff", "status", rid, "In Progress", *at])
    assert out.exit_code == 0 and state.records[rid]["statusType"] == ["PENDING"]
    out = runner.invoke(emulator_command, ["staff", "set", rid, "assignedUser", "Crew 4", *at])
    assert out.exit_code == 0 and state.records[rid]["assignedUser"] == "Crew 4"
    out = runner.invoke(emulator_command, ["staff", "close", rid, *at])
    assert out.exit_code == 0 and state.records[rid]["closedDate"]
    out = runner.invoke(emulator_command, ["staff", "close", "NOPE-1", *at])
    assert out.exit_code == 1 and "the emulator refused it: 'no record NOPE-1'" in out.output
    out = runner.invoke(emulator_command, ["fault", "429", "--match", "get /v4/", *at])
    assert out.exit_code == 0 and len(state.faults) == 1
    out = runner.invoke(emulator_command, ["expire-tokens", "--refresh", *at])
    assert out.exit_code == 0 and "and every refresh token" in out.output
    out = runner.invoke(emulator_command, ["staff", "close", rid, "--at", "http://127.0.0.1:9"])
    assert out.exit_code == 1 and "no emulator answers at http://127.0.0.1:9" in out.output
