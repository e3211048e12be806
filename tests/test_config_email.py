"""The ``[email]``, ``[notifications]`` and ``[privacy]`` sections: typed, every mistake one
line, the password kept out of the config and out of every repr."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scf_plugins.config.email import KINDS, Email
from scf_plugins.config.settings import check_config, load_config

ORG = '[organization]\nname = "City of Example"\n'
LINKS = '[server]\npublic_url = "https://311.example.gov"\n'  # where the unsubscribe links go
EMAIL = """
[email]
host = "smtp.example.gov"
from = "311 <no-reply@example.gov>"
"""


def problems(write_config: Callable[[str], Path], text: str, links: str = LINKS) -> list[str]:
    """Every problem ``scf config check`` finds in ``text`` (``links``: the [server] section)."""
    _, found = check_config(write_config(ORG + links + text), resolve_secrets=False)
    return found


def test_without_email_nobody_is_written_to(write_config: Callable[[str], Path]) -> None:
    settings = load_config(write_config(ORG), resolve_secrets=False)
    assert settings.email is None
    assert settings.notifications.send == frozenset(KINDS)
    assert settings.notifications.give_up_after_hours == 72
    assert settings.privacy.purge_contact_after_days is None


def test_a_full_email_section_loads_typed(write_config: Callable[[str], Path]) -> None:
    text = """
[email]
host = "smtp.example.gov"
port = 2525
security = "tls"
from = "Ville de Montréal <no-reply@Example.gov>"
user = "scf"
reply_to = "311@example.gov"
timeout_seconds = 12

[notifications]
send = ["acknowledged", "closed"]
give_up_after_hours = 12

