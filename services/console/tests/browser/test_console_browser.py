"""What a person sees in the console: signing in, composing with groups and exclusions,
the 15-group limit, the sender rules of each role, scheduling, the calendar, cancelling,
sending with live progress down to the mails in the sink, and a CSV import's report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from testkit import sink

from .conftest import CONSOLE_URL, World, sign_in


async def test_sign_in_shows_errors_by_the_field_and_signs_out(page: Page, world: World) -> None:
    await page.goto(CONSOLE_URL + "/campaigns")
    await expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    await page.get_by_label("メールアドレス").fill(world.admin.email)
    await page.get_by_label("パスワード").fill("not the password")
    await page.get_by_role("button", name="ログイン").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("入力内容に問題があります")
    await expect(page.locator("#password-error")).to_contain_text(
        "メールアドレスまたはパスワードが正しくありません"
    )
    await sign_in(page, world.admin)
    await expect(page.get_by_role("heading", name="一斉メール", exact=True)).to_be_visible()
    await expect(page.locator(".header__user")).to_contain_text(world.admin.name)
    await page.get_by_role("button", name="ログアウト").click()
    await expect(page.get_by_text("ログアウトしました")).to_be_visible()
    await page.goto(CONSOLE_URL + "/campaigns")
    await expect(page.get_by_role("heading", name="ログイン")).to_be_visible()


async def choose(page: Page, row: str, button: str) -> None:
    # Each button names its row for screen readers: "送信: 得意先A".
    await page.get_by_role("button", name=f"{button}: {row}", exact=True).click()


async def test_compose_with_groups_exclusions_and_the_group_limit(page: Page, world: World) -> None:
    await sign_in(page, world.admin)
    await page.get_by_role("link", name="一斉メールを作成する").click()
    await page.get_by_label("件名", exact=True).fill(f"秋のご案内 {world.tenant.marker}")
    await page.get_by_label("本文（テキスト）").fill("{{ last_name }} 様\n\nご案内です。")
    await page.get_by_role("button", name="+追加/管理").click()
    await expect(page.locator("#groups")).to_contain_text("0 / 最大15個")
    await choose(page, "得意先A", "送信")
    await choose(page, "得意先B", "送信")
    await choose(page, "除外リスト", "送信しない")
    await page.get_by_label("顧客情報・顧客グループを検索").fill(world.customers[1].email)
    await page.get_by_role("button", name="検索").click()
    await choose(page, world.customers[1].email, "送信しない")
    await expect(page.locator("#groups")).to_contain_text("3 / 最大15個")
    await page.get_by_label("顧客情報・顧客グループを検索").fill("空グループ")
    await page.get_by_role("button", name="検索").click()
    for n in range(1, 13):
        await choose(page, f"空グループ{n:02d}", "送信")
    await expect(page.locator("#groups")).to_contain_text("15 / 最大15個")
    await expect(page.locator("#groups")).to_contain_text("上限に達しました")
    await choose(page, "空グループ13", "送信")
    await expect(page.locator(".error-summary")).to_contain_text("15個までです")
    await expect(page.locator("#groups-error")).to_contain_text("15個までです")
    await expect(
        page.get_by_role("button", name="送信: 空グループ13", exact=True)
    ).to_have_attribute("aria-pressed", "false")

    await page.get_by_role("link", name="確認").click()
    chosen = page.locator("#chosen")
    await expect(chosen).to_contain_text("得意先A — 送信")
    await expect(chosen).to_contain_text("除外リスト — 送信しない")
    await expect(chosen).to_contain_text(f"{world.customers[1].email} — 送信しない")
    # A, B minus the excluded group's member and the customer left out one by one.
    await expect(page.locator("#audience")).to_contain_text("送信対象: 3人")
    await page.get_by_role("button", name="下書き保存").click()
    await expect(page.get_by_role("status")).to_contain_text("下書きを保存しました")
    await expect(page.get_by_label("件名", exact=True)).to_have_value(
        f"秋のご案内 {world.tenant.marker}"
    )


async def test_a_composition_missing_its_subject_shows_the_error_by_the_field(
    page: Page, world: World
) -> None:
    await sign_in(page, world.member)
    await page.get_by_role("link", name="一斉メールを作成する").click()
    await page.get_by_role("button", name="下書き保存").click()
    await expect(page.locator(".error-summary")).to_be_visible()
    await expect(page.locator("#subject-error")).to_contain_text("必須項目です")
    await expect(page.locator("#recipients")).to_contain_text("宛先を選択してください")


async def test_only_managers_are_offered_to_change_the_sender(page: Page, world: World) -> None:
    await sign_in(page, world.member)
    await page.get_by_role("link", name="一斉メールを作成する").click()
    await expect(page.locator("#sender-shown")).to_contain_text(world.member.email)
    await expect(page.get_by_role("button", name="変更")).to_have_count(0)
    await page.get_by_role("button", name="ログアウト").click()

    await sign_in(page, world.manager)
    await page.get_by_role("link", name="一斉メールを作成する").click()
    await expect(page.locator("#sender-shown")).to_contain_text(world.manager.email)
    await page.get_by_role("button", name="変更").click()
    await expect(page.get_by_role("heading", name="送信者設定")).to_be_visible()
    await page.get_by_label(world.sender_name, exact=False).check()
    await page.get_by_role("button", name="確認").click()
    await expect(page.locator("#sender-shown")).to_contain_text(world.sender_name)
    await expect(page.locator("#sender-shown")).to_contain_text("代理送信")


async def draft_to_groups(world: World) -> dict[str, str]:
    """A draft made through the public API, as another client of the platform would."""
    body = {
        "subject": f"{{{{ last_name }}}}様 週末セール {world.tenant.marker}",
        "text_body": "{{ full_name }} 様\n\n週末セールのご案内です。",
        "recipients": {
            "include_group_ids": [world.groups["A"], world.groups["B"]],
            "exclude_group_ids": [world.groups["除外"]],
            "excluded_customer_ids": [world.customers[1].id],
        },
    }
    return dict(await world.admin.composer.call("POST", "/v1/campaigns", json=body))


async def open_campaign(page: Page, folder: str, subject: str) -> None:
    await page.goto(f"{CONSOLE_URL}/campaigns?folder={folder}&view=list")
    await page.get_by_role("link", name=subject).click()


async def test_schedule_find_in_calendar_cancel_then_send_now(page: Page, world: World) -> None:
    draft = await draft_to_groups(world)
    subject = draft["subject"]
    await sign_in(page, world.admin)
    await open_campaign(page, "drafts", subject)
    await page.get_by_role("link", name="編集").click()
    await page.get_by_role("button", name="予約送信").click()

    tomorrow = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)).date()
    await expect(page.get_by_label("日付", exact=True)).to_have_value(tomorrow.isoformat())
    await page.get_by_label("時間", exact=True).fill("09:00")
    await page.get_by_role("button", name="確認して送信").click()
    await expect(page.get_by_role("status")).to_contain_text("メールを予約しました")
    await expect(page.locator("#scheduled-for")).to_contain_text(f"{tomorrow.isoformat()} 09:00")

    await page.get_by_role("link", name="予約").first.click()
    await expect(page.get_by_role("link", name="カレンダー")).to_have_attribute(
        "aria-current", "page"
    )
    cell = page.locator(f"td[data-date='{tomorrow.isoformat()}']")
    if not await cell.count() or tomorrow.day == 1:
        await page.get_by_role("link", name="次の月").click()
    await expect(cell.get_by_role("link")).to_contain_text(f"09:00 {subject}")

    await cell.get_by_role("link", name=f"09:00 {subject}").click()
    await page.get_by_role("button", name="送信キャンセル").click()
    await expect(page.get_by_role("status")).to_contain_text("下書きフォルダに移動しました")
    await expect(page.get_by_role("link", name=subject)).to_be_visible()

    await page.get_by_role("link", name=subject).click()
    await page.get_by_role("link", name="編集").click()
    await page.get_by_role("button", name="今すぐ送信").click()
    await expect(page.locator("#audience")).to_contain_text("送信対象: 3人")
    await page.get_by_role("button", name="確認して送信").click()
    await expect(page.get_by_role("status")).to_contain_text("送信を開始しました")
    await expect(page.locator("#state")).to_have_text("送信済み", timeout=90_000)
    await expect(page.locator("[data-figure='sent']")).to_have_text("3")
    await expect(page.locator("[data-excluded='excluded_group']")).to_have_text("1")
    await expect(page.locator("[data-excluded='excluded_customer']")).to_have_text("1")

    for index in (0, 2, 3):
        await sink.wait_for_mail(world.customers[index].email, campaign_id=draft["id"])
    for index in (1, 4, 5):
        assert not await sink.mail_to(world.customers[index].email, campaign_id=draft["id"])


async def test_a_csv_import_reports_both_bad_rows(page: Page, world: World) -> None:
    marker = world.tenant.marker
    csv = (
        "email,last_name,first_name\n"
        f"new1-{marker}@customers.example.com,鈴木,一郎\n"
        "not-an-address,佐藤,花子\n"
        f"new2-{marker}@customers.example.com,高橋,二郎\n"
        f"new1-{marker}@customers.example.com,鈴木,重複\n"
    )
    await sign_in(page, world.admin)
    await page.get_by_role("link", name="顧客情報", exact=True).click()
    await page.get_by_role("link", name="CSV インポート").click()
    await page.get_by_label("CSV ファイル").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    await page.get_by_role("button", name="インポート").click()
    report = page.locator("#report")
    await expect(report).to_contain_text("インポート結果")
    await expect(page.locator("#rejected-count")).to_have_text("2")
    rows = page.locator("#rejects tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("3")
    await expect(rows.nth(0)).to_contain_text("メールアドレスの形式が正しくありません")
    await expect(rows.nth(1)).to_contain_text("5")
    await expect(rows.nth(1)).to_contain_text("重複しています")


async def test_preview_for_a_customer_and_a_test_to_oneself(page: Page, world: World) -> None:
    # The composer renders a preview from the one recipient that recipients resolves.
    draft = await draft_to_groups(world)
    await sign_in(page, world.admin)
    await open_campaign(page, "drafts", draft["subject"])
    await page.get_by_role("link", name="編集").click()
    await page.get_by_label("プレビュー・テスト送信に使う顧客").fill(world.customers[0].email)
    await page.get_by_role("button", name="プレビュー", exact=True).click()
    await expect(page.locator("#preview-subject")).to_have_text(
        f"山田様 週末セール {world.tenant.marker}"
    )
    await expect(page.locator("#preview-from")).to_contain_text(world.admin.email)
    await expect(page.frame_locator(".preview__frame").locator("body")).to_contain_text(
        "週末セールのご案内です"
    )
    await page.get_by_role("button", name="自分にテスト送信").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"{world.admin.email} にテストメールを送信しました"
    )
    [mail] = await sink.wait_for_mail(world.admin.email)
    assert world.tenant.marker in str(mail.mail["Subject"])
