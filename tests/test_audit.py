"""The audit log: every command that changes something writes one entry after it succeeded
(who, what, which issue or integration, a short detail, never a secret), ``scf audit`` prints
them newest first, and a refused command writes none."""

from __future__ import annotations

import getpass
import json
import logging
from typing import Any

import pytest
from sqlalchemy import update

from scf_plugins.ops import audit, staff
from scf_plugins.store.tables import issues

from .conftest import POTHOLE_ANSWERS

SECRET = "Cityworks-Pass-4471"
STAFF_PASSWORD = "a staff password of some length"


@pytest.fixture(autouse=True)
def as_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run as OS user ``ops``; Argon2 at its lowest costs."""
    monkeypatch.setattr(getpass, "getuser", lambda: "ops")
    monkeypatch.setattr(staff, "HASHER", staff.PasswordHasher(1, 8, 1))


def entries(w: Any, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(w.cli_ok("audit", "--json", *args).stdout)
    return rows


def newest(w: Any) -> tuple[str, str, int | None, str | None, str]:
    e = entries(w, "--limit", "1")[0]
    return e["actor"], e["action"], e["issue_id"], e["integration"], e["detail"]


def test_each_issue_command_writes_one_entry(world: Any) -> None:
    w = world()
    a, b, c = w.report(), w.report(), w.report()
    said = w.cli_ok("comment", str(a), "Still there").output
    comment_id = int(said.split()[2])
    assert newest(w) == ("ops (cli)", "issues.comment", a, "cityworks", f"comment {comment_id}")
    w.cli_ok("issues", "edit", str(b), "--summary", "A bigger hole", "--lat", "41.31")
    assert newest(w) == ("ops (cli)", "issues.edit", b, "cityworks", "edited: summary, lat")
    w.cli_ok("issues", "recategorize", str(b), "--type", "pothole",
             *[f"--answer={x}" for x in POTHOLE_ANSWERS])  # fmt: skip
    assert newest(w)[1:] == (
        "issues.recategorize", b, "cityworks", "recategorized from POTHOLE to POTHOLE"
    )  # fmt: skip
    with w.store().transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == c).values(held=True))
    w.cli_ok("issues", "release", str(c), "--address", "12 Elm St")
    assert newest(w)[1:] == ("issues.release", c, None, "released with a corrected address")
    assert "12 Elm St" not in json.dumps(entries(w))  # an address is the resident's

    w.emulator.state.inject("html", count=3, match="servicerequest/create")
    assert w.sync().errors == 3
    w.cli_ok("issues", "retry", "--failing")
    assert newest(w)[1:] == ("issues.retry", None, None, "retried 3 failing issues")
    w.cli_ok("issues", "retry", str(a), str(b), str(a))
    assert [(e["action"], e["issue_id"], e["detail"]) for e in entries(w, "--limit", "2")] == [
        ("issues.retry", b, "retried"), ("issues.retry", a, "retried")
    ]  # fmt: skip
    w.cli_ok("issues", "withdraw", str(a), "--reason", "a duplicate of another")
    assert newest(w)[1:] == ("issues.withdraw", a, "cityworks", "withdrew: a duplicate of another")
    w.later(seconds=31)
    assert w.sync().acknowledged == 2
    w.cli_ok("issues", "resubmit", str(b), "--reason", "sent again")
    assert newest(w)[1:] == ("issues.resubmit", b, "cityworks", "resubmitted: sent again")
    refused = w.cli("issues", "withdraw", str(a), "--reason", "again")
    assert refused.exit_code == 1 and newest(w)[1] == "issues.resubmit"  # nothing written


def test_links_keys_credentials_types_and_accounts_are_audited_without_secrets(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = world()
    linked = w.report()
    w.sync()
    with w.store().transaction() as conn:  # as if linked before the city went live
        conn.execute(update(issues).where(issues.c.id == linked).values(link_environment="old"))
    w.cli_ok("links", "withdraw", "cityworks", "--environment", "old", "--reason", "gone live")
    assert newest(w)[1:] == (
        "links.withdraw", None, "cityworks", "withdrew 1 issues linked to old: gone live"
    )  # fmt: skip
    w.cli_ok("request-types", "--refresh")
    action, _, integration, detail = newest(w)[1:]
    assert (action, integration) == ("request_types.refresh", "cityworks")
    assert detail.startswith("refreshed request types: ") and int(detail.split()[-1]) > 0
    w.cli_ok("request-types")  # reading them changes nothing
    assert newest(w)[1] == "request_types.refresh"

    shown = [w.cli_ok("api-keys", "create", "fixmystreet").output.splitlines()[-1]]
    assert newest(w)[1:] == ("api_keys.create", None, None, "created API key fixmystreet")
    rotated = w.cli_ok("api-keys", "rotate", "fixmystreet", "--grace-hours", "2")
    shown.append(rotated.stdout.splitlines()[-1])
    assert newest(w)[4] == "rotated API key fixmystreet; the previous key works 2 more hours"
    w.cli_ok("api-keys", "revoke", "fixmystreet")
    assert newest(w)[1:] == ("api_keys.revoke", None, None, "revoked API key fixmystreet")

    w.cli_ok("credentials", "set", "cityworks", "--env", "test", "--stdin", input=SECRET + "\n")
    assert newest(w)[1:] == ("credentials.save", None, "cityworks", "saved the test password")
    w.cli_ok("staff", "create", "jo", "--role", "staff", "--stdin", input=STAFF_PASSWORD)
    w.cli_ok("staff", "reset", "jo", "--stdin", input=STAFF_PASSWORD + "!\n")
    w.cli_ok("staff", "disable", "jo")
    assert [e["detail"] for e in entries(w, "--limit", "3")] == [
        "disabled account jo", "reset the password of account jo", "created staff account jo"
    ]  # fmt: skip

    every = json.dumps(entries(w))
    logged = caplog.text
    for secret in [SECRET, STAFF_PASSWORD, *(k.strip() for k in shown)]:
        assert secret not in every and secret not in logged
    assert all(e["actor"] == "ops (cli)" for e in entries(w))


def test_scf_audit_prints_newest_first_in_the_organizations_zone(world: Any) -> None:
    w = world()
    text = w.cli_ok("audit").output
    assert text == "no audit entries yet\n"
    w.path.write_text(
        w.path.read_text().replace(
            'bot_name = "Testville 311"',
            'bot_name = "Testville 311"\ntimezone = "America/New_York"',
        )
    )
    for name in ("first", "second", "third"):
        w.cli_ok("api-keys", "create", name)
    lines = w.cli_ok("audit", "--limit", "2").output.splitlines()
    assert lines[0].split() == ["when", "who", "what", "issue", "integration", "detail"]
    assert len(lines) == 4 and "created API key third" in lines[2] and "second" in lines[3]
    assert ("EST" in lines[2] or "EDT" in lines[2]) and "ops (cli)" in lines[2]
    rows = entries(w)
    assert [r["detail"][-5:] for r in rows] == ["third", "econd", "first"]
    assert rows[0]["at"].endswith("Z") and set(rows[0]) == {
        "id", "at", "actor", "action", "issue_id", "integration", "detail"
    }  # fmt: skip
    bad = w.cli("audit", "--limit", "0")
    assert bad.exit_code == 2


def test_a_detail_is_one_redacted_line_cut_to_its_column(basic: Any) -> None:
    store = basic.store()
    from scf_plugins.net.redaction import register_secret

    register_secret("hunter2-secret")
    audit.record(store, "x\ny (cli)", "issues.withdraw", issue_id=7,
                 detail="withdrew: said hunter2-secret\n" + "long " * 200)  # fmt: skip
    (entry,) = audit.listed(store)
    assert entry.actor == "x y (cli)" and entry.issue_id == 7
    assert "hunter2" not in entry.detail and "\n" not in entry.detail
    assert len(entry.detail) == 500 and entry.detail.endswith("…")
    audit.record_each(store, "a (console)", "issues.retry", [3, 4, 3], detail="retried")
    assert [e.issue_id for e in audit.listed(store, 10)] == [4, 3, 7]
    newest = audit.listed(store, 10)
    assert [e.issue_id for e in audit.listed(store, 2, before=newest[0].id)] == [3, 7]
    assert [e.issue_id for e in audit.listed(store, 1, after=newest[2].id)] == [3]
