"""Options declared by plugins: checked by the host in one place as it reads the config (one
line per problem, in the config reader's words), typed and defaulted, listed by ``scf plugins
--json``; the Cityworks plugin's ``version``, ``srid`` and ``image_url_field`` as options
under the keys they always had; named extra secrets beside the password."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scf_plugins import (
    ConfigError,
    Integration,
    Option,
    Options,
    RequestType,
    Secret,
    hookimpl,
)
from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.cli.demo import CONFIG as DEMO_CONFIG
from scf_plugins.config.settings import check_config, load_config
from scf_plugins.plugins import PluginHost, build_manager

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = build_manager().plugin_options  # the installed plugins' declarations


class Permits:
    """A plugin that declares options of every kind, per endpoint ones and an app secret."""

    OPTIONS = Options(
        Option("module", "text", "ServiceRequest", "the module residents may use"),
        Option("closed_status_types", "texts", ("CLOSED", "COMPLETE"), "closing status types"),
        Option("page_size", "integer", 100, "records per read", minimum=1, maximum=1000),
        Option("lookup_window_minutes", "number", 60.0, "how far back", minimum=1),
        Option("strict", "boolean", False, "refuse unknown fields"),
        Option("notes", "choice", "internal", "where notes go", choices=("internal", "public")),
        Option("agency", "text", None, "the agency's name", required=True),
        Option("region", "text", "all", "the whole integration's", per_environment=False),
        Option("app_secret", "secret", description="the application's secret"),
    )

    @hookimpl
    def plugin_options(self) -> Options:
        return self.OPTIONS

    @hookimpl
    def list_request_types(self, integration: Integration) -> list[RequestType]:
        return []


PERMITS = """
[organization]
name = "Islandton"

