"""The email a resident gets: each kind's template, headers nobody can inject into, HTML
escaped, the unsubscribe headers of RFC 8058, and a Message-ID a resend keeps."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from scf_plugins.config.email import KINDS, Email
from scf_plugins.engine.letters import Letter, Unsubscribe, compose, shorten
from scf_plugins.net import smtp
from scf_plugins.net.smtp import SmtpFailure
from scf_plugins.testing.smtp_sink import SmtpSink

EMAIL = Email("smtp.example.gov", 587, "starttls", None, "311 <no-reply@Example.gov>", None)
LINKS = Unsubscribe(
    "https://311.example.gov/unsubscribe/issue-token",
    "https://311.example.gov/unsubscribe/address-token",
)
LETTER = Letter(
    notification_id=42,
    kind="acknowledged",
    recipient="resident@example.org",
    organization="City of New Haven",
    issue_id=4521,
    summary="Pothole on Main St",
    remote_id="CW-77",
    text="Thank you for your report. City of New Haven has received it as service request CW-77.",
    public_url="https://311.example.gov/reports/4521",
    unsubscribe=LINKS,
)


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a mail client reads it from the wire."""
    got = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(got, EmailMessage)
    return got


def text_of(message: EmailMessage, subtype: str) -> str:
    """The decoded ``text/SUBTYPE`` part, lines ending in ``\\n``."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_plain_and_an_html_letter(kind: str) -> None:
    message = parsed(compose(EMAIL, dataclasses.replace(LETTER, kind=kind)))
    assert message.get_content_type() == "multipart/alternative"
    plain, html = text_of(message, "plain"), text_of(message, "html")
    for part in (plain, html):
        assert "CW-77" in part and "City of New Haven" in part and "4521" in part
        assert "Pothole on Main St" in part
    assert message["Subject"].startswith("Your report 4521: Pothole on Main St — ")
    assert "https://311.example.gov/reports/4521" in plain
    assert 'href="https://311.example.gov/reports/4521"' in html


def test_the_acknowledgement_reads_as_the_design_shows() -> None:
    message = parsed(compose(EMAIL, LETTER))
    assert message["Subject"] == "Your report 4521: Pothole on Main St — received"
    assert message["From"] == "311 <no-reply@Example.gov>"
    assert message["To"] == "resident@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Reply-To" not in message
    plain = text_of(message, "plain")
    assert plain.startswith("City of New Haven has received your report.\n\nThank you")
    assert "To stop these emails: https://311.example.gov/unsubscribe/issue-token" in plain


def test_the_message_id_is_the_notifications_so_a_resend_is_recognisable() -> None:
    first, again = compose(EMAIL, LETTER), compose(EMAIL, LETTER)
    assert first["Message-ID"] == again["Message-ID"] == "<scf-notification-42@example.gov>"
    other = compose(EMAIL, dataclasses.replace(LETTER, notification_id=43))
    assert other["Message-ID"] == "<scf-notification-43@example.gov>"


def test_one_click_unsubscribe_headers_only_with_links() -> None:
    message = parsed(compose(EMAIL, LETTER))
    assert message["List-Unsubscribe"] == "<https://311.example.gov/unsubscribe/address-token>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    pair = ("https://311.example.gov/unsubscribe/i", "https://311.example.gov/unsubscribe/a")
    plain_pair = parsed(compose(EMAIL, dataclasses.replace(LETTER, unsubscribe=pair)))
    assert plain_pair["List-Unsubscribe"] == "<https://311.example.gov/unsubscribe/a>"
    bare = parsed(compose(EMAIL, dataclasses.replace(LETTER, unsubscribe=None, public_url=None)))
    assert "List-Unsubscribe" not in bare and "List-Unsubscribe-Post" not in bare
    assert "unsubscribe" not in text_of(bare, "plain") and "See it here" not in text_of(
        bare, "plain"
    )


@pytest.mark.parametrize(
    "summary",
    [
        "Pothole\r\nBcc: victim@example.net",
        "Pothole\nSubject: spoofed",
        "Pothole\rX-Evil: 1",
        "Pothole\u2028Bcc: victim@example.net",
        "Pothole\x00\x0bBcc: victim@example.net",
    ],
)
def test_a_summary_with_line_breaks_adds_no_header(summary: str) -> None:
    raw = compose(EMAIL, dataclasses.replace(LETTER, summary=summary)).as_bytes()
    message = parsed(compose(EMAIL, dataclasses.replace(LETTER, summary=summary)))
    assert "Bcc" not in message and "X-Evil" not in message
    assert message.get_all("Subject") is not None and len(message.get_all("Subject", [])) == 1
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nX-Evil:" not in head
    assert b"\r\nSubject: spoofed" not in head


@pytest.mark.parametrize(
    "recipient",
    [
        "resident@example.org\r\nBcc: victim@example.net",
        "a@b.org, victim@example.net",
        "Someone <a@b.org>",
        "not-an-address",
        "",
        "a@localhost",
    ],
)
def test_a_recipient_that_is_not_one_address_is_a_permanent_failure(recipient: str) -> None:
    with pytest.raises(SmtpFailure) as refused:
        compose(EMAIL, dataclasses.replace(LETTER, recipient=recipient))
    assert refused.value.permanent and "victim" not in str(refused.value)


def test_html_is_escaped_and_plain_text_kept() -> None:
    hostile = dataclasses.replace(
        LETTER,
        summary='<img src=x onerror="alert(1)">',
        organization="Ville & <b>Cie</b>",
        text="Crew says: <script>alert('x')</script> & done.\nSecond line.",
        remote_id='"><a href=javascript:x>',
    )
    message = parsed(compose(EMAIL, hostile))
    html = text_of(message, "html")
    assert "<script>" not in html and "<img" not in html and "<b>Cie" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; done." in html
    assert "<a href=javascript" not in html and "&#34;&gt;&lt;a href=javascript:x&gt;" in html
    plain = text_of(message, "plain")
    assert "<script>alert('x')</script> & done.\nSecond line." in plain


def test_non_ascii_names_and_text_survive_the_wire() -> None:
    email = dataclasses.replace(EMAIL, sender="Ville de Montréal <no-reply@example.gov>")
    letter = dataclasses.replace(
        LETTER,
        organization="Ville de Montréal",
        summary="Nid-de-poule rue Saint-Énard ☂",
        text="Votre signalement est reçu. Merci — 市役所",
    )
    raw = compose(email, letter).as_bytes()
    assert raw.isascii()  # 7-bit clean: any server takes it
    message = parsed(compose(email, letter))
    assert message["From"].addresses[0].display_name == "Ville de Montréal"
    assert message["Subject"] == "Your report 4521: Nid-de-poule rue Saint-Énard ☂ — received"
    assert "Votre signalement est reçu. Merci — 市役所" in text_of(message, "plain")
    assert "Ville de Montréal has received" in text_of(message, "html")


def test_a_long_summary_is_shortened_at_a_word() -> None:
    assert shorten("short", 60) == "short"
    long = "A very long summary that goes on and on about a pothole on Main Street"
    cut = shorten(long, 40)
    assert len(cut) <= 40 and cut.endswith("…") and long.startswith(cut[:-1])
    subject = compose(EMAIL, dataclasses.replace(LETTER, summary=long))["Subject"]
    assert "…" in subject and subject.endswith("— received")


def test_a_reply_to_is_set_when_configured() -> None:
    email = dataclasses.replace(EMAIL, reply_to="311 Help <311@example.gov>")
    assert parsed(compose(email, LETTER))["Reply-To"] == "311 Help <311@example.gov>"


def test_a_composed_letter_arrives_whole_through_the_sink() -> None:
    with SmtpSink() as sink:
        email = dataclasses.replace(EMAIL, host="127.0.0.1", port=sink.port, security="none")
        smtp.send(email, None, compose(email, LETTER))
        (got,) = sink.wait_for(1)
    assert got.rcpt_tos == ("resident@example.org",)
    assert got.message["Message-ID"] == "<scf-notification-42@example.gov>"
    assert "service request CW-77" in got.part("plain")
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
