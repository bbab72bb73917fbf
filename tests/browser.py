"""Neo4j Browser (5.24) in Debian's headless Chromium, driven with Selenium, for the e2e tests.

Debian's chromedriver is named explicitly, so Selenium Manager never tries a download. Browser's
elements are found by their `data-testid`s; d3 binds each drawn node and relationship to its
model (`__data__`), which gives their labels and types.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why Chromium cannot run here (`make test` installs it where apt and root allow), or None."""
    for exe in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(exe) is None:
            return f"{exe} is not installed (apt-get install chromium chromium-driver)"
    return None


def _id(name: str) -> str:
    return f'[data-testid="{name}"]'


def wait_for(find, timeout: float = 60.0, what: str = "a condition"):
    """Poll `find()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = find()
        except (StaleElementReferenceException, WebDriverException):
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Browser:
    """One headless Chromium with Neo4j Browser open."""

    def __init__(self, url: str) -> None:
        self.url = url
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
            opts.add_argument(arg)
        opts.add_argument("--window-size=1600,1000")
        self.driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))

    def close(self) -> None:
        self.driver.quit()

    def body_text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def login(self, bolt_uri: str, user: str, password: str) -> None:
        """Open Browser with the connect URL preset, fill in the form, connect."""
        d = self.driver
        d.get(f"{self.url}?dbms={bolt_uri}")
        # The form stays disabled while Browser first tries to connect by itself.
        field = wait_for(lambda: _ready(d.find_element(By.CSS_SELECTOR, _id("username"))), what="the login form")
        field.clear()
        field.send_keys(user)
        d.find_element(By.CSS_SELECTOR, _id("password")).send_keys(password)
        d.find_element(By.CSS_SELECTOR, _id("connect")).click()
        wait_for(lambda: "You are connected as user" in self.body_text(), what="the login")

    def frames(self) -> list[WebElement]:
        """The stream's frames, newest first."""
        return self.driver.find_elements(By.CSS_SELECTOR, f"{_id('stream')} article{_id('frame')}")

    def local_storage(self, key: str):
        raw = self.driver.execute_script("return localStorage.getItem(arguments[0])", key)
        return json.loads(raw) if raw else None

    def guide(self, title: str) -> WebElement:
        """The `:play` frame whose first slide has `title`."""
        return wait_for(
            lambda: next(
                (f for f in self.frames() if f.find_elements(By.CSS_SELECTOR, _id("carousel")) and title in f.text),
                None,
            ),
            what=f"the guide {title!r}",
        )

    def next_slide(self, guide: WebElement) -> None:
        self.driver.execute_script("arguments[0].click()", guide.find_element(By.CSS_SELECTOR, _id("nextSlide")))

    def run_block(self, block: WebElement, timeout: float = 120.0) -> WebElement:
        """Click the run icon Browser puts before a guide's runnable block (clicking the block
        itself only copies it into the editor); return the frame it made, finished."""
        before = {f.id for f in self.frames()}
        icon = block.find_element(By.CSS_SELECTOR, "i.fa-play-circle-o")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", icon)
        icon.click()
        frame = wait_for(lambda: next((f for f in self.frames() if f.id not in before), None), timeout, "a frame")
        wait_for(lambda: _finished(frame), timeout, "the frame to finish")
        return frame

    def run(self, text: str, timeout: float = 120.0) -> WebElement:
        """Type a command into the editor and run it; return its frame, finished. (Monaco would
        auto-close brackets typed key by key, so the text goes in as one insert.)"""
        before = {f.id for f in self.frames()}
        editor = self.driver.find_element(By.CSS_SELECTOR, f"{_id('activeEditor')} textarea")
        editor.click()
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(Keys.DELETE)
        self.driver.execute_cdp_cmd("Input.insertText", {"text": text})
        editor.send_keys(Keys.CONTROL, Keys.ENTER)
        frame = wait_for(lambda: next((f for f in self.frames() if f.id not in before), None), timeout, "a frame")
        wait_for(lambda: _finished(frame), timeout, "the frame to finish")
        return frame

    def settle(self, frame: WebElement, quiet: float = 0.6, timeout: float = 20.0) -> None:
        """Wait until the force layout stops moving the nodes."""
        script = (
            "return Array.from(arguments[0].querySelectorAll('svg g.node'))"
            ".map(g => g.getAttribute('transform')).join(';')"
        )
        last, since, deadline = None, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.driver.execute_script(script, frame)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.2)

    def drawn_nodes(self, frame: WebElement) -> list[dict]:
        """Each drawn node's caption (its lines joined), fill colour and labels."""
        wait_for(lambda: frame.find_elements(By.CSS_SELECTOR, "svg g.node"), what="drawn nodes")
        return self.driver.execute_script(
            """return Array.from(arguments[0].querySelectorAll('svg g.node')).map(g => {
                 const ring = g.querySelector('circle.b-outline') || g.querySelector('circle');
                 return {caption: Array.from(g.querySelectorAll('text')).map(t => t.textContent.trim()).join(' '),
                         fill: ring.getAttribute('fill'), labels: g.__data__.labels};
               });""",
            frame,
        )

    def drawn_relationships(self, frame: WebElement) -> list[dict]:
        """Each drawn relationship's caption, type and shaft width (the shaft is an outline path
        whose first point lies half a width off the axis)."""
        return self.driver.execute_script(
            """return Array.from(arguments[0].querySelectorAll('svg g.relationship')).map(g => {
                 const shaft = g.querySelector('path.b-outline');
                 const text = g.querySelector('text');
                 const d = shaft.getAttribute('d').match(/-?[0-9.]+/g).map(Number);
                 return {caption: text ? text.textContent : null, type: g.__data__.type,
                         width: 2 * Math.abs(d[1])};
               });""",
            frame,
        )

    def screenshot(self, frame: WebElement, path: Path) -> None:
        frame.screenshot(str(path))


def _ready(element: WebElement) -> WebElement | None:
    return element if element.is_displayed() and element.is_enabled() else None


def _finished(frame: WebElement) -> bool:
    """No spinner, no statement of a multi-statement frame still waiting, contents shown."""
    if frame.find_elements(By.CSS_SELECTOR, _id("spinner")):
        return False
    icons = frame.find_elements(By.CSS_SELECTOR, _id("multi-statement-list-icon"))
    if any(i.get_attribute("title") in ("Status: waiting", "Status: pending") for i in icons):
        return False
    if frame.find_elements(By.CSS_SELECTOR, _id("multi-statement-list")) and not icons:
        return False
    return bool(frame.find_elements(By.CSS_SELECTOR, _id("frameContents")))