[integrations.permits]
plugin = "permits"
environment = "test"
request_types = ["*"]
{extra}
[integrations.permits.test]
url = "https://apis.example.test"
user = "scf-int"
agency = "ISLANDTON"
{endpoint}
"""


@pytest.fixture
def host() -> PluginHost:
    host = build_manager(load_entry_points=False)
    host.register(Permits(), "permits")
    return host


@pytest.fixture
def permits(
    write_config: Callable[[str], Path], host: PluginHost
) -> Callable[..., tuple[Integration | None, list[str]]]:
    def read(
        extra: str = "", endpoint: str = "", secrets: bool = False
    ) -> tuple[Integration | None, list[str]]:
        path = write_config(PERMITS.format(extra=extra, endpoint=endpoint))
        settings, problems = check_config(path, resolve_secrets=secrets,
                                          plugin_options=host.plugin_options)  # fmt: skip
        return (settings.integrations["permits"] if settings else None), problems

    return read


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "secrets.json"
    monkeypatch.setenv("SCF_SECRETS_FILE", str(path))
    monkeypatch.delenv("SCF_PERMITS_TEST_APP_SECRET", raising=False)
    yield path


def test_declared_options_come_typed_with_their_defaults(permits) -> None:  # type: ignore[no-untyped-def]
    integration, problems = permits(extra="lookup_window_minutes = 5\npage_size = 250\n"
                                          'closed_status_types = ["CLOSED", 7]')  # fmt: skip
    assert problems == [] and integration is not None
    assert dict(integration.options) == {
        "module": "ServiceRequest", "closed_status_types": ("CLOSED", "7"), "page_size": 250,
        "lookup_window_minutes": 5.0, "strict": False, "notes": "internal",
        "agency": "ISLANDTON", "region": "all",
    }  # fmt: skip
    assert Permits.OPTIONS.value(integration, "strict") is False


@pytest.mark.parametrize(
    ("extra", "endpoint", "expected"),
    [
        ("pagesize = 5", "", "integrations.permits.pagesize: unknown key; did you mean "
                             "'page_size'? the permits plugin takes agency, closed_status_types"),
        ("strict = 1", "", "integrations.permits.strict: 1 is not valid; use true or false"),
        ('page_size = "10"', "", "integrations.permits.page_size: '10' is not valid; use an "
                                 "integer from 1 to 1000"),
        ("", "page_size = 0", "integrations.permits.test.page_size: 0 is out of range; use an "
                              "integer from 1 to 1000"),
        ('notes = "resident"', "", "integrations.permits.notes: 'resident' is not valid; use "
                                   "one of internal, public"),
        ("closed_status_types = [1.5]", "", "integrations.permits.closed_status_types: [1.5] is "
                                            "not valid; use a list of strings"),
        ("", 'region = "north"', "integrations.permits.test.region: is a setting of the whole "
                                 "integration; move it up to [integrations.permits]"),
        ("", 'agenci = "X"', "integrations.permits.test.agenci: unknown key; did you mean "
                             "'agency'?"),
        ("", "app_secret_ref = 1", "integrations.permits.test.app_secret_ref: unknown key"),
    ],
)  # fmt: skip
def test_each_problem_is_one_line_naming_the_file_the_key_and_the_fix(
    permits,
    extra: str,
    endpoint: str,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    integration, problems = permits(extra=extra, endpoint=endpoint)
    assert integration is None and len(problems) == 1, problems
    assert problems[0].split(": ", 1)[1].startswith(expected), problems[0]
    assert problems[0].startswith(str(Path(problems[0].split(": ", 1)[0])))


def test_a_required_option_missing_and_a_secret_in_the_file(
    write_config: Callable[[str], Path], host: PluginHost
) -> None:
    text = PERMITS.format(extra="", endpoint="").replace('agency = "ISLANDTON"\n', "")
    _, problems = check_config(write_config(text), resolve_secrets=False,
                               plugin_options=host.plugin_options)  # fmt: skip
    assert [p.split(": ", 1)[1] for p in problems] == [
        "integrations.permits.test.agency: missing; the agency's name"
    ]
    text = PERMITS.format(extra="", endpoint='app_secret = "hunter22"')
    _, problems = check_config(write_config(text), resolve_secrets=False,
                               plugin_options=host.plugin_options)  # fmt: skip
    assert any("integrations.permits.test.app_secret: passwords and tokens are never stored"
               in p for p in problems)  # fmt: skip
    assert any("app_secret: is a secret, never kept in the config; store it with `scf "
               "credentials set NAME --env ENV --key app_secret`" in p for p in problems)  # fmt: skip


def test_a_plugin_that_declares_nothing_gets_its_options_as_written(
    write_config: Callable[[str], Path], basic_config: str, fake_host: tuple[PluginHost, object]
) -> None:
    host, _ = fake_host
    path = write_config(basic_config.replace('request_types = ["*"]',
                                             'request_types = ["*"]\ncolour = "red"'))  # fmt: skip
    settings = load_config(path, resolve_secrets=False, plugin_options=host.plugin_options)
    assert dict(settings.integrations["alpha"].options) == {"colour": "red"}


def test_named_extra_secrets_from_the_cli_and_the_environment(
    write_config: Callable[[str], Path],
    host: PluginHost,
    secrets_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(PERMITS.format(extra="", endpoint=""))
    runner = CliRunner()

    def scf(*args: str, input: str | None = None) -> str:
        result = runner.invoke(cli, list(args), obj=App(str(path), host=host), input=input)
        assert result.exit_code == 0, result.output
        return result.output

    said = scf("credentials", "set", "permits", "--env", "test", "--key", "app_secret",
               "--stdin", input="App-Secret-3390\n")  # fmt: skip
    assert "stored the app_secret for permits (test)" in said
    assert "SCF_PERMITS_TEST_APP_SECRET overrides it" in said
    scf("credentials", "set", "permits", "--env", "test", "--stdin", input="Pass-Word-1180\n")
    stored = json.loads(secrets_file.read_text())
    assert stored == {
        "permits.test": "Pass-Word-1180",
        "permits.test:app_secret": "App-Secret-3390",
    }
    integration = load_config(path, plugin_options=host.plugin_options).integrations["permits"]
    assert integration.password == Secret("Pass-Word-1180")
    assert integration.secret("app_secret") == Secret("App-Secret-3390")
    assert "App-Secret" not in repr(integration)
    monkeypatch.setenv("SCF_PERMITS_TEST_APP_SECRET", "From-Env-5521")
    integration = load_config(path, plugin_options=host.plugin_options).integrations["permits"]
    assert integration.secret("app_secret").reveal() == "From-Env-5521"
    with pytest.raises(ConfigError, match=re.escape(
        "integration permits (test) has no api_token; store it with `scf credentials set "
        "permits --env test --key api_token` or set SCF_PERMITS_TEST_API_TOKEN"
    )):  # fmt: skip
        integration.secret("api_token")
    refused = runner.invoke(cli, ["credentials", "set", "permits", "--env", "test", "--key",
                                  "App Secret", "--stdin"], obj=App(str(path), host=host),
                            input="x\n")  # fmt: skip
    assert refused.exit_code != 0 and "use the secret's name" in refused.output


def test_scf_plugins_json_lists_each_plugins_options(host: PluginHost) -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"], obj=App(None, host=host))
    [row] = json.loads(result.output)
    assert [o["name"] for o in row["options"]] == [o.name for o in Permits.OPTIONS]
    assert row["options"][2] == {
        "name": "page_size", "kind": "integer", "default": 100, "description": "records per read",
        "minimum": 1, "maximum": 1000, "choices": [], "required": False, "per_environment": True,
    }  # fmt: skip
    assert row["options"][1]["default"] == ["CLOSED", "COMPLETE"]


# -- the Cityworks plugin's options: every config written for it loads as it did ----------------


def cityworks_configs() -> dict[str, str]:
    """The Cityworks configs this repository ships or shows: the README's, the demo's, the
    config tests' and the benchmarks'."""
    from tests.test_config import GOOD

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    [shown] = [b for b in blocks if "[integrations.cityworks]" in b and "[organization]" in b]
    found = {"README": shown, "tests/test_config.py": GOOD,
             "demo": DEMO_CONFIG.format(db="/nowhere/demo.db", cw_url="http://127.0.0.1:9/x",
                                        gis_url="http://127.0.0.1:9/y", smtp_port=25)}  # fmt: skip
    for bench in sorted((ROOT / "benchmarks").glob("*.py")):
        for block in re.findall(r'"""\n?(\[organization\].*?)"""', bench.read_text(), re.S):
            if "[integrations.cityworks]" in block:
                found[bench.name] = block.format_map(_Filled())
    return found


class _Filled(dict[str, str]):
    """A benchmark config's placeholders, filled: a URL, a database, else a number."""

    def __missing__(self, key: str) -> str:
        return {"url": "http://127.0.0.1:9/x", "database": "/nowhere/x.db"}.get(key, "1")


