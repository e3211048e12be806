"""``/reports/{id}``, a report's public page (the link in each email to the resident): what
the Open311 door publishes of the issue, escaped, with the strict headers of the residents'
pages; never the reporter's name, email or phone, an answer, or a comment staff keep among
themselves; 404 for an unknown id; limited like every GET."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from PIL import Image

from scf_plugins.plugins import PluginHost
from scf_plugins.testing import FakeRemote, FakeStaff, Harness

from .conftest import BASIC

NAME, ADDRESS, PHONE = "Jane Doe", "jane.doe@example.org", "555-0100"
SUMMARY = '<script>alert("x")</script> Deep & wide pothole'


@pytest.fixture
def town(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote], tmp_path: Path
) -> tuple[Harness, FakeStaff, int]:
    """An acknowledged pothole with a photo, a staff reply for the resident, an internal
    staff note and a local comment."""
    host, remote = fake_host
    t = harness(BASIC, host=host)
    image = tmp_path / "hole.jpg"
    picture = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 0, 0)).save(picture, "JPEG")
    image.write_bytes(picture.getvalue())
    issue_id = t.report(
        "POTHOLE", "1=No", f"2={ADDRESS}", "5=555-0199",
        summary=SUMMARY, description="By the <b>library</b> steps", address="165 Church St",
        name=NAME, email=ADDRESS, phone=PHONE, image=[str(image)],
    )  # fmt: skip
    t.sync()
    staff = FakeStaff(remote)
    remote_id = t.show(issue_id)["remote_id"]
    staff.comment(remote_id, "To SCF: a crew comes <i>Monday</i>")
    staff.comment(remote_id, "crew 4 says the resident was rude")  # internal: never pulled
    t.cli_ok("comment", str(issue_id), "Note for the crew: gate code 4471")
    t.sync()
    return t, staff, issue_id


def test_the_page_shows_what_the_door_publishes_escaped_and_nothing_of_the_reporter(
    town: tuple[Harness, FakeStaff, int],
) -> None:
    t, _, issue_id = town
    door = t.serve()
    remote_id = t.show(issue_id)["remote_id"]
    page = door.get(f"/reports/{issue_id}")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Deep &amp; wide pothole" in text
    assert "<script>" not in text and "<b>library</b>" not in text and "<i>Monday" not in text
    assert f"In progress (service request {remote_id})" in text
    assert "Pothole" in text and "165 Church St" in text
    assert "By the &lt;b&gt;library&lt;/b&gt; steps" in text
    assert f"has received it as service request {remote_id}" in text  # the acknowledgement
    assert "a crew comes &lt;i&gt;Monday&lt;/i&gt;" in text  # the reply for the resident
    assert any("gate code" in c["text"] for c in t.show(issue_id)["comments"])
    for hidden in (NAME, "Jane", ADDRESS, PHONE, "555-0199", "rude", "gate code", "Staff"):
        assert hidden not in text, hidden
    (photo,) = re.findall(r'<img src="(/media/[^"]+\.jpg)"', text)
    assert door.get(photo).status_code == 200


def test_the_page_carries_the_strict_headers_and_its_style_matches_its_policy(
    town: tuple[Harness, FakeStaff, int],
) -> None:
    t, _, issue_id = town
    page = t.serve().get(f"/reports/{issue_id}")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src 'self'" in policy
    assert "form-action 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    (style,) = re.findall(r"<style>(.*?)</style>", page.text, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy


@pytest.mark.parametrize("path", ["999", "0", "abc", "1.json", "-1", "9" * 40])
def test_an_unknown_id_is_a_404_page(town: tuple[Harness, FakeStaff, int], path: str) -> None:
    t, _, _ = town
    page = t.serve().get(f"/reports/{path}")
    assert page.status_code == 404 and "Report not found" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_closed_report_says_so_with_its_closing_message(
    town: tuple[Harness, FakeStaff, int],
) -> None:
    t, staff, issue_id = town
    staff.close(t.show(issue_id)["remote_id"], "CLOSED")
    t.sync()
    text = t.serve().get(f"/reports/{issue_id}").text
    assert "<dt>Status</dt><dd>Closed</dd>" in text and "is now closed" in text


def test_the_page_is_behind_the_get_limit(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> None:
    t = harness(BASIC + "\n[server]\ngets_per_minute = 2\n", host=fake_host[0])
    issue_id = t.report("POTHOLE", "1=No", f"2={ADDRESS}", email=ADDRESS)
    door = t.serve()
    codes = [
        requests.get(f"{door.url}/reports/{issue_id}", timeout=10).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
