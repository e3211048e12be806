"""The org config: every mistake is one line naming the file, the key and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scf_plugins.config.settings import check_config, load_config
from scf_plugins.errors import ConfigError
from scf_plugins.plugins import build_manager

GOOD = """
[organization]
name = "City of New Haven"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857
closed_statuses = ["CLOSED", "COMPLETE"]
cancel_statuses = ["CANCEL"]
request_types = ["*"]
address_validation = "county_gis"
image_url_field = "Text1"
timezone = "America/New_York"

[integrations.cityworks.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"

[integrations.cityworks.production]
url = "https://cw.example.gov/Cityworks/Services/AMS"
user = "scf-int"

[integrations.cityworks.messages]
acknowledged = "Received as {remote_id}."
closed_by_status = { COMPLETE = "Done: {remote_id}" }

[[integrations.cityworks.activity]]
field = "DispatchTo"
message = "Assigned to {value}."

[integrations.cityworks.custom_fields]
Text2 = "{issue.id}"

[geocoders.county_gis]
plugin = "arcgis"
url = "https://gis.example.gov/arcgis/rest/services/Locators/Composite/GeocodeServer"
min_score = 85
"""


# The installed plugins' declared options, as every scf command reads the config with them.
PLUGIN_OPTIONS = build_manager().plugin_options


def test_a_good_config_loads_typed(write_config) -> None:  # type: ignore[no-untyped-def]
    settings = load_config(write_config(GOOD), resolve_secrets=False, plugin_options=PLUGIN_OPTIONS)
    cw = settings.integrations["cityworks"]
    assert cw.url.startswith("http://127.0.0.1") and cw.environment == "test"
    assert cw.closed_statuses == ("CLOSED", "COMPLETE") and cw.options["srid"] == 3857
    assert cw.messages.closed_by_status["COMPLETE"] == "Done: {remote_id}"
    assert cw.watched_fields == ("DispatchTo",)
    assert cw.custom_fields["Text2"] == "{issue.id}"
    assert settings.geocoder_for(cw).min_score == 85  # type: ignore[union-attr]
    assert settings.organization.bot_name == "City of New Haven"
    assert settings.organization.archive_after_days == 14
    assert settings.organization.database.endswith("scf.db")
    assert settings.owner_of("POTHOLE") == "cityworks"


def problems_of(write_config, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    settings, problems = check_config(
        write_config(text), resolve_secrets=False, plugin_options=PLUGIN_OPTIONS
    )
    assert settings is None and problems
    return problems


@pytest.mark.parametrize(
    ("edit", "key", "fix"),
    [
        (
            lambda s: s.replace('environment = "test"', 'environment = "staging"'),
            "integrations.cityworks.environment",
            "add it or set environment",
        ),
        (
            lambda s: (
                s + '\n[integrations.other]\nplugin = "x"\nrequest_types = ["*"]\n'
                '[integrations.other.production]\nurl = "http://127.0.0.1:1"\nuser = "u"\n'
            ),
            "integrations.other.request_types",
            "list the codes explicitly",
        ),
        (
            lambda s: s.replace(
                'user = "scf-int"\n\n[integrations.cityworks.production]',
                'user = "scf-int"\npassword = "hunter2"\n\n[integrations.cityworks.production]',
            ),
            "integrations.cityworks.test.password",
            "scf credentials set",
        ),
        (
            lambda s: s + '\n[geocoders.county_gis.extra]\napi_token = "abc"\n',
            "geocoders.county_gis.extra.api_token",
            "never stored in the config",
        ),
        (
            lambda s: s.replace('"Received as {remote_id}."', '"Received as {remote_ref}."'),
            "integrations.cityworks.messages.acknowledged",
            "unknown placeholder {remote_ref}",
        ),
        (
            lambda s: s.replace('address_validation = "county_gis"', 'address_validation = "nope"'),
            "integrations.cityworks.address_validation",
            "add one or remove the key",
        ),
        (
            lambda s: s.replace('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
            "integrations.cityworks.timezone",
            "IANA name",
        ),
        (
            lambda s: s.replace("srid = 3857", 'srid = "3857"'),
            "integrations.cityworks.srid",
            "integer",
        ),
        (
            lambda s: s.replace("min_score = 85", "min_score = 120"),
            "geocoders.county_gis.min_score",
            "0 to 100",
        ),
        (
            lambda s: s.replace("[organization]", "[organisation]"),
            "(top level).organisation",
            "unknown key",
        ),
        (
            lambda s: s + '\n[server]\npublic_url = "311.example.gov"\n',
            "server.public_url",
            "use the http(s) URL clients reach",
        ),
        (
            lambda s: s + '\n[server]\npublic_url = "https://admin:pw@311.example.gov"\n',
            "server.public_url",
            "has a login or password in it",
        ),
        (
            lambda s: s + "\n[server]\nrequests_per_minute = -1\n",
            "server.requests_per_minute",
            "out of range",
        ),
        (
            lambda s: s + "\n[server]\nmax_body_kb = 0\n",
            "server.max_body_kb",
            "out of range",
        ),
        (
            lambda s: s + "\n[server]\nport = 8311\n",
            "server.port",
            "unknown key",
        ),
        (
            lambda s: s + "\n[images]\npurge_after_days = 0\n",
            "images.purge_after_days",
            "out of range; use 1 to 36500",
        ),
        (
            lambda s: s + "\n[images]\npurge_after_day = 30\n",
            "images.purge_after_day",
            "did you mean 'purge_after_days'?",
        ),
    ],
)
def test_each_config_mistake_names_file_key_and_fix(write_config, edit, key, fix) -> None:  # type: ignore[no-untyped-def]
    problems = problems_of(write_config, edit(GOOD))
    line = next((p for p in problems if f": {key}:" in p), None)
    assert line is not None, problems
    assert line.startswith(str(write_config(edit(GOOD))))
    assert fix in line
    assert "\n" not in line


def test_a_request_type_served_by_two_integrations_is_refused(write_config) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace('request_types = ["*"]', 'request_types = ["POTHOLE"]') + (
        '\n[integrations.other]\nplugin = "x"\nrequest_types = ["POTHOLE"]\n'
        '[integrations.other.production]\nurl = "http://127.0.0.1:1"\nuser = "u"\n'
    )
    problems = problems_of(write_config, text)
    assert any("'POTHOLE' is also served by integrations.cityworks" in p for p in problems)


def test_an_explicit_code_wins_over_a_wildcard(write_config) -> None:  # type: ignore[no-untyped-def]
    text = GOOD + (
        '\n[integrations.other]\nplugin = "x"\nrequest_types = ["GRAFFITI"]\n'
        '[integrations.other.production]\nurl = "http://127.0.0.1:1"\nuser = "u"\n'
    )
    settings = load_config(write_config(text), resolve_secrets=False)
    assert settings.owner_of("GRAFFITI") == "other"
    assert settings.owner_of("POTHOLE") == "cityworks"


def test_load_config_raises_the_first_problem_and_counts_the_rest(write_config) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("srid = 3857", 'srid = "x"').replace("min_score = 85", "min_score = -1")
    with pytest.raises(ConfigError, match=r"and 1 more: run `scf config check`"):
        load_config(write_config(text), resolve_secrets=False, plugin_options=PLUGIN_OPTIONS)


def test_missing_and_broken_files_are_one_line(tmp_path: Path) -> None:
    _, problems = check_config(tmp_path / "none.toml")
    assert "no config file here" in problems[0]
    bad = tmp_path / "bad.toml"
    bad.write_text("[organization\nname=")
    _, problems = check_config(bad)
    assert "not valid TOML" in problems[0] and len(problems) == 1


def test_config_check_command_reports_an_unknown_plugin(run, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(
        GOOD.replace('plugin = "cityworks"', 'plugin = "nosuch"').replace(
            'plugin = "arcgis"', 'plugin = "fake-a"'
        )
    )
    result = run("config", "check", "--json", config=path)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert any(
        "integrations.cityworks.plugin: plugin 'nosuch' is not installed" in p
        for p in data["problems"]
    )


def test_config_check_shows_routing(run) -> None:  # type: ignore[no-untyped-def]
    assert run("request-types").exit_code == 0
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output and "POTHOLE" in result.output


def test_the_server_section_is_optional_and_typed(write_config) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins.config.settings import load_config

    plain = load_config(write_config(GOOD), resolve_secrets=False)
    assert plain.server.public_url is None and plain.server.requests_per_minute == 600
    text = GOOD + (
        '\n[server]\npublic_url = "https://311.example.gov/"\njurisdiction_id = " example.gov "'
        "\nrequests_per_minute = 0\nmax_body_kb = 64\n"
    )
    server = load_config(write_config(text), resolve_secrets=False).server
    assert server.public_url == "https://311.example.gov"
    assert server.jurisdiction_id == "example.gov"
    assert (server.requests_per_minute, server.max_body_kb) == (0, 64)


def test_config_check_shows_the_server_and_warns_about_plain_http(
    run, write_config, basic_config
) -> None:  # type: ignore[no-untyped-def]
    path = write_config(basic_config + '\n[server]\npublic_url = "http://311.example.gov"\n')
    result = run("config", "check", config=path)
    assert result.exit_code == 0, result.output
    assert (
        "scf serve: http://311.example.gov; jurisdiction any; 600 POSTs a minute" in result.stdout
    )
    assert "plain http" in result.stderr and "https" in result.stderr
    data = json.loads(run("config", "check", "--json", config=path).stdout)
    assert data["server"]["public_url"] == "http://311.example.gov"


def test_plugin_options_may_differ_per_environment(write_config) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace(
        'user = "scf-int"\n\n[integrations.cityworks.production]',
        'user = "scf-int"\njurisdiction_id = "test.example.gov"\n\n'
        "[integrations.cityworks.production]",
    ).replace(
        'image_url_field = "Text1"', 'image_url_field = "Text1"\njurisdiction_id = "example.gov"'
    )
    path = write_config(text)
    test = load_config(path, resolve_secrets=False).integrations["cityworks"]
    assert test.options["jurisdiction_id"] == "test.example.gov"
    production = load_config(path, resolve_secrets=False, environment="production")
    assert production.integrations["cityworks"].options["jurisdiction_id"] == "example.gov"


@pytest.mark.parametrize(("key", "expected"), [
    ('usr = "scf-int"', 'integrations.cityworks.test.usr: unknown key; did you mean \'user\'?'),
    ("timeout_seconds = 5", "is a setting of the whole integration; move it up to "
                            "[integrations.cityworks]"),
])  # fmt: skip
def test_an_environment_table_refuses_host_keys_and_near_misses(
    write_config, key: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace('user = "scf-int"\n\n[integrations.cityworks.production]',
                        f'user = "scf-int"\n{key}\n\n[integrations.cityworks.production]')  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(write_config(text), resolve_secrets=False)


def test_config_check_states_how_long_photos_are_kept(run, write_config, basic_config) -> None:  # type: ignore[no-untyped-def]
    kept = run("config", "check", config=write_config(basic_config))
    assert "photos: up to 5 per issue, 10 MB each, kept at 2048 px; kept for good" in kept.stdout
    path = write_config(basic_config + "\n[images]\npurge_after_days = 400\n")
    purged = run("config", "check", config=path)
    assert (
        "their bytes purged 400 days after the issue is archived (0 photos, 0.0 MB, are due now"
        in purged.stdout
    )
    data = json.loads(run("config", "check", "--json", config=path).stdout)
    assert data["images"]["purge_after_days"] == 400
    assert data["images"]["purge_due"] == {"photos": 0, "bytes": 0}