[privacy]
purge_contact_after_days = 365
"""
    settings = load_config(write_config(ORG + LINKS + text), resolve_secrets=False)
    email = settings.email
    assert email == Email(
        "smtp.example.gov", 2525, "tls", "scf", "Ville de Montréal <no-reply@Example.gov>",
        "311@example.gov", 12.0,
    )  # fmt: skip
    assert email is not None and email.domain == "example.gov"
    assert email.address == "no-reply@Example.gov"
    assert settings.notifications.send == {"acknowledged", "closed"}
    assert settings.notifications.give_up_after_hours == 12
    assert settings.privacy.purge_contact_after_days == 365


@pytest.mark.parametrize(
    ("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)]
)  # fmt: skip
def test_the_port_defaults_to_the_one_of_the_security(
    write_config: Callable[[str], Path], security: str, port: int
) -> None:
    text = EMAIL + f'security = "{security}"\n'
    email = load_config(write_config(ORG + LINKS + text), resolve_secrets=False).email
    assert email is not None and (email.security, email.port) == (security, port)


@pytest.mark.parametrize(("text", "key", "fix"), [
    ('[email]\nfrom = "a@example.gov"\n', "email.host", 'missing; e.g. host = "smtp.example.gov"'),
    ('[email]\nhost = "smtp.example.gov"\n', "email.from", "missing; e.g. from ="),
    (EMAIL + 'security = "ssl"\n', "email.security", '\'ssl\' is not valid; use "starttls" or'),
    (EMAIL + "port = 0\n", "email.port", "0 is out of range; use 1 to 65535"),
    (EMAIL + "port = 70000\n", "email.port", "out of range"),
    (EMAIL + 'port = "587"\n', "email.port", "is not valid"),
    (EMAIL.replace("smtp.example.gov", "smtp://smtp.example.gov:587"), "email.host",
     "no scheme, port or path"),
    (EMAIL.replace("311 <no-reply@example.gov>", "a@example.gov, b@example.gov"), "email.from",
     "is not one email address"),
    (EMAIL.replace("311 <no-reply@example.gov>", "no-reply"), "email.from",
     "is not one email address"),
    (EMAIL.replace("311 <no-reply@example.gov>", "311 <a@example.gov>\\r\\nBcc: x@evil.test"),
     "email.from", "is not one email address"),
    (EMAIL + 'reply_to = "311"\n', "email.reply_to", "is not one email address"),
    (EMAIL + 'hots = "x"\n', "email.hots", "unknown key; did you mean 'host'?"),
    (EMAIL + 'password = "hunter22"\n', "email.password",
     "run `scf credentials set email` or set SCF_EMAIL_PASSWORD"),
    ('[notifications]\nsend = ["closed"]\n', "notifications",
     "there is no [email] section to send them through"),
    (EMAIL + '[notifications]\nsend = ["close"]\n', "notifications.send",
     "'close' is not a kind of message; did you mean 'closed'?"),
    (EMAIL + '[notifications]\nsend = "closed"\n', "notifications.send", "use a list of strings"),
    (EMAIL + "[notifications]\ngive_up_after_hours = 0\n",
     "notifications.give_up_after_hours", "out of range; use 1 to 8760"),
    (EMAIL + "[privacy]\npurge_contact_after_days = 0\n", "privacy.purge_contact_after_days",
     "out of range; use 1 to 36500"),
    (EMAIL + "[privacy]\npurge_after_days = 30\n", "privacy.purge_after_days",
     "did you mean 'purge_contact_after_days'?"),
])  # fmt: skip
def test_each_mistake_is_one_line_naming_the_key_and_the_fix(
    write_config: Callable[[str], Path], text: str, key: str, fix: str
) -> None:
    found = problems(write_config, text)
    assert len(found) == 1, found
    assert f": {key}: " in found[0] and fix in found[0], found[0]


def test_a_password_in_the_config_is_never_repeated(write_config: Callable[[str], Path]) -> None:
    found = problems(write_config, EMAIL + 'password = "hunter22-secret"\n')
    assert found and not any("hunter22" in line for line in found)


def test_the_password_comes_from_the_credential_email_when_a_user_is_set(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCF_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("SCF_EMAIL_PASSWORD", "Mail-Pass-7731")
    path = write_config(ORG + LINKS + EMAIL + 'user = "scf"\n')
    email = load_config(path).email
    assert email is not None and email.password is not None
    assert email.password.reveal() == "Mail-Pass-7731"
    assert "Mail-Pass-7731" not in repr(email)
    without_user = load_config(write_config(ORG + LINKS + EMAIL)).email
    assert without_user is not None and without_user.password is None


def test_credentials_set_email_stores_what_the_config_reads(
    run: Callable[..., object], write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    path = write_config(ORG + LINKS + EMAIL + 'user = "scf"\n')
    result = run("credentials", "set", "email", "--stdin", config=path, input="Mail-Pass-7732\n")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "SCF_EMAIL_PASSWORD overrides it" in result.output  # type: ignore[attr-defined]
    assert "warning" not in result.output  # type: ignore[attr-defined]
    email = load_config(path).email
    assert email is not None and email.password is not None
    assert email.password.reveal() == "Mail-Pass-7732"
    with_env = run("credentials", "set", "email", "--env", "test", "--stdin", config=path,
                   input="x-pass-1\n")  # fmt: skip
    assert "email has no environment: drop --env" in with_env.output  # type: ignore[attr-defined]


def test_config_check_states_whom_residents_hear_from(
    run: Callable[..., object], write_config: Callable[[str], Path], basic_config: str
) -> None:
    quiet = run("config", "check", config=write_config(basic_config))
    assert "email: residents are not written to" in quiet.stdout  # type: ignore[attr-defined]
    text = (
        basic_config
        + '[server]\npublic_url = "{scheme}://311.example.gov"\n'
        + EMAIL
        + 'security = "none"\nuser = "scf"\n[notifications]\nsend = ["closed", "acknowledged"]\n'
        + "[privacy]\npurge_contact_after_days = 400\n"
    )
    path = write_config(text.format(scheme="http"))
    result = run("config", "check", config=path)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert (
        "email: from 311 <no-reply@example.gov> through smtp.example.gov:25 (none, logging in "
        "as scf); sends acknowledged, closed; reporters' contact details blanked 400 days after"
        in result.stdout  # type: ignore[attr-defined]
    )
    assert "crosses the network unencrypted" in result.stderr  # type: ignore[attr-defined]
    warning = (
        "warning: server.public_url http://311.example.gov is plain http and email is set: "
        "mail clients' one-click unsubscribe (RFC 8058) needs https"
    )
    assert warning in result.stderr  # type: ignore[attr-defined]
    linked = run("config", "check", config=write_config(text.format(scheme="https")))
    assert "unsubscribe" not in linked.stderr  # type: ignore[attr-defined]
    data = json.loads(run("config", "check", "--json", config=path).stdout)  # type: ignore[attr-defined]
    assert data["email"]["server"]["host"] == "smtp.example.gov"
    assert data["email"]["send"] == ["acknowledged", "closed"]
    assert data["email"]["purge_contact_after_days"] == 400


@pytest.mark.parametrize(
    "links",
    ["", "[server]\nmax_body_kb = 64\n", '[server]\npublic_url = ""\n'],
)
def test_email_without_a_public_url_is_one_line_saying_why_it_is_needed(
    write_config: Callable[[str], Path], links: str
) -> None:
    (line,) = problems(write_config, EMAIL, links)
    assert ": server.public_url: missing, and [email] is set: every email carries an " in line
    assert "unsubscribe link served at public_url" in line
    without_email = problems(write_config, "", links)
    assert without_email == []


def test_an_unusable_public_url_with_email_is_said_once(
    write_config: Callable[[str], Path],
) -> None:
    (line,) = problems(
        write_config, EMAIL, '[server]\npublic_url = "https://scf@311.example.gov"\n'
    )
    assert ": server.public_url: has a login or password in it" in line


@pytest.mark.parametrize(
    ("section", "uses"),
    [
        ("integrations.email", "the mail server's circuit and password"),
        ("geocoders.Email", "the mail server's circuit and password"),
        ("integrations.metrics", "the /metrics token"),
        ("geocoders.metrics", "the /metrics token"),
    ],
)
def test_email_and_metrics_are_reserved_names_for_integrations_and_geocoders(
    write_config: Callable[[str], Path], section: str, uses: str
) -> None:
    body = (
        'plugin = "fake-a"\nenvironment = "test"\nrequest_types = ["*"]\n'
        f'[{section}.test]\nurl = "https://cw.example.gov"\n'
        if section.startswith("integrations")
        else 'plugin = "arcgis"\nurl = "https://gis.example.gov/GeocodeServer"\n'
    )
    (line,) = problems(write_config, f"[{section}]\n{body}")
    assert f": {section}: the name is reserved ({uses}" in line and "choose another" in line
