"""The SMTP sink the tests and the demo write to, its faults, and ``scf emulator smtp``."""

from __future__ import annotations

import logging
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from scf_plugins.testing.smtp_sink import SmtpSink


def letter(subject: str = "Your report 4521 — received") -> EmailMessage:
    """A small message with non-ASCII text."""
    message = EmailMessage()
    message["From"] = "311 <no-reply@example.gov>"
    message["To"] = "resident@example.org"
    message["Subject"] = subject
    message.set_content("Reçu : 4521.")
    return message


def test_it_keeps_each_message_with_its_envelope_and_login() -> None:
    with SmtpSink(users={"scf": "sink-pass-1"}) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.login("scf", "sink-pass-1")
            client.send_message(letter())
        (got,) = sink.wait_for(1)
    assert (got.mail_from, got.rcpt_tos, got.login) == (
        "no-reply@example.gov", ("resident@example.org",), "scf",
    )  # fmt: skip
    assert got.subject == "Your report 4521 — received" and got.part() == "Reçu : 4521.\n"
    assert got.part("html") == ""


def test_with_users_it_wants_a_login_and_counts_refusals() -> None:
    with SmtpSink(users={"scf": "sink-pass-1"}) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("scf", "wrong")
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(letter())
        assert refused.value.smtp_code == 530 and sink.logins_refused >= 1  # one per mechanism
        assert sink.received == []


def test_faults_answer_drop_and_refuse_then_it_works_again() -> None:
    with SmtpSink() as sink:
        sink.answer(451)
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPDataError) as later:
                client.send_message(letter())
            assert later.value.smtp_code == 451
            sink.answer(550, at="rcpt")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.send_message(letter())
        assert sink.received == []
        sink.drop(keep=True)
        client = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.send_message(letter("taken, unanswered"))
        assert [m.subject for m in sink.received] == ["taken, unanswered"]
        sink.refuse()
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
        sink.accept()
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.send_message(letter("after"))
        assert [m.subject for m in sink.wait_for(2)][-1] == "after"
        sink.clear()
        assert sink.received == []


def test_a_trickled_answer_never_ends_until_the_client_gives_up() -> None:
    with SmtpSink() as sink:
        sink.trickle(0.01)
        client = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
        client.ehlo()
        client.mail("no-reply@example.gov")
        client.rcpt("resident@example.org")
        assert client.docmd("DATA")[0] == 354
        assert client.sock is not None
        client.sock.sendall(b"Subject: slow\r\n\r\nhi\r\n.\r\n")
        first = client.sock.recv(1)
        client.close()
        assert first == b"2"
        assert [m.subject for m in sink.wait_for(1)] == ["slow"]


def test_it_logs_no_address(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpSink() as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.send_message(letter())
        sink.wait_for(1)
    assert "resident@example.org" not in caplog.text


@pytest.mark.slow  # a subprocess
def test_the_emulator_command_prints_each_message_and_stops_on_ctrl_c() -> None:
    scf = str(Path(sys.executable).parent / "scf")
    proc = subprocess.Popen(
        [scf, "emulator", "smtp", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        # a child of a shell's background job starts with SIGINT ignored; Ctrl-C must reach it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("SMTP sink at 127.0.0.1:") and "Ctrl-C stops" in first
        port = int(first.split("127.0.0.1:", 1)[1].split(";", 1)[0])
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.send_message(letter())
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines == [
            "--- message 1: from no-reply@example.gov to resident@example.org\n",
            "Subject: Your report 4521 — received\n",
            "Reçu : 4521.\n",
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_the_emulator_command_says_so_in_one_line_when_the_port_is_taken() -> None:
    import socket

    from click.testing import CliRunner

    from scf_plugins.cli import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["emulator", "smtp", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_a_sink_that_keeps_nothing_still_hands_each_message_over() -> None:
    seen: list[str] = []
    with SmtpSink(keep=False, on_message=lambda m: seen.append(m.subject)) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.send_message(letter("handed over"))
        assert sink.received == []
    assert seen == ["handed over"]
