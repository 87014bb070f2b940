"""Headless Chromium from the distribution (/usr/bin/chromium), driven by Playwright.

Playwright's own browser builds are never downloaded (CI cannot): it is pointed at the
system's Chromium. A page is opened at a phone's width; everything the browser reports that
went wrong (console errors, uncaught exceptions, failed or refused requests) is collected
so a test can assert there was none. Screenshots go to var/screenshots (a CI artefact).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("QUNSHOP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(
    os.environ.get("QUNSHOP_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var/screenshots")
)


def available() -> bool:
    return bool(shutil.which(CHROMIUM))


# The mark of a module whose tests drive the browser (the ``chromium`` fixture, conftest).
NEEDED = pytest.mark.skipif(
    not available(), reason=f"no Chromium at {CHROMIUM} (.ci/run installs it)"
)


@dataclass
class Watched:
    page: Page
    problems: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def fits_phone(self) -> bool:
        """Nothing scrolls sideways at 375 px."""
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        return int(width) <= PHONE["width"]

    async def unlabelled_fields(self) -> list[str]:
        """Form fields a screen reader could not name (no label, aria-label or title)."""
        return await self.page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(e => e.type !== 'hidden' && e.type !== 'submit')
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                              && !e.getAttribute('title'))
                 .map(e => e.name || e.id || e.outerHTML)"""
        )


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser: Browser) -> Watched:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = await context.new_page()
    watched = Watched(page)
    page.on(
        "console",
        lambda m: (
            watched.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: watched.problems.append(f"page error: {e}"))
    page.on(
        "requestfailed",
        lambda r: watched.problems.append(f"failed request: {r.url} {r.failure}"),
    )
    return watched
