"""The plugin manager: real entry points, routing, broken and disabled plugins, and the hooks."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import re
from pathlib import Path

import pytest

from scf_plugins import Integration, hookspecs
from scf_plugins.errors import ConfigError
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.testing.fake import FakeRemote

ROOT = Path(__file__).resolve().parents[1]


def integration(name: str, plugin: str) -> Integration:
    return Integration(
        name=name,
        plugin=plugin,
        environment="test",
        url="http://127.0.0.1:9",
        user="u",
        password=None,
    )


def test_real_entry_points_load_both_sibling_distributions() -> None:
    host = build_manager(disabled=set())
    assert {"cityworks", "arcgis"} <= set(host.names())
    info = {p.name: p for p in host.info()}
    assert info["cityworks"].distribution == "scf-cityworks"
    assert {"submit", "poll", "push_comment", "list_request_types"} <= set(info["cityworks"].hooks)
    assert "validate_address" in info["arcgis"].hooks
    assert not host.failures


def test_scf_plugins_json_lists_both(run) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from scf_plugins.cli import cli
    from scf_plugins.cli.app import App

    result = CliRunner().invoke(cli, ["plugins", "--json"], obj=App(host=build_manager(set())))
    assert result.exit_code == 0, result.output
    names = {p["name"] for p in json.loads(result.output)}
    assert {"cityworks", "arcgis"} <= names


def test_each_plugin_receives_only_its_own_integrations_calls() -> None:
    host = build_manager(load_entry_points=False)
    a, b = FakeRemote("a"), FakeRemote("b")
    host.register(a, "a")
    host.register(b, "b")
    host.list_request_types(integration("one", "a"))
    host.list_request_types(integration("two", "b"))
    host.submit(integration("two", "b"), issue=_issue())
    assert a.calls == [("list_request_types", "one")]
    assert b.calls == [("list_request_types", "two"), ("submit", "two")]


def test_an_unknown_plugin_is_a_clear_config_error() -> None:
    host = build_manager(load_entry_points=False)
    with pytest.raises(ConfigError, match=r"plugin 'nope' is not installed \(installed: none\)"):
        host.list_request_types(integration("x", "nope"))


def _issue():  # type: ignore[no-untyped-def]
    from scf_plugins import Issue

    return Issue(id=1, request_type="POTHOLE", summary="s", lat=1.0, lng=2.0, type_ref="101")


def test_a_plugin_that_fails_to_import_is_skipped_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken_scf_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):  # type: ignore[no-untyped-def]
        found = list(real(**kwargs))
        if kwargs.get("group") == "scf_plugins":
            found.append(
                importlib.metadata.EntryPoint(
                    name="broken", value="broken_scf_plugin", group="scf_plugins"
                )
            )
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    host = build_manager(disabled=set())
    assert "broken" in host.failures and "boom at import" in host.failures["broken"]
    assert "cityworks" in host.names()
    assert "plugin 'broken' failed to load" in caplog.text
    with pytest.raises(ConfigError, match="installed but failed to load"):
        host.submit(integration("x", "broken"), issue=_issue())


def test_disable_switch_turns_named_plugins_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCF_DISABLE_PLUGINS", "arcgis, other")
    host = build_manager()
    assert "arcgis" not in host.names() and "cityworks" in host.names()


def test_unregister_removes_a_plugin_from_routing() -> None:
    host = build_manager(load_entry_points=False)
    host.register(FakeRemote("a"), "a")
    host.unregister("a")
    with pytest.raises(ConfigError):
        host.list_request_types(integration("one", "a"))


HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "scf_plugins_spec")
]


def test_the_five_contract_hooks_exist_with_their_fixed_argument_names() -> None:
    expected = {
        "list_request_types": ["integration"],
        "submit": ["integration", "issue"],
        "poll": ["integration", "tracked"],
        "push_comment": ["integration", "issue", "comment"],
        "validate_address": ["geocoder", "issue"],
    }
    for name, args in expected.items():
        assert list(inspect.signature(getattr(hookspecs, name)).parameters) == args


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_tested(hook: str) -> None:
    fn = getattr(hookspecs, hook)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 80, f"{hook} needs a docstring that is the plugin author's reference"
    signature = inspect.signature(fn)
    for name, param in signature.parameters.items():
        assert f":param {name}:" in doc, f"{hook}'s docstring must say what {name} is"
        assert param.annotation is not inspect.Parameter.empty, f"{hook}: type {name}"
    assert ":returns:" in doc
    assert signature.return_annotation is not inspect.Signature.empty, f"{hook}: its return type"
    # The host calls hooks only through PluginHost's typed, routed methods.
    wrapper = getattr(PluginHost, hook, None)
    assert callable(wrapper), f"PluginHost needs a typed method that calls {hook}"
    assert inspect.getdoc(wrapper), f"PluginHost.{hook} needs a docstring"
    tests = [p for p in ROOT.glob("**/tests/**/*.py") if ".venv" not in p.parts]
    pattern = re.compile(rf"\b{hook}\b")
    users = [p for p in tests if p.name != Path(__file__).name and pattern.search(p.read_text())]
    assert users, f"no test outside this meta-test exercises hook {hook}"
