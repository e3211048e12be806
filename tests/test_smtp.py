"""Sending an email through the mail server (``net.smtp``), against the SMTP sink on 127.0.0.1:
what arrives, and what each failure says about whether the message was taken."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from scf_plugins.config.email import Email
from scf_plugins.models import Secret
from scf_plugins.net import smtp
from scf_plugins.net.redaction import register_secret
from scf_plugins.net.smtp import SmtpFailure
from scf_plugins.testing.smtp_sink import SmtpSink

PASSWORD = "Smtp-Secret-9931"  # made up, for the redaction checks
RESIDENT = "resident@example.org"


def config(port: int, **changes: object) -> Email:
    """``[email]`` for a server on 127.0.0.1:``port``, no TLS, a short timeout."""
    email = Email("127.0.0.1", port, "none", None, "311 <no-reply@example.gov>", None, 2.0)
    return dataclasses.replace(email, **changes)  # type: ignore[arg-type]


def letter(to: str = RESIDENT, body: str = "Received as 4521.\n") -> EmailMessage:
    """A message as the letters module makes them (From, To, Subject, text)."""
    message = EmailMessage()
    message["From"] = "311 <no-reply@example.gov>"
    message["To"] = to
    message["Subject"] = "Your report 4521: Pothole on Main St — received"
    message.set_content(body)
    return message


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A started sink, stopped after the test."""
    with SmtpSink() as started:
        yield started


def test_a_message_arrives_once_with_its_envelope(sink: SmtpSink) -> None:
    smtp.send(config(sink.port), None, letter(body="Line one.\n.starts with a dot\n"))
    (got,) = sink.wait_for(1)
    assert (got.mail_from, got.rcpt_tos) == ("no-reply@example.gov", (RESIDENT,))
    assert got.subject == "Your report 4521: Pothole on Main St — received"
    assert got.part() == "Line one.\n.starts with a dot\n"  # the leading dot survives


def test_it_logs_in_when_a_user_is_set_and_never_shows_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    register_secret(PASSWORD)
    with SmtpSink(users={"scf": PASSWORD}) as sink:
        email = config(sink.port, user="scf")
        smtp.send(email, Secret(PASSWORD), letter())
        assert sink.wait_for(1)[0].login == "scf"
        with pytest.raises(SmtpFailure) as refused:
            smtp.send(email, Secret("Wrong-Secret-1"), letter())
        assert refused.value.whole_server and not refused.value.uncertain
        assert "refused the login of scf" in str(refused.value)
        assert "scf credentials set email" in str(refused.value)
        with pytest.raises(SmtpFailure, match="no password is stored"):
            smtp.send(email, None, letter())
    assert len(sink.received) == 1
    assert PASSWORD not in caplog.text and "Wrong-Secret-1" not in str(refused.value)
    assert RESIDENT not in caplog.text


def test_a_server_down_is_the_whole_servers_failure_and_certain(sink: SmtpSink) -> None:
    sink.refuse()
    with pytest.raises(SmtpFailure) as down:
        smtp.send(config(sink.port), None, letter())
    failure = down.value
    assert (failure.whole_server, failure.uncertain, failure.permanent) == (True, False, False)
    assert "refused" in str(failure) and "127.0.0.1" in str(failure)


@pytest.mark.parametrize(
    ("code", "at", "permanent"), [(451, "data", False), (550, "data", True),
                                  (452, "rcpt", False), (550, "rcpt", True)],
)  # fmt: skip
def test_a_refusal_is_certain_and_permanent_only_for_a_5xx(
    sink: SmtpSink, code: int, at: str, permanent: bool
) -> None:
    sink.answer(code, f"<{RESIDENT}>: no thanks", at=at)  # type: ignore[arg-type]
    with pytest.raises(SmtpFailure) as refused:
        smtp.send(config(sink.port), None, letter())
    failure = refused.value
    assert (failure.permanent, failure.uncertain, failure.whole_server) == (permanent, False, False)
    assert failure.code == code and str(code) in str(failure)
    assert RESIDENT not in str(failure) and "<address>" in str(failure)
    smtp.send(config(sink.port), None, letter())  # the next one goes through
    assert len(sink.wait_for(1)) == 1


def test_a_421_closing_the_session_is_the_whole_servers(sink: SmtpSink) -> None:
    sink.answer(421, "4.3.2 shutting down", at="rcpt")
    with pytest.raises(SmtpFailure) as closing:
        smtp.send(config(sink.port), None, letter())
    assert closing.value.whole_server and not closing.value.permanent


def test_a_connection_dropped_after_the_final_dot_is_uncertain(sink: SmtpSink) -> None:
    sink.drop(keep=True)
    with pytest.raises(SmtpFailure) as dropped:
        smtp.send(config(sink.port), None, letter())
    assert dropped.value.uncertain and not dropped.value.permanent
    assert "may have taken it" in str(dropped.value)
    assert len(sink.received) == 1  # it had: which is why it must not be sent again


def test_an_answer_trickled_after_the_final_dot_is_cut_off_by_the_deadline(
    sink: SmtpSink,
) -> None:
    import time

    sink.trickle(0.02)
    started = time.monotonic()
    with pytest.raises(SmtpFailure) as slow:
        smtp.send(config(sink.port, timeout_seconds=1.0), None, letter())
    took = time.monotonic() - started
    assert slow.value.uncertain and "no answer" in str(slow.value)
    assert took < 4, took  # one command's deadline, not for ever


def test_starttls_not_offered_is_refused_before_anything_is_sent(sink: SmtpSink) -> None:
    with pytest.raises(SmtpFailure) as plain:
        smtp.send(config(sink.port, security="starttls"), None, letter())
    assert plain.value.whole_server and "does not offer STARTTLS" in str(plain.value)
    assert sink.received == []


def test_tls_against_a_plain_server_fails_the_handshake(sink: SmtpSink) -> None:
    with pytest.raises(SmtpFailure) as plain:
        smtp.send(config(sink.port, security="tls"), None, letter())
    assert plain.value.whole_server and "TLS" in str(plain.value)
    assert sink.received == []


def test_a_non_ascii_address_goes_with_smtputf8(sink: SmtpSink) -> None:
    smtp.send(config(sink.port), None, letter(to="José <josé@example.org>"))
    (got,) = sink.wait_for(1)
    assert got.rcpt_tos == ("josé@example.org",)


def test_check_says_hello_and_logs_in_but_sends_nothing() -> None:
    with SmtpSink(users={"scf": PASSWORD}) as sink:
        done = smtp.check(config(sink.port, user="scf"), Secret(PASSWORD))
        assert done[0] == f"connected to 127.0.0.1:{sink.port}"
        assert "logged in as scf" in done and any("SMTPUTF8" in line for line in done)
        with pytest.raises(SmtpFailure, match="refused the login"):
            smtp.check(config(sink.port, user="scf"), Secret("Wrong-Secret-2"))
        assert sink.received == []
