"""Start-up stays light: discovering plugins and building the CLI imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from scf_plugins.cli import cli
from scf_plugins.plugins import build_manager
host = build_manager(disabled=set())
host.register_commands(cli)
print(json.dumps({name: name in sys.modules for name in ("sqlalchemy", "pyproj", "requests")}
                 | {"plugins": host.names()}))
"""


@pytest.mark.slow  # a subprocess
def test_plugin_discovery_and_the_cli_import_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert {"cityworks", "arcgis"} <= set(loaded.pop("plugins"))
    assert loaded == {"sqlalchemy": False, "pyproj": False, "requests": False}
