"""``scf doctor`` checks the mail server of ``[email]``: connects, says hello, logs in, sends
nothing; a refused login or a server down is a failing finding that says why."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scf_plugins.testing.smtp_sink import SmtpSink

PASSWORD = "Doctor-Mail-4471"  # made up


def config(port: int, extra: str = "", public_url: str = "http://127.0.0.1:8311") -> str:
    """A config with only an organization, ``[email]`` at the sink and the ``public_url``
    its links go to."""
    return (
        f'[organization]\nname = "City of Testville"\n\n[server]\npublic_url = "{public_url}"\n'
        f'\n[email]\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\nfrom = "311 <no-reply@example.gov>"\n{extra}'
    )


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A sink that takes the login ``scf``."""
    with SmtpSink(users={"scf": PASSWORD}) as started:
        yield started


def doctor(run: Callable[..., object], path: Path) -> tuple[int, list[dict[str, object]]]:
    """``scf doctor --json``: its exit code and findings."""
    result = run("doctor", "--json", config=path)
    return result.exit_code, json.loads(result.stdout)  # type: ignore[attr-defined]


def test_a_reachable_server_and_a_good_login_are_ok_and_nothing_is_sent(
    run: Callable[..., object],
    write_config: Callable[[str], Path],
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCF_EMAIL_PASSWORD", PASSWORD)
    path = write_config(config(sink.port, 'user = "scf"\n'))
    code, findings = doctor(run, path)
    assert code == 0, findings
    (email,) = findings
    assert email["target"] == "email" and email["ok"] is True
    assert email["detail"] == (
        f"connected to 127.0.0.1:{sink.port}; logged in as scf; the server offers "
        "SMTPUTF8, 8BITMIME"
    )
    assert email["notes"] == ["server.public_url is plain http: one-click unsubscribe needs https"]
    assert sink.received == []


def test_a_refused_login_fails_and_says_how_to_fix_it(
    run: Callable[..., object],
    write_config: Callable[[str], Path],
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCF_EMAIL_PASSWORD", "Wrong-Mail-4471")
    extra = 'user = "scf"\n'
    code, findings = doctor(run, write_config(config(sink.port, extra, "https://311.example.gov")))
    assert code == 1
    (email,) = findings
    assert email["ok"] is False and email["notes"] == []
    assert "refused the login of scf" in str(email["detail"])
    assert "scf credentials set email" in str(email["detail"])
    assert "Wrong-Mail-4471" not in json.dumps(findings)


def test_a_server_down_fails_in_one_line(
    run: Callable[..., object], write_config: Callable[[str], Path], sink: SmtpSink
) -> None:
    sink.refuse()
    code, findings = doctor(run, write_config(config(sink.port)))
    assert code == 1
    assert "the connection was refused" in str(findings[0]["detail"])


def test_the_text_screen_shows_the_email_line(
    run: Callable[..., object], write_config: Callable[[str], Path], sink: SmtpSink
) -> None:
    result = run("doctor", config=write_config(config(sink.port)))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert f"OK   email: connected to 127.0.0.1:{sink.port}" in result.stdout  # type: ignore[attr-defined]
