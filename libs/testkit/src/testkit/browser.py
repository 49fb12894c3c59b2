"""Debian's chromium driven by Playwright, as the console's browser tests and screenshots
use it. Playwright never downloads a browser here: it launches /usr/bin/chromium (the
Debian package `chromium`, installed by deploy/local/install.sh)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext, async_playwright

from testkit.platform import LOCAL

CONSOLE_URL = LOCAL.console
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google's services, which
# a closed network refuses (and the page's console reports).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@asynccontextmanager
async def chromium(
    profile: Path, *, width: int = 1280, height: int = 900
) -> AsyncIterator[BrowserContext]:
    """A browser with a fresh profile in `profile`, Japanese as its language."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="ja-JP",
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()
