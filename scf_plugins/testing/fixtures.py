"""The kit's pytest fixtures for testing a host, and its ``store`` and ``slow`` markers.

- ``scf_database``: the URL of a test's store (``$SCF_TEST_DATABASE_URL`` emptied, else a new
  SQLite file). Every test that uses it, directly or through another fixture, is marked
  ``store``, so ``pytest -m store`` runs exactly the tests that open a store, on whatever
  database ``SCF_TEST_DATABASE_URL`` names;
- ``harness``: makes :class:`~scf_plugins.testing.harness.Harness` objects on that database
  and closes them with the test;
- (for every test) the secrets registered for redaction during a test are forgotten after it,
  and the resources the host kept for its integrations (``resource_for``), their OAuth2
  tokens and the integration states kept in memory (no store) are closed and dropped, so no
  test meets another's client, session, token or state.

Loaded with the ``loopback`` fixture (the ``scf_plugins`` pytest11 entry point), so a
plugin's tests just ask for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .harness import Harness

STORE_FIXTURE = "scf_database"


def pytest_configure(config: pytest.Config) -> None:
    """Register the kit's markers (``--strict-markers`` accepts them then): ``store``, and
    ``slow``, which the contract suite puts on its subprocess test."""
    config.addinivalue_line(
        "markers", "store: the test opens a store (on $SCF_TEST_DATABASE_URL when it is set)"
    )
    config.addinivalue_line(
        "markers", "slow: the test starts processes or kills them (-m 'not slow' skips it)"
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``store`` every test that asks, directly or not, for the store's database."""
    for item in items:
        if STORE_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.store)


@pytest.fixture(autouse=True)
def _secrets_of_this_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget after each test the secrets registered for redaction during it (an emulator's
    tokens, a test's passwords). The registry is process-wide and each registration compiles
    one pattern of them all: kept for a whole suite, registering grows quadratically."""
    from ..net import redaction

    monkeypatch.setattr(redaction, "_secrets", set(redaction._secrets))
    monkeypatch.setattr(redaction, "_pattern", redaction._pattern)


@pytest.fixture(autouse=True)
def _resources_of_this_test() -> Iterator[None]:
    """Close after each test the resources the host kept per integration (``resource_for``),
    and drop the OAuth2 tokens and in-memory integration states of the process: the next test
    builds its own, as a new process would, whatever settings it shares with this one."""
    from ..models import MEMORY_STATES
    from ..net.oauth2 import forget_tokens
    from ..resources import close_resources

    yield
    close_resources()
    forget_tokens()
    MEMORY_STATES.clear()


@pytest.fixture
def scf_database(tmp_path: Path) -> str:
    """The database URL for this test's store: ``$SCF_TEST_DATABASE_URL`` with every table
    dropped, else a new ``scf.db`` in the test's folder."""
    from .databases import fresh_database

    return fresh_database(tmp_path)


@pytest.fixture
def harness(tmp_path: Path, scf_database: str) -> Iterator[Callable[..., Harness]]:
    """Make a :class:`~scf_plugins.testing.harness.Harness`: ``harness(CONFIG, **options)``.

    The first one is in the test's folder on ``scf_database``; each further one (a second
    host, chained to the first) has a folder and a SQLite store of its own unless given
    ``folder=`` and ``database=``. All are closed when the test ends.
    """
    from .databases import fresh_sqlite
    from .harness import Harness

    made: list[Harness] = []

    def make(config: Any, **options: Any) -> Harness:
        first = not made
        folder = options.pop("folder", tmp_path if first else tmp_path / f"host{len(made) + 1}")
        if "database" not in options:
            options["database"] = scf_database if first else fresh_sqlite(folder)
        made.append(Harness(folder, config, **options))
        return made[-1]

    yield make
    for each in reversed(made):
        each.close()