@pytest.mark.parametrize("name", sorted(cityworks_configs()))
def test_an_existing_cityworks_config_loads_unchanged(
    name: str, write_config: Callable[[str], Path]
) -> None:
    text = cityworks_configs()[name]
    settings, problems = check_config(write_config(text), resolve_secrets=False,
                                      plugin_options=INSTALLED)  # fmt: skip
    assert problems == [] and settings is not None, problems
    cw = settings.integrations["cityworks"]
    assert cw.options["srid"] == 3857 and isinstance(cw.options["srid"], int)
    assert cw.options["version"] == "15.8"
    host = build_manager()
    assert host.check_integration(cw) == [], name


def test_cityworks_options_keep_their_old_rules(write_config: Callable[[str], Path]) -> None:
    from tests.test_config import GOOD

    def problems_of(text: str) -> list[str]:
        return check_config(write_config(text), resolve_secrets=False,
                            plugin_options=INSTALLED)[1]  # fmt: skip

    # A number for the version is taken as its text, as before.
    settings = load_config(write_config(GOOD.replace('version = "15.8"', "version = 15.8")),
                           resolve_secrets=False, plugin_options=INSTALLED)  # fmt: skip
    assert settings.integrations["cityworks"].options["version"] == "15.8"
    assert settings.integrations["cityworks"].options["image_url_field"] == "Text1"
    # srid and image_url_field stay settings of the whole integration.
    moved = GOOD.replace(
        'user = "scf-int"\n\n[integrations.cityworks.production]',
        'user = "scf-int"\nsrid = 2234\n\n[integrations.cityworks.production]',
    )
    assert any("integrations.cityworks.test.srid: is a setting of the whole integration; move it "
               "up to [integrations.cityworks]" in p for p in problems_of(moved))  # fmt: skip
    [line] = problems_of(GOOD.replace("srid = 3857", "srid = 3857.5"))
    assert (
        "integrations.cityworks.srid: 3857.5 is not valid; use an integer EPSG or ESRI code" in line
    )
    [line] = problems_of(GOOD.replace('image_url_field = "Text1"', 'image_url_feld = "Text1"'))
    assert (
        "integrations.cityworks.image_url_feld: unknown key; did you mean 'image_url_field'?"
        in line
    )
