"""The import boundaries, read from the source with ``ast``: no cycle among the host's
modules, no host module importing a plugin, plugins importing only what the host exports, and
no plugin importing a sibling.

Every import counts: top-level, inside a function, under ``if TYPE_CHECKING:``. Relative
imports are resolved; ``from pkg import mod`` imports ``pkg.mod``; importing ``a.b.c`` runs
``a/__init__`` and ``a/b/__init__`` first, so those packages count as imported too (except the
importer's own enclosing packages, which are already being imported when it runs).

What a plugin may import of the host (its runtime package and its tests alike):

- ``scf_plugins``, and ``from scf_plugins import X`` for X in ``scf_plugins.__all__``;
- ``scf_plugins.testing``, and ``from scf_plugins.testing import X`` for X in its ``__all__``;
- ``scf_plugins.testing.M`` (or ``from scf_plugins.testing.M import X``, X public) only when
  ``scf_plugins.testing.__all__`` exports the module M itself (``standins``).
"""

from __future__ import annotations

import ast
import importlib.metadata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from scf_plugins.plugins import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parents[1]
HOST = "scf_plugins"
KNOWN_PLUGINS = ("scf_cityworks", "scf_arcgis", "scf_open311", "scf_accela")


@dataclass(frozen=True)
class Import:
    """One module importing another, where it says so."""

    source: str
    target: str
    names: tuple[str, ...]  # what ``from target import ...`` takes; () for a plain import
    path: Path
    line: int
    implicit: bool = False  # a package whose ``__init__`` runs first, not named in the code

    def where(self, base: Path) -> str:
        """``path:line`` relative to ``base`` when it is under it."""
        path = self.path.relative_to(base) if self.path.is_relative_to(base) else self.path
        return f"{path}:{self.line}"


# -- reading the source ------------------------------------------------------------------------


