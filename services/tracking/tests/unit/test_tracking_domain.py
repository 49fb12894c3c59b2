"""Machine rules, click destinations and bounce classification."""

from __future__ import annotations

import pytest

from tracking.domain import (
    MachineRules,
    click_machine_reason,
    enhanced_status,
    open_machine_reason,
    redirect_target,
)

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
RULES = MachineRules(click_machine_seconds=10)


@pytest.mark.parametrize(
    ("user_agent", "reason"),
    [
        (CHROME, None),
        (IPHONE_MAIL, None),
        ("Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36", None),
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)",
            "image_proxy:google",
        ),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            "image_proxy:yahoo",
        ),
        ("Mozilla/5.0", "image_proxy:apple"),
        ("", "no_user_agent"),
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", "scanner:barracuda"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "scanner:bot"),
        ("Mozilla/5.0 HeadlessChrome/120.0", "scanner:headless"),
    ],
)
def test_open_machine_rules(user_agent, reason):
    assert open_machine_reason(user_agent) == reason


def test_image_proxies_only_flag_opens():
    assert (
        click_machine_reason(
            "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", sent_at=0, now=3600, rules=RULES
        )
        is None
    )


def test_click_within_the_window_after_sending_is_a_machine():
    assert click_machine_reason(CHROME, sent_at=1000, now=1009.5, rules=RULES) == "fast_click"
    assert click_machine_reason(CHROME, sent_at=1000, now=1010, rules=RULES) is None


def test_scanner_reason_wins_over_fast_click():
    reason = click_machine_reason("Mimecast URL check", sent_at=1000, now=1001, rules=RULES)
    assert reason == "scanner:mimecast"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("HTTP://Example.com", "http://Example.com"),
        (
            "https://example.com/ページ?q=日本",
            "https://example.com/%E3%83%9A%E3%83%BC%E3%82%B8?q=%E6%97%A5%E6%9C%AC",
        ),
        ("https://例え.jp/path", "https://xn--r8jz45g.jp/path"),
        ("https://example.com:8443/x%20y", "https://example.com:8443/x%20y"),
    ],
)
def test_web_destinations_are_served_ascii(url, location):
    assert redirect_target(url) == location


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "//evil.example/",
        "/relative/path",
        "https:///no-host",
        "https://example.com/\r\nSet-Cookie: x=1",
        "https://example.com/a b",
        " https://example.com/",
        "https://example.com:99999/",
    ],
)
def test_other_destinations_are_refused(url):
    assert redirect_target(url) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("5.1.1", "5.1.1"),
        ("4.7.1 (delivery temporarily suspended)", "4.7.1"),
        ("5.1.10", "5.1.10"),
        ("smtp; 550", None),
        ("", None),
        ("6.1.1", None),
    ],
)
def test_enhanced_status_is_read_from_the_start_of_the_field(text, code):
    assert enhanced_status(text) == code
