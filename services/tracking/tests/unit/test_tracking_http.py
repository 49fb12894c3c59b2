"""The public endpoints over real HTTP (the fast server and the app), with a fake Kafka."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import quote

import pytest
from tracking_tests_fakes import Client, sign

from contracts import Clicked, Opened, Unsubscribed
from servicekit.tokens import Kind
from tracking.domain import PIXEL

DEST = "https://shop.example/sale?item=42&ref=mail"


@pytest.fixture
def client(fresh):
    c = Client(fresh.port)
    yield c
    c.close()


def test_pixel_is_the_43_byte_gif_and_records_the_open(fresh, client):
    status, headers, body = client.request(
        "GET", f"/o/{sign(Kind.OPEN)}", headers={"User-Agent": "Thunderbird/128"}
    )
    assert (status, body, len(body)) == (200, PIXEL, 43)
    assert headers["content-type"] == "image/gif"
    assert "no-store" in headers["cache-control"] and "date" in headers
    [event] = fresh.publisher.events
    assert isinstance(event, Opened) and event.user_agent == "Thunderbird/128"


@pytest.mark.parametrize(
    "token", ["", "x", "AAAA", sign(Kind.CLICK, url=DEST), sign(Kind.OPEN)[:-2]]
)
def test_pixel_with_a_bad_token_is_still_an_image_but_no_event(fresh, client, token):
    status, headers, body = client.request("GET", f"/o/{token}")
    assert (status, body, headers["content-type"]) == (200, PIXEL, "image/gif")
    assert fresh.publisher.events == []


def _replayed(port: int, kind: str) -> float:
    text = Client(port).request("GET", "/metrics")[2].decode()
    match = re.search(rf'^tracking_replayed_hits_total{{kind="{kind}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_pixel_replayed_beyond_the_bound_is_answered_but_makes_no_event(fresh, client):
    token = sign(Kind.OPEN, seed=71)
    before = _replayed(fresh.internal_port, "open")
    answers = [client.request("GET", f"/o/{token}")[2] for _ in range(25)]
    assert answers == [PIXEL] * 25
    assert len(fresh.publisher.events) == 20  # HIT_REPLAY_LIMIT's default
    assert _replayed(fresh.internal_port, "open") == before + 5
    assert client.request("GET", f"/o/{sign(Kind.OPEN, seed=72)}")[0] == 200
    assert len(fresh.publisher.events) == 21, "another token is not affected"


def test_a_link_replayed_beyond_the_bound_still_redirects_without_event(fresh, client):
    token = sign(Kind.CLICK, url=DEST, seed=73)
    before = _replayed(fresh.internal_port, "click")
    locations = [client.request("GET", f"/c/{token}")[1]["location"] for _ in range(25)]
    assert locations == [DEST] * 25
    assert len(fresh.publisher.events) == 20
    assert _replayed(fresh.internal_port, "click") == before + 5


def test_no_acknowledgement_no_success(fresh, client):
    fresh.publisher.failing = True
    assert client.request("GET", f"/o/{sign(Kind.OPEN)}")[0] == 503
    assert client.request("GET", f"/c/{sign(Kind.CLICK, url=DEST)}")[0] == 503
    fresh.publisher.failing = False
    assert client.request("GET", f"/o/{sign(Kind.OPEN)}")[0] == 200


def test_click_redirects_to_the_signed_url_and_records_it(fresh, client):
    status, headers, body = client.request(
        "GET", f"/c/{sign(Kind.CLICK, url=DEST)}", headers={"User-Agent": "Firefox/133"}
    )
    assert (status, headers["location"], body) == (302, DEST, b"")
    [event] = fresh.publisher.events
    assert isinstance(event, Clicked) and event.url == DEST and not event.machine


@pytest.mark.parametrize(
    "suffix",
    [
        "?url=https://evil.example/",
        "?next=//evil.example&redirect=https%3A%2F%2Fevil.example",
        "?location=javascript:alert(1)",
        "#https://evil.example",
    ],
)
def test_query_strings_never_change_the_destination(fresh, client, suffix):
    status, headers, _ = client.request("GET", f"/c/{sign(Kind.CLICK, url=DEST)}{suffix}")
    assert (status, headers["location"]) == (302, DEST)


@pytest.mark.parametrize(
    "path",
    [
        "/c/https://evil.example/",
        "/c//evil.example",
        "/c/" + quote("https://evil.example/", safe=""),
        "/c/{token}/https://evil.example/",
        "/c/{token}%2F%2Fevil.example",
        "/c/{token}evil",
        "/c/{js}",
        "/c/{open}",
        "/c/",
    ],
)
def test_open_redirect_attempts_get_a_plain_404(fresh, client, path):
    path = path.format(
        token=sign(Kind.CLICK, url=DEST),
        js=sign(Kind.CLICK, url="javascript:alert(1)"),
        open=sign(Kind.OPEN),
    )
    status, headers, body = client.request("GET", path)
    assert status == 404 and "location" not in headers
    assert headers["content-type"].startswith("text/plain") and body == b"not found\n"
    assert fresh.publisher.events == []


def test_unsubscribe_page_never_unsubscribes(fresh, client):
    token = sign(Kind.UNSUBSCRIBE)
    for _ in range(3):
        status, headers, body = client.request("GET", f"/u/{token}")
        assert status == 200 and headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "配信停止" in page and "Unsubscribe" in page
    assert 'method="post"' in page and f'action="/u/{token}"' in page
    assert fresh.publisher.events == []


@pytest.mark.parametrize(
    ("body", "content_type", "method"),
    [
        (b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded", "one_click"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--xyz--\r\n",
            "multipart/form-data; boundary=xyz",
            "one_click",
        ),
        (b"confirm=1", "application/x-www-form-urlencoded", "form"),
    ],
)
def test_post_unsubscribes(fresh, client, body, content_type, method):
    status, _, page = client.request(
        "POST", f"/u/{sign(Kind.UNSUBSCRIBE)}", body=body, headers={"Content-Type": content_type}
    )
    assert status == 200 and "配信停止しました".encode() in page
    [event] = fresh.publisher.events
    assert isinstance(event, Unsubscribed) and event.method == method


@pytest.mark.parametrize("body", [b"", b"List-Unsubscribe=Two-Clicks", b"confirm="])
def test_post_without_the_one_click_field_or_confirmation_is_refused(fresh, client, body):
    status, _, _ = client.request(
        "POST",
        f"/u/{sign(Kind.UNSUBSCRIBE)}",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400 and fresh.publisher.events == []


@pytest.mark.parametrize("token", ["bogus", sign(Kind.OPEN), sign(Kind.UNSUBSCRIBE)[:-1]])
def test_bad_unsubscribe_token_is_a_404_and_no_event(fresh, client, token):
    assert client.request("GET", f"/u/{token}")[0] == 404
    status, _, _ = client.request(
        "POST",
        f"/u/{token}",
        body=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 404 and fresh.publisher.events == []


def test_other_methods_on_hit_urls_are_refused_without_event(fresh, client):
    assert client.request("HEAD", f"/o/{sign(Kind.OPEN)}")[0] == 405
    assert client.request("POST", f"/c/{sign(Kind.CLICK, url=DEST)}", body=b"")[0] == 405
    assert fresh.publisher.events == []


def _raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_pipelined_requests_are_answered_in_order(fresh):
    requests = (
        b"".join(
            f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
            for path in (
                f"/c/{sign(Kind.CLICK, url=DEST)}",
                "/o/bad",
                "/healthz",
                f"/o/{sign(Kind.OPEN)}",
            )
        )
        + b"GET /o/bad HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    answer = _raw_exchange(fresh.port, requests)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"302", b"200", b"200", b"200", b"200"]
    assert b"connection: close" in answer.rsplit(b"HTTP/1.1 ", 1)[1]
    assert [type(e) for e in fresh.publisher.events] == [Clicked, Opened]


def test_garbage_gets_a_400_and_the_connection_closes(fresh):
    answer = _raw_exchange(fresh.port, b"\x16\x03\x01 not http at all\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_oversized_url_gets_a_414(fresh):
    answer = _raw_exchange(fresh.port, b"GET /o/" + b"A" * 10_000 + b" HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")


def test_a_body_declared_too_large_gets_a_413_before_anything_reads_it(fresh):
    head = f"POST /u/{sign(Kind.UNSUBSCRIBE)} HTTP/1.1\r\nHost: t\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\n"
    answer = _raw_exchange(fresh.port, head.encode() + b"List-Unsubscribe=One-Click")
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer
    assert fresh.publisher.events == []


def test_a_chunked_body_is_cut_off_where_it_passes_the_cap(fresh):
    head = f"POST /u/{sign(Kind.UNSUBSCRIBE)} HTTP/1.1\r\nHost: t\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"  # 16 KiB each, five of them
    answer = _raw_exchange(fresh.port, head.encode() + chunk * 5)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert fresh.publisher.events == []
    assert Client(fresh.port).request("GET", "/healthz")[0] == 200


def test_http_1_0_closes_after_the_answer(fresh):
    answer = _raw_exchange(fresh.port, b"GET /o/bad HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and b"connection: close" in answer


def test_documents_and_metrics_answer_on_the_internal_port_only(fresh, client):
    for path in ("/openapi.json", "/docs", "/metrics"):
        assert client.request("GET", path)[0] == 404, path
    internal = Client(fresh.internal_port)
    status, _, body = internal.request("GET", "/openapi.json")
    assert status == 200 and b"/o/{token}" in body and b"/u/{token}" in body
    assert internal.request("GET", "/metrics")[0] == 200
    assert client.request("GET", "/nothing/here")[0] == 404
    assert client.request("GET", "/healthz")[0] == 200


def test_upgrade_requests_are_answered_without_switching_protocols(fresh):
    answer = _raw_exchange(
        fresh.port,
        b"GET /o/bad HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"\x81\x85websocket frame",
    )
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1


def test_a_client_that_sends_its_head_too_slowly_is_cut_off():
    from tracking_tests_fakes import ThreadedTracking

    with ThreadedTracking(http_head_seconds=0.5) as slow:
        with socket.create_connection(("127.0.0.1", slow.port), timeout=5) as sock:
            sock.sendall(b"GET /o/bad HTTP/1.1\r\n")
            for _ in range(3):
                time.sleep(0.3)
                try:
                    sock.sendall(b"X")  # a byte now and then, never the end of the head
                except OSError:
                    break
            assert sock.recv(100) == b"", "closed without an answer"
        with socket.create_connection(("127.0.0.1", slow.port), timeout=5) as idle:
            time.sleep(0.8)  # connected, nothing sent
            assert idle.recv(100) == b""
        assert Client(slow.port).request("GET", "/healthz")[0] == 200, "and it keeps serving"
