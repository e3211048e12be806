"""Passwords: an owner-only secrets file, refused when others can read it; env vars override."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scf_plugins.config import credentials
from scf_plugins.errors import ConfigError


@pytest.fixture(autouse=True)
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "secrets.json"
    monkeypatch.setenv("SCF_SECRETS_FILE", str(path))
    monkeypatch.delenv("SCF_CITYWORKS_TEST_PASSWORD", raising=False)
    return path


def test_env_var_name_is_upper_case_with_underscores() -> None:
    assert credentials.env_var_name("cityworks", "test") == "SCF_CITYWORKS_TEST_PASSWORD"
    assert credentials.env_var_name("county-gis.v2", None) == "SCF_COUNTY_GIS_V2_PASSWORD"


def test_store_creates_an_owner_only_file_and_lookup_reads_it(secrets_file: Path) -> None:
    credentials.store("cityworks", "test", "s3cret-pw")
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    secret = credentials.lookup("cityworks", "test")
    assert secret is not None and secret.reveal() == "s3cret-pw"
    assert "s3cret" not in repr(secret) and "s3cret" not in str(secret)
    assert credentials.lookup("cityworks", "production") is None


def test_the_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.store("cityworks", "test", "from-file")
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "from-env")
    assert credentials.lookup("cityworks", "test").reveal() == "from-env"  # type: ignore[union-attr]


def test_a_file_others_can_read_is_refused(secrets_file: Path) -> None:
    credentials.store("cityworks", "test", "pw-12345")
    os.chmod(secrets_file, 0o644)
    with pytest.raises(ConfigError, match=r"can be read by others \(mode 644\); run: chmod 600"):
        credentials.lookup("cityworks", "test")
    with pytest.raises(ConfigError):
        credentials.store("cityworks", "production", "other")


def test_credentials_set_prompts_twice_and_never_echoes(
    run, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCF_ALLOW_PIPED_PASSWORD", "1")
    result = run("credentials", "set", "alpha", "--env", "test", input="pw-abcdef\npw-abcdef\n")
    assert result.exit_code == 0, result.output
    assert "pw-abcdef" not in result.output
    assert credentials.lookup("alpha", "test").reveal() == "pw-abcdef"  # type: ignore[union-attr]


def test_credentials_set_refuses_without_a_terminal(run) -> None:  # type: ignore[no-untyped-def]
    result = run("credentials", "set", "alpha", "--env", "test", input="x\nx\n")
    assert result.exit_code == 1
    assert "hidden prompt" in result.output
