"""Files, config and arguments that are too deep, too large, not UTF-8, or in the wrong place
get one clear line, never "unexpected … please report it"; secrets stay where they belong."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from scf_plugins.config.settings import load_config
from scf_plugins.store.store import Store
from scf_plugins.store.tables import issues

SCF = str(Path(sys.executable).parent / "scf")

URL_CONFIG = """
[organization]
name = "City of Testville"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857

[integrations.cityworks.test]
url = "https://scf-int:Hunter2-Secret@cw.example.gov/Cityworks/Services/AMS"
user = "scf-int"
"""


def test_a_password_in_an_endpoint_url_is_refused_and_never_repeated(
    run: Any, write_config: Any
) -> None:
    path = write_config(URL_CONFIG)
    result = run("config", "check", config=path)
    assert result.exit_code == 1
    assert "integrations.cityworks.test.url: has a login or password in it" in result.output
    assert "Hunter2-Secret" not in result.output


def test_the_database_is_created_owner_only(tmp_path: Path) -> None:
    from scf_plugins.store.store import Store, readable_by_others

    url = f"sqlite:///{tmp_path / 'scf.db'}"
    store = Store.open(url)
    with store.transaction() as conn:  # write something, so WAL and SHM exist
        from scf_plugins.store.tables import meta

        conn.execute(meta.insert().values(key="probe", value="x"))
    for name in ("scf.db", "scf.db-wal", "scf.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, name
    assert readable_by_others(url) is None
    os.chmod(tmp_path / "scf.db", 0o644)
    assert readable_by_others(url) == str(tmp_path / "scf.db")


def test_config_check_warns_about_a_database_others_can_read(run: Any, tmp_path: Path) -> None:
    assert run("config", "check").exit_code == 0
    os.chmod(tmp_path / "scf.db", 0o644)
    result = run("config", "check")
    assert result.exit_code == 0
    assert "the database can be read by other users" in result.output
    assert "chmod 600" in result.output


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"a = " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b"# \xff\xfe not utf-8\n", "not UTF-8 text"),
        (b"x = 1\n" * 300_000, "larger than 1024 KiB"),
    ],
)
def test_a_hostile_config_file_is_one_clear_line(
    run: Any, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    result = run("config", "check", config=path)
    assert result.exit_code == 1
    assert words in result.output and "unexpected" not in result.output


def test_a_named_pipe_as_the_secrets_file_never_blocks(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "secrets.json"
    os.mkfifo(fifo, 0o600)
    monkeypatch.setenv("SCF_SECRETS_FILE", str(fifo))
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(run("issues", "list")), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "reading the secrets file blocked"
    assert results[0].exit_code == 1
    assert "the secrets file is not a regular file" in results[0].output


def test_a_deep_secrets_file_is_one_clear_line(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text("[" * 100_000 + "]" * 100_000)
    os.chmod(secrets, 0o600)
    monkeypatch.setenv("SCF_SECRETS_FILE", str(secrets))
    result = run("issues", "list")
    assert result.exit_code == 1 and "is not readable JSON" in result.output


def test_control_characters_in_a_comment_or_its_author_are_refused(run: Any) -> None:
    assert (
        run("report", "--type", "GRAFFITI", "--summary", "x", "--lat", "1", "--lng", "2").exit_code
        == 0
    )
    result = run("comment", "1", "hello", "--author", "Jane\x00Doe")
    assert result.exit_code == 1 and "--author must be" in result.output
    result = run("comment", "1", "clear \x1b[2J screen")
    assert result.exit_code == 1 and "control character" in result.output
    result = run(
        "report", "--type", "GRAFFITI", "--summary", "bell \x07", "--lat", "1", "--lng", "2"
    )
    assert result.exit_code == 1 and "contains a control character" in result.output


@pytest.mark.slow  # a subprocess
def test_arguments_that_are_not_utf8_get_one_clear_line(basic_config: str, tmp_path: Path) -> None:
    config = tmp_path / "scf.toml"
    config.write_text(basic_config)
    env = {**os.environ, "SCF_DISABLE_PLUGINS": "cityworks,arcgis", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(
        [SCF.encode(), b"--config", str(config).encode(), b"comment", b"1", b"caf\xe9"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode != 0 and "Traceback" not in err
    assert "not valid UTF-8" in err, err
    assert "please report it" not in err


def test_json_output_keeps_the_data_escaped(run: Any, tmp_path: Path) -> None:
    reported = run("report", "--type", "GRAFFITI", "--summary", "rtl here", "--lat", "1",
                   "--lng", "2")  # fmt: skip
    assert reported.exit_code == 0
    # The intake refuses an override in a summary now: this one a store kept from before.
    store = Store.open(load_config(tmp_path / "scf.toml").organization.database)
    with store.transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == 1).values(summary="rtl \u202e here"))
    store.close()
    out = run("issues", "show", "1", "--json").stdout
    assert "\u202e" not in out and json.loads(out)["summary"] == "rtl \u202e here"


def test_stored_remote_text_loses_what_no_store_or_xml_can_hold() -> None:
    """A lone surrogate (from a JSON escape), U+FFFE/U+FFFF and control characters are
    removed from remote text before it is stored; line breaks stay."""
    from scf_plugins.intake.sanitize import clean

    assert clean("a\ud800b\udfffc\ufffe\uffffd\x0be\nf", 100) == "abcde\nf"
    assert clean("plain text", 100) == "plain text"
