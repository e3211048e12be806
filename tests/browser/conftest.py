"""The console in a real browser: Debian's ``chromium``, headless, driven through its
``chromium-driver`` by selenium; one browser for the whole run, a fresh console (emulator,
store, ``scf serve``) and a signed-out browser for each test.

These tests are marked ``browser`` and left out of a run unless it asks for them: ``-m``
naming ``browser`` (``make test-browser`` runs ``-m browser``), or a path inside this folder.
Where the browser or its driver is missing they are skipped with the reason (``-rs`` prints
it); under ``CI=true`` that is a failure instead, since CI installs both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from scf_plugins.testing import Harness

from .person import Person
from .site import Site, start_site

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDE = (1280, 900)
# No first-run screens, no calls home, no GPU: a quiet browser that talks only to the
# console under test (this machine reaches nothing else).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _asked_for(config: pytest.Config) -> bool:
    """Whether this run asks for the browser tests: ``-m`` names them, or a path given on
    the command line is in (or is) this folder."""
    if "browser" in (config.option.markexpr or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)  # before `-m` chooses by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``browser`` every test in this folder, and leave them out unless asked for."""
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    if mine and not _asked_for(config):
        config.hook.pytest_deselected(items=mine)
        left_out = set(mine)
        items[:] = [item for item in items if item not in left_out]


def _missing() -> str | None:
    """What of the browser is missing here, in a sentence; None when both are installed."""
    absent = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not absent:
        return None
    return (
        f"{' and '.join(absent)} not installed: the browser tests drive Debian's chromium "
        f"through chromium-driver (apt-get install chromium chromium-driver; .ci/run does)"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium at 1280x900, with a profile of its own thrown away at the end."""
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {missing}", pytrace=False)
        pytest.skip(missing)
    # selenium must not look for (or download) a driver of its own: this one is Debian's.
    os.environ["SE_OFFLINE"] = "true"
    with tempfile.TemporaryDirectory(prefix="scf-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={WIDE[0]},{WIDE[1]}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def make_site(harness: Callable[..., Harness]) -> Callable[..., Site]:
    """Serve a console: ``make_site(password=False)`` leaves the integration without its
    test password (an administrator saves it in the console); ``extra`` and ``tail`` add to
    its config (:func:`.site.start_site`)."""

    def make(password: bool = True, extra: str = "", tail: str = "") -> Site:
        return start_site(harness, password=password, extra=extra, tail=tail)

    return make


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    """A console whose integration has its password, with its request types loaded."""
    return make_site()


@pytest.fixture
def fresh_browser(browser: WebDriver) -> WebDriver:
    """The session's browser signed out of everything, at the wide size: every console here
    is on 127.0.0.1, and cookies do not tell ports apart."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return browser


@pytest.fixture
def person(fresh_browser: WebDriver, site: Site) -> Person:
    """Someone at ``site``'s console, not signed in."""
    return Person(fresh_browser, site.url)


@pytest.fixture
def person_at(fresh_browser: WebDriver) -> Callable[[Site], Person]:
    """Someone, not signed in, at the console of a site the test made itself
    (``person_at(make_site(password=False))``)."""

    def meet(site: Site) -> Person:
        return Person(fresh_browser, site.url)

    return meet
