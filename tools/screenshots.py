"""`make screenshots`: PNGs of the console's main screens under docs/console/, taken in
Debian's chromium from the running console (CONSOLE_URL) with a tenant made for them.

    python tools/screenshots.py [--out docs/console]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from testkit import platform
from testkit.browser import chromium
from testkit.platform import Tenant

ROOT = Path(__file__).resolve().parents[1]


async def seed(tenant: Tenant) -> dict[str, Any]:
    """Customers, groups, a sent campaign and a scheduled one: screens with something in them."""
    api = tenant.admin.recipients
    rows = [
        {"email": tenant.address(f"c{i}"), "last_name": name, "first_name": given,
         "company": f"取引先{i}株式会社"}
        for i, (name, given) in enumerate(
            [("山田", "太郎"), ("田中", "花子"), ("伊藤", "健"), ("渡辺", "愛"), ("中村", "翔")]
        )
    ]  # fmt: skip
    customers = await platform.add_customers(api, rows)
    groups = [
        await platform.add_group(api, "得意先 東京", customers[:3]),
        await platform.add_group(api, "得意先 大阪", customers[3:]),
        await platform.add_group(api, "配信除外", customers[4:]),
    ]
    body = {
        "name": "新サービス案内",
        "subject": "{{ last_name }}様 新サービスのご案内",
        "text_body": "{{ full_name }} 様\n\n新サービスのご案内です: https://www.example.com/new",
        "html_body": '<p>{{ full_name }} 様</p><p><a href="https://www.example.com/new">詳しく</a></p>',
        "recipients": {"include_group_ids": groups[:2], "exclude_group_ids": groups[2:]},
    }  # fmt: skip
    composer = tenant.admin.composer
    sent = await platform.send_now(composer, customers[:0], **body)
    scheduled = await composer.call(
        "POST", "/v1/campaigns", json=body | {"subject": "年末のご挨拶"}
    )
    await composer.call(
        "POST",
        f"/v1/campaigns/{scheduled['id']}/schedule",
        json={"send_at": platform.in_seconds(86400 * 2)},
    )
    return {"sent": sent.id, "groups": groups}


async def shoot(page: Page, out: Path, name: str, path: str) -> None:
    await page.goto(platform.LOCAL.console + path)
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"screenshots: {out / (name + '.png')}", flush=True)


async def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tenant = await platform.new_tenant("株式会社デモ商事")
    password = secrets.token_urlsafe(12)
    await tenant.admin.composer.call(
        "PUT", f"/v1/users/{tenant.admin.id}/password", json={"new_password": password}
    )
    seeded = await seed(tenant)
    with tempfile.TemporaryDirectory() as profile:
        async with chromium(Path(profile)) as context:
            page = context.pages[0] if context.pages else await context.new_page()
            await shoot(page, out, "login", "/login")
            await page.get_by_label("メールアドレス").fill(tenant.admin.email)
            await page.get_by_label("パスワード").fill(password)
            await page.get_by_role("button", name="ログイン").click()
            await page.wait_for_url("**/campaigns**")
            await shoot(page, out, "sent", "/campaigns?folder=sent&view=list")
            await shoot(page, out, "schedule-calendar", "/campaigns?folder=scheduled")
            await shoot(page, out, "campaign-progress", f"/campaigns/{seeded['sent']}")
            await page.goto(platform.LOCAL.console + "/campaigns/new")
            await page.get_by_label("件名", exact=True).fill("{{ last_name }}様 春のご案内")
            await page.get_by_role("button", name="+追加/管理").click()
            for name, verb in (("得意先 東京", "送信"), ("配信除外", "送信しない")):
                await page.get_by_role("button", name=f"{verb}: {name}", exact=True).click()
            await page.screenshot(path=str(out / "recipients.png"), full_page=True)
            await page.get_by_role("link", name="確認").click()
            await page.screenshot(path=str(out / "compose.png"), full_page=True)
            await page.get_by_role("button", name="下書き保存").click()
            await page.screenshot(path=str(out / "compose-errors.png"), full_page=True)
            await shoot(page, out, "customers", "/customers")
            await shoot(page, out, "import", "/customers-import")
            await shoot(page, out, "users", "/settings/users")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    asyncio.run(run(parser.parse_args().out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
