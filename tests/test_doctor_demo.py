"""``scf doctor`` says what works and what is wrong; ``scf demo`` shows the whole lifecycle."""

from __future__ import annotations

import json
import socket

import pytest

from scf_plugins.cli.demo import run_demo
from scf_plugins.plugins import build_manager

GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
"""


def test_doctor_reports_each_target_in_one_line(world) -> None:  # type: ignore[no-untyped-def]
    from scf_arcgis.fake import FakeGeocodeServer

    with FakeGeocodeServer() as gis:
        w = world(tail=GEOCODER.format(url=gis.url))
        result = w.cli("doctor")
        assert result.exit_code == 0, result.output
        lines = [x for x in result.stdout.strip().splitlines() if not x.startswith("     note:")]
        assert lines[0].startswith("OK   integration cityworks (test): http://127.0.0.1:")
        assert "logged in as 'scf-int', 7 public request types" in lines[0]
        assert lines[1].startswith("OK   geocoder county_gis:")
        assert "single-line field 'Single Line Input'" in lines[1]


def test_doctor_lists_the_remote_statuses_nobody_mapped(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    text = w.path.read_text().replace(
        'cancel_statuses = ["CANCEL", "DUP"]', 'cancel_statuses = ["CANCEL", "DUPE"]'
    )
    w.path.write_text(text)
    [finding] = json.loads(w.cli("doctor", "--json").stdout)
    notes = "\n".join(finding["notes"])
    # The emulator's site has OPEN, INPROG, DISPATCH, CLOSED, COMPLETE, CANCEL, DUP.
    assert "in neither closed_statuses nor cancel_statuses" in notes
    assert "OPEN, INPROG, DISPATCH, DUP" in notes
    assert "name DUPE, which cityworks does not have" in notes
    assert w.emulator.state.counts["ams/servicerequest/statuses"] == 1


def test_doctor_names_the_likely_cause(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = world()
    w.emulator.state.inject("html", count=5)
    data = json.loads(w.cli("doctor", "--json").stdout)
    assert not data[0]["ok"] and "HTML (a login redirect)" in data[0]["detail"]
    w.emulator.state.clear_faults()
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-1")
    result = w.cli("doctor")
    assert result.exit_code == 1 and "refused the login of user 'scf-int'" in result.output
    w.emulator.stop()
    result = w.cli("doctor")
    assert result.exit_code == 1
    assert "cannot connect to 127.0.0.1" in result.output and "firewall" in result.output

    def no_dns(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    result = w.cli("doctor")
    assert "cannot resolve host '127.0.0.1'" in result.output


def test_doctor_env_switch_needs_that_environment(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    result = w.cli("doctor", "--env", "production")
    assert result.exit_code == 1
    assert (
        "environment: is 'production' but there is no [integrations.cityworks.production]"
        in result.output
    )
    assert result.output.count("\n") == 1


def test_the_demo_shows_every_transition_and_message(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SCF_CITYWORKS_TEST_PASSWORD", raising=False)
    lines: list[str] = []
    errors = run_demo(build_manager(disabled=set()), lines.append)
    out = "\n".join(lines)
    assert errors == 0, out
    assert "submitted 3, acknowledged 3" in out
    assert "cancelled 1, comments in 1 out 1" in out
    assert "acknowledged 3, closed 0, cancelled 0, comments in 0 out 0, photos out 1" in out
    assert "submitted 1, acknowledged 1" in out  # the recategorised issue
    assert "closed 2" in out and "archived 2" in out
    for text in (
        "has received it as service request",
        "assigned to Streets Crew 4",
        "A crew is scheduled for Tuesday morning.",
        "was cancelled by city staff",
        "has been completed and this issue is now closed",
        "the crew has finished the work on request",
        "'165 CHURCH ST, NEW HAVEN, CT, 06510' (score 100, PointAddress, accepted)",
        "-> archived",
        "[DoorWall] -> acknowledged",
        "carries the resident's comment: '[311] Jane Doe: Thanks!",
        "and the resident's photo as attachment 7001: scf-",
    ):
        assert text in out, text
    assert "Internal: bring the cold patch" not in out
    assert (
        "The run showed every transition: Open -> Acknowledged 4, Acknowledged -> Open "
        "(cancelled) 1, Acknowledged -> Closed 2, Closed -> Archived 2"
    ) in out


def test_doctor_names_a_wrong_path(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    w.path.write_text(
        w.path.read_text().replace("/Cityworks/Services/AMS", "/CityworksTest/Services/AMS")
    )
    result = w.cli("doctor")
    assert result.exit_code == 1
    assert "answered 404; check that the url ends in /Services/AMS" in result.stdout


@pytest.mark.slow  # a subprocess
def test_the_emulator_command_serves_a_site(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys
    from pathlib import Path

    import requests

    scf = str(Path(sys.executable).parent / "scf")
    env = dict(os.environ, SCF_EMULATOR_PASSWORD="cmd-pass-123")
    proc = subprocess.Popen(
        [scf, "emulator", "cityworks", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/Cityworks/Services/AMS")
        site = url.removesuffix("/Services/AMS")
        body = requests.post(
            f"{site}/Services/General/Authentication/Authenticate",
            data={"data": '{"LoginName": "scf-int", "Password": "cmd-pass-123"}'},
            timeout=5,
        ).json()
        assert body["Status"] == 0 and body["Value"]["Token"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
