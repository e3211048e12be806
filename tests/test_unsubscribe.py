"""``/unsubscribe/{token}`` served by ``scf serve``: a GET changes nothing, a one-click POST
(RFC 8058) or the page's buttons do, a forged token is a 404 page, and the resident's address
is in no response and no log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
import requests
from sqlalchemy import select

from scf_plugins.ops import consent
from scf_plugins.plugins import PluginHost
from scf_plugins.store.tables import email_optouts, issues
from scf_plugins.testing import Door, FakeRemote, Harness

from .conftest import BASIC
from .test_consent import ANSWERS

pytestmark = pytest.mark.store
ADDRESS = "resident@example.org"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def served(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
) -> tuple[Door, list[int]]:
    """The door served, with two issues reported by one resident."""
    h = harness(BASIC, host=fake_host[0])
    ids = [h.report("POTHOLE", *ANSWERS, email=ADDRESS) for _ in range(2)]
    return h.serve(), ids


def notify_off(door: Door, issue_id: int) -> bool:
    """The issue's ``notify_off``."""
    with door.store.read() as conn:
        return bool(
            conn.execute(select(issues.c.notify_off).where(issues.c.id == issue_id)).scalar()
        )


def opted_out(door: Door) -> int:
    """How many addresses asked for no email."""
    with door.store.read() as conn:
        return len(conn.execute(select(email_optouts)).all())


def assert_strict(answer: requests.Response) -> None:
    """The headers every unsubscribe page carries."""
    assert answer.headers["Cache-Control"] == "no-store"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert ADDRESS not in answer.text and ADDRESS not in str(answer.headers)


def test_a_get_shows_the_choices_and_changes_nothing(served: tuple[Door, list[int]]) -> None:
    door, (first, _) = served
    token = consent.token(door.store, first, "issue")
    for _ in range(3):  # a link scanner may fetch it again and again
        page = requests.get(f"{door.url}/unsubscribe/{token}", timeout=10)
        assert page.status_code == 200
        assert_strict(page)
    assert "Stop emails about this report" in page.text
    assert "Stop all emails to this address" in page.text
    assert f"report {first}" in page.text and "City of Testville" in page.text
    assert not notify_off(door, first) and opted_out(door) == 0


def test_a_one_click_post_stops_the_reports_emails(served: tuple[Door, list[int]]) -> None:
    door, (first, second) = served
    token = consent.token(door.store, first, "issue")
    done = requests.post(f"{door.url}/unsubscribe/{token}", data=ONE_CLICK, timeout=10)
    assert done.status_code == 200, done.text
    assert_strict(done)
    assert f"no more emails about report {first}" in done.text
    assert notify_off(door, first) and not notify_off(door, second)
    again = requests.post(f"{door.url}/unsubscribe/{token}", data=ONE_CLICK, timeout=10)
    assert again.status_code == 200  # a second click is no error


def test_the_pages_address_button_stops_every_report(served: tuple[Door, list[int]]) -> None:
    door, (first, second) = served
    url = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'issue')}"
    page = requests.get(url, timeout=10).text
    forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', page)
    assert len(forms) == 2
    action, fields = forms[1]
    assert "Stop all emails to this address" in fields
    data = dict(re.findall(r'name="([^"]+)" value="([^"]+)"', fields))
    assert data == ONE_CLICK
    done = requests.post(requests.compat.urljoin(url, action), data=data, timeout=10)
    assert done.status_code == 200 and "no more emails at this address" in done.text
    assert opted_out(door) == 1
    with door.store.read() as conn:
        rows = conn.execute(select(issues).where(issues.c.id.in_([first, second]))).mappings()
        assert not any(consent.wants_mail(conn, row) for row in rows)


def test_a_post_without_the_one_click_field_changes_nothing(
    served: tuple[Door, list[int]],
) -> None:
    door, (first, _) = served
    token = consent.token(door.store, first, "address")
    for data in ({}, {"List-Unsubscribe": "yes"}, {"unsubscribe": "One-Click"}):
        refused = requests.post(f"{door.url}/unsubscribe/{token}", data=data, timeout=10)
        assert refused.status_code == 400 and "Nothing was changed" in refused.text
        assert_strict(refused)
    big = requests.post(
        f"{door.url}/unsubscribe/{token}", data={**ONE_CLICK, "x": "y" * 5000}, timeout=10
    )
    assert big.status_code == 400
    assert not notify_off(door, first) and opted_out(door) == 0


def test_a_forged_or_garbled_token_is_a_404_page(served: tuple[Door, list[int]]) -> None:
    door, (first, second) = served
    token = consent.token(door.store, first, "issue")
    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        f"{second}{token[len(str(first)) :]}",
        token[:-3],
        "1iAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 300,
        "%00",
    ]
    for bad in forged:
        for method in ("GET", "POST"):
            answer = requests.request(
                method, f"{door.url}/unsubscribe/{bad}", data=ONE_CLICK, timeout=10
            )
            assert answer.status_code == 404, (bad, method, answer.text)
            assert "Link not recognised" in answer.text
            assert_strict(answer)
    assert not notify_off(door, first) and not notify_off(door, second)


def test_the_address_and_the_token_are_in_no_log_line(
    served: tuple[Door, list[int]], caplog: pytest.LogCaptureFixture
) -> None:
    door, (first, _) = served
    caplog.set_level(logging.DEBUG)  # after the CLI's log set-up, which the harness ran
    tokens = [consent.token(door.store, first, scope) for scope in consent.SCOPES]
    for token in tokens:
        url = f"{door.url}/unsubscribe/{token}"
        requests.get(url, timeout=10)
        requests.post(url, data=ONE_CLICK, timeout=10)
    requests.get(f"{door.url}/unsubscribe/forged", timeout=10)
    assert "/unsubscribe/…" in caplog.text  # the access log saw the requests
    # Nor the tokens: each is a capability, usable by whoever reads the log. (uvicorn's own
    # access log, which the test server keeps, is off under scf serve.)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "uvicorn.access")
    assert not any(token in ours for token in [*tokens, "forged"])
    assert ADDRESS not in caplog.text.lower() and "example.org" not in caplog.text.lower()
