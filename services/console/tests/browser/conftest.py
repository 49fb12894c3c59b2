"""The console in a real browser (Debian's chromium driven by Playwright, testkit.browser),
against a running console at CONSOLE_URL (the local stack's by default). The tests reach
the platform only through the browser, the public APIs and the dev sink; a tenant's first
admin gets a password from the operator command, as every new tenant does.

Every page a test visits is watched: a JavaScript error or a console error fails the test."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from testkit import platform
from testkit.browser import CONSOLE_URL, chromium
from testkit.platform import Customer, Tenant, User

PASSWORD = "browser-test-password"


@dataclass
class World:
    """A tenant of its own: staff with passwords, customers, groups, a registered sender."""

    tenant: Tenant
    manager: User
    member: User
    customers: list[Customer]
    groups: dict[str, str]
    sender_name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def admin(self) -> User:
        return self.tenant.admin


async def set_first_password(email: str) -> None:
    """The operator's command, as for a new tenant's first admin (password on stdin)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "composer", "set-password", "--email", email],
        input=PASSWORD + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


async def give_password(tenant: Tenant, user: User) -> None:
    await tenant.admin.composer.call(
        "PUT", f"/v1/users/{user.id}/password", json={"new_password": PASSWORD}
    )


@pytest.fixture(scope="module")
async def world() -> World:
    tenant = await platform.new_tenant("ブラウザ試験株式会社")
    await set_first_password(tenant.admin.email)
    manager = await tenant.add_user("営業 花子", "manager", "営業部 花子")
    member = await tenant.add_user("佐藤 一郎", "member", "佐藤 一郎")
    for user in (manager, member):
        await give_password(tenant, user)
    api = tenant.admin.recipients
    rows = [
        {"email": tenant.address(f"c{i}"), "last_name": "山田", "first_name": f"{i}郎"}
        for i in range(6)
    ]
    customers = await platform.add_customers(api, rows)
    groups = {
        "A": await platform.add_group(api, "得意先A", customers[0:3]),
        "B": await platform.add_group(api, "得意先B", customers[3:5]),
        "除外": await platform.add_group(api, "除外リスト", customers[4:5]),
    }
    for n in range(1, 14):
        groups[f"空{n}"] = await platform.add_group(api, f"空グループ{n:02d}")
    sender_name = "サポート窓口"
    await tenant.admin.composer.call(
        "POST",
        "/v1/senders",
        json={"name": sender_name, "email": tenant.staff_address("support")},
    )
    return World(tenant, manager, member, customers, groups, sender_name)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    """A fresh browser (its own profile) whose console errors and page errors fail the test."""
    problems: list[str] = []
    async with chromium(tmp_path / "profile") as context:
        page = context.pages[0] if context.pages else await context.new_page()
        page.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text} on {page.url}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e} on {page.url}"))
        yield page
    assert not problems, "\n".join(problems)


async def sign_in(page: Page, user: User, password: str = PASSWORD) -> None:
    await page.goto(CONSOLE_URL + "/login")
    await page.get_by_label("メールアドレス").fill(user.email)
    await page.get_by_label("パスワード").fill(password)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_url("**/campaigns**")