def modules_under(base: Path, package: str) -> dict[str, Path]:
    """Every module of the package at ``base/package`` (``a.b`` for a/b.py or a/b/__init__.py)."""
    found: dict[str, Path] = {}
    for path in sorted((base / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(base).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(module: str, path: Path, known: Iterable[str]) -> list[Import]:
    """Every import in ``path`` (the file of ``module``), resolved to module names; ``known``
    are the modules that exist, to tell ``from pkg import mod`` from ``from pkg import name``."""
    known = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    enclosing = {*_ancestors(module), module}
    out: list[Import] = []

    def add(target: str, names: tuple[str, ...], line: int) -> None:
        out.append(Import(module, target, names, path, line))
        for parent in _ancestors(target):
            if parent not in enclosing:
                out.append(Import(module, parent, (), path, line, implicit=True))

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names: list[str] = []
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    add(f"{base}.{alias.name}", (), node.lineno)
                else:
                    names.append(alias.name)
            if names or not node.names:
                add(base, tuple(names), node.lineno)
    return out


def exported(init: Path) -> set[str]:
    """The names a package's ``__init__`` lists in its literal ``__all__``."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                assert node.value is not None
                return {str(v) for v in ast.literal_eval(node.value)}
    return set()


# -- the rules ---------------------------------------------------------------------------------


def cycles(imports: Iterable[Import], prefix: str) -> list[tuple[list[Import], list[str]]]:
    """One shortest cycle per group of mutually importing modules under ``prefix``, with the
    group's modules (every one of them is on some cycle)."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        inside = (imp.source, imp.target)
        if all(m == prefix or m.startswith(prefix + ".") for m in inside) and len(set(inside)) == 2:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    found: list[tuple[list[Import], list[str]]] = []
    for group in _strongly_connected(edges):
        start = min(group)
        # Breadth-first from start, inside the group, back to start: the shortest cycle.
        back: dict[str, Import] = {}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            for there, imp in sorted(edges.get(here, {}).items()):
                if there in group and there not in back:
                    back[there] = imp
                    queue.append(there)
        path, node = [back[start]], back[start].source
        while node != start:
            path.append(back[node])
            node = back[node].source
        found.append((path[::-1], sorted(group)))
    return found


def _strongly_connected(edges: Mapping[str, Mapping[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, without recursion; only groups of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def _top(module: str) -> str:
    return module.partition(".")[0]


def host_imports_of_plugins(
    imports: Iterable[Import], host: str, plugins: Iterable[str], base: Path
) -> list[str]:
    """A line per host import of a plugin package."""
    roots = set(plugins)
    return [
        f"{imp.where(base)}: {imp.source} imports {imp.target}"
        for imp in imports
        if _top(imp.source) == host and _top(imp.target) in roots and not imp.implicit
    ]


def unexported_imports(
    imports: Iterable[Import], host: str, host_dir: Path, base: Path
) -> list[str]:
    """A line per plugin import of a host name that the host does not export (the rule in
    this module's docstring)."""
    top = exported(host_dir / "__init__.py")
    kit = exported(host_dir / "testing" / "__init__.py")
    kit_modules = {
        name for name in kit
        if (host_dir / "testing" / f"{name}.py").exists()
        or (host_dir / "testing" / name / "__init__.py").exists()
    }  # fmt: skip
    problems = []
    for imp in imports:
        if imp.implicit or _top(imp.target) != host or _top(imp.source) == host:
            continue
        rest = imp.target.removeprefix(host).lstrip(".")
        if rest == "":
            bad = [n for n in imp.names if n not in top]
        elif rest == "testing":
            bad = [n for n in imp.names if n not in kit]
        elif rest.startswith("testing.") and rest.removeprefix("testing.") in kit_modules:
            bad = [n for n in imp.names if n.startswith("_")]
        else:
            bad = list(imp.names) or [""]
        if bad:
            what = f"{', '.join(bad)} from {imp.target}" if any(bad) else imp.target
            problems.append(
                f"{imp.where(base)}: imports {what}, which neither {host} nor {host}.testing "
                f"exports"
            )
    return problems


def sibling_imports(
    imports: Iterable[Import], owner: Mapping[str, str], plugins: Iterable[str], base: Path
) -> list[str]:
    """A line per plugin module importing another plugin's package (``owner``: the plugin
    package each walked plugin module belongs to)."""
    roots = set(plugins)
    return [
        f"{imp.where(base)}: {imp.source} ({owner[imp.source]}) imports {imp.target}"
        for imp in imports
        if imp.source in owner
        and _top(imp.target) in roots
        and _top(imp.target) != owner[imp.source]
        and not imp.implicit
    ]


# -- this repository ---------------------------------------------------------------------------


def plugin_packages() -> set[str]:
    """The plugin packages: the three of this repository and every package a distribution in
    the ``scf_plugins`` entry-point group installs."""
    found = set(KNOWN_PLUGINS)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.add(_top(ep.module))
        tops = ep.dist.read_text("top_level.txt") if ep.dist is not None else None
        found.update(line.strip() for line in (tops or "").splitlines() if line.strip())
    return found - {HOST}


@dataclass(frozen=True)
class Repository:
    """The walked modules of a checkout: the host's, and each plugin's (runtime and tests)."""

    base: Path
    imports: list[Import]
    owner: dict[str, str]  # plugin module -> its plugin package


def read_repository(base: Path, host: str, plugins: Iterable[str]) -> Repository:
    """Walk ``base/host`` and ``base/plugins/*`` (each plugin's package and its ``tests``)."""
    roots = set(plugins)
    files = modules_under(base, host)
    owner: dict[str, str] = {}
    for folder in sorted(p for p in (base / "plugins").glob("*") if p.is_dir()):
        own = sorted(d.name for d in folder.iterdir() if d.name in roots and d.is_dir())
        for package in own:
            for name, path in modules_under(folder, package).items():
                files[name] = path
                owner[name] = package
        for path in sorted((folder / "tests").rglob("*.py")) if own else []:
            name = ".".join(path.relative_to(base).with_suffix("").parts)
            files[name] = path
            owner[name] = own[0]
    imports = [imp for name, path in files.items() for imp in imports_of(name, path, files)]
    return Repository(base, imports, owner)


@pytest.fixture(scope="module")
def repo() -> Repository:
    """This checkout, walked once."""
    return read_repository(ROOT, HOST, plugin_packages())


def test_the_host_has_no_import_cycle(repo: Repository) -> None:
    shown = [
        " -> ".join([*(f"{imp.source} ({imp.where(repo.base)})" for imp in cycle), cycle[0].source])
        + f"\n  (in a group of {len(group)} modules that import each other: {', '.join(group)})"
        for cycle, group in cycles(repo.imports, HOST)
    ]
    assert not shown, "import cycles in the host:\n" + "\n".join(shown)


def test_no_host_module_imports_a_plugin(repo: Repository) -> None:
    found = host_imports_of_plugins(repo.imports, HOST, plugin_packages(), repo.base)
    assert not found, "the host imports a plugin:\n" + "\n".join(found)


def test_plugins_import_only_what_the_host_exports(repo: Repository) -> None:
    found = unexported_imports(repo.imports, HOST, repo.base / HOST, repo.base)
    assert not found, "plugins reach past the host's exports:\n" + "\n".join(found)


def test_no_plugin_imports_a_sibling(repo: Repository) -> None:
    found = sibling_imports(repo.imports, repo.owner, plugin_packages(), repo.base)
    assert not found, "a plugin imports another plugin:\n" + "\n".join(found)


def test_the_walk_sees_the_whole_repository(repo: Repository) -> None:
    """Guard against a walk that finds nothing (and so passes everything)."""
    sources = {imp.source for imp in repo.imports}
    assert {"scf_plugins.cli.demo", "scf_cityworks.plugin", "scf_arcgis.plugin",
            "scf_open311.plugin"} <= sources  # fmt: skip
    assert set(repo.owner.values()) == set(KNOWN_PLUGINS)


# -- the walker on a made-up tree --------------------------------------------------------------


def _write(base: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MADE_UP = {
    "core/__init__.py": "from .models import Thing\n__all__ = ['Thing']\n",
    "core/models.py": "class Thing: ...\nclass Hidden: ...\n",
    "core/engine/__init__.py": "",
    "core/engine/loop.py": "from . import steps\n",
    "core/engine/steps.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from core.engine.loop import Engine\n"
    ),
    "core/cli.py": "def demo():\n    from plug_a.server import Server\n",
    "core/testing/__init__.py": (
        "from . import helpers\n__all__ = ['helpers', 'make']\ndef make(): ...\n"
    ),
    "core/testing/helpers.py": "def bind(): ...\n",
    "core/testing/private.py": "def secret(): ...\n",
    "plugins/a/plug_a/__init__.py": "",
    "plugins/a/plug_a/server.py": (
        "from core import Thing\n"
        "from core.testing import helpers, make\n"
        "from core.testing.helpers import bind\n"
        "def later():\n"
        "    from core.models import Hidden\n"
        "    from core.testing.private import secret\n"
    ),
    "plugins/a/tests/test_a.py": "from core.engine import loop\nfrom plug_b import b\n",
    "plugins/b/plug_b/__init__.py": "",
    "plugins/b/plug_b/b.py": "from ..plug_b import __name__ as n\nimport plug_a.server\n",
}


@pytest.fixture
def made_up(tmp_path: Path) -> Repository:
    """A host ``core`` with a cycle and two plugins that break every rule once."""
    _write(tmp_path, MADE_UP)
    return read_repository(tmp_path, "core", ["plug_a", "plug_b"])


def test_the_walker_finds_a_cycle_through_a_type_checking_import(made_up: Repository) -> None:
    [(cycle, group)] = cycles(made_up.imports, "core")
    assert group == ["core.engine.loop", "core.engine.steps"]
    assert [(imp.source, imp.target) for imp in cycle] == [
        ("core.engine.loop", "core.engine.steps"),
        ("core.engine.steps", "core.engine.loop"),
    ]
    assert cycle[1].where(made_up.base) == "core/engine/steps.py:3"


def test_the_walker_finds_no_cycle_where_there_is_none(tmp_path: Path) -> None:
    _write(tmp_path, {k: v for k, v in MADE_UP.items() if k != "core/engine/steps.py"})
    assert cycles(read_repository(tmp_path, "core", []).imports, "core") == []


def test_the_walker_counts_parent_packages_and_resolves_relative_imports(
    made_up: Repository,
) -> None:
    pairs = {(imp.source, imp.target, imp.implicit) for imp in made_up.imports}
    assert ("core.engine.loop", "core.engine.steps", False) in pairs  # from . import steps
    assert ("core.engine.steps", "core", True) not in pairs  # its own package: running already
    assert ("core.cli", "plug_a", True) in pairs  # plug_a/__init__ runs first
    assert ("plug_b.b", "plug_b", False) in pairs  # from ..plug_b import __name__


def test_the_walker_names_each_broken_rule(made_up: Repository) -> None:
    base = made_up.base
    assert host_imports_of_plugins(made_up.imports, "core", ["plug_a", "plug_b"], base) == [
        "core/cli.py:2: core.cli imports plug_a.server"
    ]
    assert sorted(unexported_imports(made_up.imports, "core", base / "core", base)) == [
        "plugins/a/plug_a/server.py:5: imports Hidden from core.models, which neither core "
        "nor core.testing exports",
        "plugins/a/plug_a/server.py:6: imports secret from core.testing.private, which "
        "neither core nor core.testing exports",
        "plugins/a/tests/test_a.py:1: imports core.engine.loop, which neither core nor "
        "core.testing exports",
    ]
    assert sorted(sibling_imports(made_up.imports, made_up.owner, ["plug_a", "plug_b"], base)) == [
        "plugins/a/tests/test_a.py:2: plugins.a.tests.test_a (plug_a) imports plug_b.b",
        "plugins/b/plug_b/b.py:2: plug_b.b (plug_b) imports plug_a.server",
    ]
