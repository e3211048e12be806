"""No password or token in any output, log line or stored error; owner-only secrets; TLS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

PASSWORD = "World-Pass-5521"  # what the world fixture gives the integration
WRONG = "Wrong-Pass-9931"


def everything(w) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Every command, succeeding and failing, with JSON logs at debug level."""
    runs = []

    def cli(*args: str) -> None:
        runs.append(w.cli("--log-format", "json", "--log-level", "debug", *args))

    cli("plugins", "--json")
    cli("config", "check")
    cli("request-types", "--refresh", "--json")
    cli(
        "report",
        "--type",
        "POTHOLE",
        "--summary",
        "Hole",
        "--lat",
        "41.3",
        "--lng",
        "-72.9",
        "--answer",
        "501=Yes",
        "--answer",
        "502=Smaller than a dinner plate",
        "--answer",
        "503=jane@example.org",
    )
    cli("report", "--type", "POTHOLE", "--summary", "Hole", "--lat", "91", "--lng", "0")
    cli("sync", "--once")
    cli("comment", "1", "hello")
    w.emulator.state.staff("comment", w.remote_id(1), text="To SCF: hi")
    w.emulator.state.expire_tokens()
    cli("sync", "--once")
    for fault in ("html", "503", "malformed", "reset", "expire_token"):
        w.emulator.state.inject(fault, count=2)
        cli(
            "report",
            "--type",
            "DoorWall",
            "--summary",
            "x",
            "--lat",
            "41.3",
            "--lng",
            "-72.9",
            "--answer",
            "40=door",
        )
        cli("sync", "--once")
    w.emulator.state.clear_faults()
    w.emulator.state.expire_tokens()  # one more renewal, whatever the faults hit
    cli("request-types", "--refresh")
    cli("issues", "list", "--json")
    cli("issues", "list", "--status", "stuck")
    cli("issues", "show", "1", "--json")
    cli("issues", "show", "1")
    cli("issues", "recategorize", "1", "--type", "DoorWall")
    cli("doctor")
    os.environ["SCF_CITYWORKS_TEST_PASSWORD"] = WRONG
    cli("doctor", "--json")
    cli("sync", "--once")
    os.environ["SCF_CITYWORKS_TEST_PASSWORD"] = PASSWORD
    return runs


def test_no_secret_in_output_logs_or_store(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    assert os.environ["SCF_CITYWORKS_TEST_PASSWORD"] == PASSWORD
    runs = everything(w)
    tokens = set(w.emulator.state.issued)
    assert len(tokens) >= 3, "the run must have used several tokens"
    secrets = {PASSWORD, WRONG, *tokens}
    texts = [r.stdout + r.stderr for r in runs]
    database = b"".join(p.read_bytes() for p in Path(w.folder).glob("scf.db*"))
    for secret in secrets:
        for text in texts:
            assert secret not in text
        assert secret.encode() not in database
    json_lines = [line for r in runs for line in r.stderr.splitlines() if line.startswith("{")]
    assert len(json_lines) > 40
    assert any("refused the login" in t for t in texts)  # the failing runs did fail


def test_credentials_file_is_owner_only_and_refused_when_readable(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = world()
    monkeypatch.delenv("SCF_CITYWORKS_TEST_PASSWORD")
    monkeypatch.setenv("SCF_ALLOW_PIPED_PASSWORD", "1")
    result = w.cli(
        "credentials", "set", "cityworks", "--env", "test", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0 and PASSWORD not in result.output
    secrets_file = Path(os.environ["SCF_SECRETS_FILE"])
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert w.cli("sync", "--once").exit_code == 0  # the file's password works
    secrets_file.chmod(0o640)
    result = w.cli("sync", "--once")
    assert result.exit_code == 1
    assert "can be read by others (mode 640); run: chmod 600" in result.output
    assert PASSWORD not in result.output


def test_tls_is_verified_by_default_and_a_ca_bundle_can_be_set(make_integration_tls) -> None:  # type: ignore[no-untyped-def]
    from scf_cityworks.client import CityworksClient

    assert CityworksClient(make_integration_tls(True)).http.session.verify is True
    assert (
        CityworksClient(make_integration_tls("/etc/ssl/ca.pem")).http.session.verify
        == "/etc/ssl/ca.pem"
    )
    assert CityworksClient(make_integration_tls(False)).http.session.verify is False


@pytest.fixture
def make_integration_tls(monkeypatch):  # type: ignore[no-untyped-def]
    from scf_plugins import Integration

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return lambda verify: Integration(
        name="cw",
        plugin="cityworks",
        environment="test",
        url="https://127.0.0.1:9/Cityworks/Services/AMS",
        user="u",
        password=None,
        verify_tls=verify,
    )


def test_turning_verification_off_warns_on_every_run(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = world()
    text = w.path.read_text().replace('user = "scf-int"', 'user = "scf-int"\nverify_tls = false')
    w.path.write_text(text)
    for _ in range(2):
        result = w.cli("issues", "list")
        assert "TLS certificate verification is OFF for integration cityworks" in result.stderr
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    w.path.write_text(text.replace("verify_tls = false", f'ca_bundle = "{bundle}"'))
    assert w.settings.integrations["cityworks"].verify_tls == str(bundle)
    w.path.write_text(text.replace("verify_tls = false", 'ca_bundle = "/nonexistent/ca.pem"'))
    result = w.cli("issues", "list")
    assert result.exit_code == 1 and "no file at /nonexistent/ca.pem" in result.output


def test_json_logs_give_a_line_per_remote_call_and_transition(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    w.report()
    result = w.cli("--log-format", "json", "sync", "--once")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    calls = [r for r in records if r.get("method")]
    assert {c["method"] for c in calls} >= {"Ams/ServiceRequest/ByIds", "Ams/ServiceRequest/Create"}
    for call in calls:
        assert call["integration"] == "cityworks" and call["outcome"] == "ok"
        assert isinstance(call["duration_ms"], float)
    [ack] = [r for r in records if r.get("transition") == "acknowledged"]
    assert ack["issue_id"] == 1 and ack["remote_id"]
    assert any(r.get("event") == "pass" for r in records)
