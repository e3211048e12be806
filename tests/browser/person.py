"""A person at the console in a browser: they find fields by their labels, buttons and links
by their words, and headings by what they say; never by a CSS class or an id. The keyboard
half (:class:`Keyboard`) does what someone without a mouse does: Tab, Shift+Tab, Enter, Space,
and typing into whatever has the focus."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from scf_plugins.testing import wait_for

PHONE = (375, 812)
# Where a control's own words sit: its text, or a submit input's value.
_BUTTON = (
    "//button[normalize-space()={t}] | //input[(@type='submit' or @type='button') and @value={t}]"
)
# The control (in the element given, else the page) one of whose labels says the words: the
# browser's own tie between a label and its control (`labels`), exact words first.
_LABELLED = """
const [words, scope] = arguments;
const controls = [...(scope || document).querySelectorAll('input, select, textarea')];
const said = (e) => [...(e.labels || [])].map((l) => l.innerText.trim().replace(/\\s+/g, ' '));
return controls.find((e) => said(e).includes(words))
    || controls.find((e) => said(e).some((s) => s.startsWith(words))) || null;
"""
# The smallest boxes that group a control with the words it belongs to.
_GROUPS = "//form | //fieldset | //section | //article | //tr | //li | //dd | //div"


def literal(text: str) -> str:
    """``text`` as an XPath string literal (XPath 1.0 has no escapes: concat() the quotes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


class Person:
    """Someone using the console at ``root`` (``http://127.0.0.1:PORT``) through ``driver``."""

    def __init__(self, driver: WebDriver, root: str) -> None:
        self.driver = driver
        self.root = root
        self.keys = Keyboard(driver)

    # -- where they are -----------------------------------------------------------------------

    def open(self, path: str) -> None:
        """Go to ``path`` (from the server's root) as if typed into the address bar."""
        self.driver.get(self.root + path)

    @property
    def path(self) -> str:
        """The path of the page shown (no query)."""
        return urlsplit(self.driver.current_url).path

    @property
    def text(self) -> str:
        """Everything the page says, as rendered."""
        # Read in one script, so a page being replaced (a form just sent) never leaves a
        # stale element in between: the text is the old page's or the new one's.
        return str(
            self.driver.execute_script("return document.body ? document.body.innerText : ''")
        )

    @property
    def heading(self) -> str:
        """The page's one top-level heading."""
        [h1] = self.driver.find_elements(By.TAG_NAME, "h1")
        return str(h1.text)

    def sees(self, words: str) -> bool:
        """Whether the page says ``words`` anywhere."""
        return words in self.text

    def waits_to_see(self, words: str, timeout: float = 10.0, *, reload: bool = False) -> None:
        """Wait until the page says ``words``; ``reload`` reloads it between looks, as someone
        waiting for the engine to do something presses F5."""

        def seen() -> bool:
            if self.sees(words):
                return True
            if reload:
                self.driver.refresh()
            return False

        wait_for(seen, timeout, f"the page at {self.path} to say {words!r}")

    # -- what they find -----------------------------------------------------------------------

    def field(self, label: str, within: WebElement | None = None) -> WebElement:
        """The form control whose visible ``<label>`` says ``label`` (exactly, else starting
        with it: a label may add a hint after the name), as the browser ties them together."""
        found = self.driver.execute_script(_LABELLED, label, within)
        if found is None:
            raise NoSuchElementException(f"no field labelled {label!r} on {self.path}")
        return found  # type: ignore[no-any-return]

    def button(self, words: str, within: WebElement | None = None) -> WebElement:
        """The button that says ``words`` (the only one, or the only one ``within``)."""
        scope = within or self.driver
        found = scope.find_elements(By.XPATH, self._button_xpath(words))
        if len(found) != 1:
            raise NoSuchElementException(f"{len(found)} buttons say {words!r} on {self.path}")
        return found[0]

    @staticmethod
    def _button_xpath(words: str) -> str:
        """The buttons that say ``words``, below the element searched from."""
        return " | ".join(
            "." + part.strip() for part in _BUTTON.format(t=literal(words)).split("|")
        )

    def buttons(self) -> list[str]:
        """What every button on the page says, in order."""
        found = self.driver.find_elements(
            By.XPATH, "//button | //input[@type='submit' or @type='button']"
        )
        return [b.text or (b.get_attribute("value") or "") for b in found]

    def link(self, words: str) -> WebElement:
        """The link that says ``words`` (the first, in reading order)."""
        return self.driver.find_element(By.XPATH, f"//a[normalize-space()={literal(words)}]")

    def group(self, words: str, having: str | None = None) -> WebElement:
        """The smallest form, section, row or list item whose text contains ``words`` (and,
        given ``having``, a button that says it): where a control belongs to those words."""
        found = self.driver.find_elements(
            By.XPATH, f"({_GROUPS})[contains(normalize-space(.), {literal(words)})]"
        )
        if having is not None:
            found = [e for e in found if e.find_elements(By.XPATH, self._button_xpath(having))]
        if not found:
            raise NoSuchElementException(f"nothing on {self.path} says {words!r}")
        return min(found, key=lambda e: len(e.text))

    # -- what they do with a mouse ------------------------------------------------------------

    def fill(self, label: str, value: str, within: WebElement | None = None) -> None:
        """Type ``value`` into the field labelled ``label`` (emptied first)."""
        box = self.field(label, within)
        box.clear()
        box.send_keys(value)

    def press(self, words: str, within: WebElement | None = None) -> None:
        """Click the button that says ``words``."""
        self.button(words, within).click()

    def sign_in(self, name: str, password: str) -> None:
        """Sign in on the sign-in page, and wait to be let in (or turned away)."""
        self.open("/console/login")
        self.fill("Username", name)
        self.fill("Password", password)
        self.press("Sign in")

    # -- what the page is like ----------------------------------------------------------------

    def use_phone(self) -> None:
        """Make the window a phone's: 375 by 812 CSS pixels, a touch screen that honours the
        page's viewport tag (without one a phone lays a page out 980 px wide and shrinks it).
        The ``fresh_browser`` fixture puts the wide window back for the next test."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True},
        )
        self.driver.refresh()

    def scrolls_sideways(self) -> bool:
        """Whether the page is wider than the window (a person would scroll sideways)."""
        return bool(
            self.driver.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth"
                " || document.body.scrollWidth > window.innerWidth"
            )
        )

    def screenshot(self, path: Path, most: int = 2000) -> None:
        """Save the page as a PNG at ``path``: as wide as the window, and as tall as the page
        down to ``most`` CSS pixels (a README shows the top of a long page). The window is
        made as tall as the page for the picture, so no scroll bar takes a strip of it."""
        width, height = self.driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollHeight]"
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
        path.parent.mkdir(parents=True, exist_ok=True)
        image.crop((0, 0, image.width, min(image.height, most))).save(path, optimize=True)

    def cookies(self) -> list[dict[str, Any]]:
        """The cookies the browser keeps for this page, with their flags."""
        return list(self.driver.get_cookies())


class Keyboard:
    """The keyboard alone: every key goes to whatever has the focus, as it does for a person
    (ActionChains, never a click or an element chosen by the test)."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    def press(self, *keys: str) -> None:
        """Press ``keys`` one after another (``Keys.TAB``, text to type, ...)."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def tab(self, times: int = 1) -> None:
        """Tab forward ``times``."""
        self.press(*[Keys.TAB] * times)

    def back_tab(self) -> None:
        """Shift+Tab: the focus goes back one."""
        ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(
            Keys.SHIFT
        ).perform()

    def type(self, text: str) -> None:
        """Type ``text`` into the focused control."""
        self.press(text)

    def enter(self) -> None:
        """Press Enter (a link followed, a form sent)."""
        self.press(Keys.ENTER)

    def space(self) -> None:
        """Press Space (a button pressed, a box ticked)."""
        self.press(Keys.SPACE)

    @property
    def focused(self) -> WebElement:
        """What has the focus now."""
        return self.driver.switch_to.active_element

    def describe(self) -> str:
        """What has the focus, in words, as a screen reader names it: its ``aria-label``, else
        its label, else its text or value."""
        return str(
            self.driver.execute_script(
                "const e = document.activeElement; if (!e) return '';"
                "const l = e.labels && e.labels.length ? e.labels[0].innerText : '';"
                "return (e.getAttribute('aria-label') || l || e.innerText || e.value || '')"
                ".trim();"
            )
        )

    def focus_is_visible(self) -> bool:
        """Whether the focused element is drawn as focused: ``:focus-visible`` matches and it
        has an outline (or a ring drawn as a box shadow) that the eye can see."""
        return bool(
            self.driver.execute_script(
                "const e = document.activeElement;"
                "if (!e || e === document.body || !e.matches(':focus-visible')) return false;"
                "const s = getComputedStyle(e);"
                "const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;"
                "return outline || (s.boxShadow && s.boxShadow !== 'none');"
            )
        )

    def tab_to(self, words: str, limit: int = 80, *, starts: bool = False) -> None:
        """Tab until the focus is on the control that says ``words`` (its label, text or
        value; ``starts``: begins with them), checking on the way that every stop is drawn
        as focused.

        :raises AssertionError: when ``limit`` Tabs never reach it, or a stop is not visible.
        """
        seen: list[str] = []
        for _ in range(limit):
            self.tab()
            if self.driver.execute_script("return document.activeElement === document.body"):
                # Past the last control the focus leaves the page; the next Tab comes back.
                if "(the end of the page)" in seen:
                    break
                seen.append("(the end of the page)")
                continue
            here = self.describe()
            assert self.focus_is_visible(), f"the focus on {here!r} is not visible"
            if here == words or (starts and here.startswith(words)):
                return
            seen.append(here)
        raise AssertionError(
            f"Tab never reached {words!r} on {self.driver.current_url}; it went: {seen}"
        )

    def in_main(self) -> bool:
        """Whether the focus is in (or on) the page's ``main`` landmark."""
        return bool(
            self.driver.execute_script(
                "const m = document.querySelector('main');"
                "return !!m && m.contains(document.activeElement);"
            )
        )
