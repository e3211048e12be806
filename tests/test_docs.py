"""The plugin author's guide keeps its word: the whole example plugin it shows (section 8)
type-checks with ``mypy --strict`` against the installed host, imports nothing but what
``scf_plugins`` exports and no private name, and registers, its config read with the options
it declares."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import scf_plugins
from scf_plugins.config.settings import check_config
from scf_plugins.plugins import build_manager

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FIRST_LINE = "# scf_acme/plugin.py: the whole example"


def example() -> str:
    """The guide's whole example plugin, as written there."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    [code] = [b for b in blocks if b.startswith(FIRST_LINE)]
    return code


def example_config() -> str:
    """The config the guide gives for it (section 8's TOML)."""
    section = GUIDE.read_text().split("## 8. A whole plugin", 1)[1]
    [toml] = re.findall(r"```toml\n(.*?)```", section, re.S)[:1]
    return toml


def test_the_example_imports_only_the_hosts_exports() -> None:
    exported = set(scf_plugins.__all__)
    for node in ast.walk(ast.parse(example())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scf"):
            assert node.module == "scf_plugins", f"the example imports {node.module}"
            assert {a.name for a in node.names} <= exported, node.names
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("scf") for a in node.names)
    assert not re.search(r"\._[a-z]", example().replace("self._", "")), "no private name"


@pytest.mark.slow  # mypy in a subprocess
def test_the_example_type_checks_with_mypy_strict(tmp_path: Path) -> None:
    package = tmp_path / "scf_acme"
    package.mkdir()
    (package / "__init__.py").write_text('"""Acme Works."""\n')
    (package / "plugin.py").write_text(example())
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "scf_acme"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_example_registers_and_its_config_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "scf_acme"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(example())
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    plugin = importlib.import_module("scf_acme.plugin")
    host = build_manager(load_entry_points=False)
    host.register(plugin, "acme")
    config = tmp_path / "scf.toml"
    config.write_text('[organization]\nname = "Acmeville"\n' + example_config())
    monkeypatch.setenv("SCF_WORKS_TEST_APP_SECRET", "App-Secret-Doc-1")
    monkeypatch.setenv("SCF_SECRETS_FILE", str(tmp_path / "secrets.json"))
    settings, problems = check_config(config, plugin_options=host.plugin_options)
    assert problems == [] and settings is not None, problems
    works = settings.integrations["works"]
    assert works.options["page_size"] == 200 and works.options["app_id"] == "637-test"
    assert works.secret("app_secret").reveal() == "App-Secret-Doc-1"
    assert host.check_integration(works) == []
