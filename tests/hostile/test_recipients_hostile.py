"""Hostile input against the running recipients service (RECIPIENTS_URL): oversized bodies
with and without Content-Length, large bodies without a key, every unsupported charset,
a body without newlines, an unclosed quote, a huge row count, malformed JSON and NDJSON,
forged and other tenants' ids, replayed requests. Each gets a clear 4xx, the service keeps
answering, and its memory (peak RSS, measured on the process listening on the URL's port)
stays within 100 MiB of where it was."""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from testkit.hostile import peak_rss_mb, reset_peak, rss_mb, still_serving
from testkit.platform import LOCAL, Api, Tenant, User, new_tenant

URL = urlsplit(LOCAL.recipients)
HOST, PORT = URL.hostname or "127.0.0.1", URL.port or 80
MiB = 1 << 20
# The service's limits, as configured for it (the defaults unless the environment says).
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 200 * MiB))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 5_000_000))
ALLOWED = ["utf-8", "shift_jis", "cp932", "euc-jp"]
GROWTH_MB = 100


@asynccontextmanager
async def bounded(what: str) -> AsyncIterator[None]:
    """The block's attack leaves the service answering, its peak memory within GROWTH_MB."""
    reset_peak("recipients")
    before = rss_mb("recipients")
    yield
    grown = peak_rss_mb("recipients") - before
    assert grown < GROWTH_MB, f"{what}: the service grew by {grown:.0f} MiB"
    await still_serving("recipients")


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    seconds: float
    sent: int


async def exchange(
    path: str,
    headers: dict[str, str],
    body: Iterable[bytes] = (),
    *,
    chunked: bool = False,
    within: float = 120,
) -> Answer:
    """One request on a raw socket: the body is written while the answer is awaited, and
    writing stops as soon as the answer comes (a refused body is not sent in full). The
    socket is read directly: a server closing on an unread body resets the connection, and
    what it answered before must not be lost with it."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    await loop.sock_connect(sock, (HOST, PORT))
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sent = 0

    async def write() -> None:
        nonlocal sent
        with contextlib.suppress(OSError):
            await loop.sock_sendall(sock, head.encode())
            for piece in body:
                await loop.sock_sendall(
                    sock, b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                )
                sent += len(piece)
            if chunked:
                await loop.sock_sendall(sock, b"0\r\n\r\n")

    started = time.perf_counter()
    writing = asyncio.ensure_future(write())
    try:
        raw = await asyncio.wait_for(_read_all(loop, sock), within)
    finally:
        # The writer's cancellation must be done before the socket closes: its clean-up
        # removes the selector's writer for the fd, which the next socket may reuse
        # (its connect would then never complete).
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        sock.close()
    seconds = time.perf_counter() - started
    status_line, _, rest = raw.partition(b"\r\n")
    head_part, _, content = rest.partition(b"\r\n\r\n")
    fields = dict(
        line.decode().lower().split(": ", 1) for line in head_part.split(b"\r\n") if b": " in line
    )
    return Answer(int(status_line.split()[1]), _json(content, fields), fields, seconds, sent)


async def _read_all(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            chunk = await loop.sock_recv(sock, 65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received
        received += chunk


def _json(content: bytes, headers: dict[str, str]) -> dict[str, Any]:
    if headers.get("transfer-encoding") == "chunked":
        size, _, content = content.partition(b"\r\n")
        content = content[: int(size, 16)]
    return dict(json.loads(content)) if content else {}


def pieces(total: int, piece: bytes, head: bytes = b"") -> Iterable[bytes]:
    """`head`, then `piece` repeated up to `total` bytes, in 64 KiB writes."""
    chunk = piece * max(1, (64 * 1024) // len(piece))
    if head:
        yield head
    for _ in range(total // len(chunk) + 1):
        yield chunk


async def send_whole(user: User, content_type: dict[str, str], body: list[bytes]) -> Answer:
    """An import with its Content-Length declared, as ordinary clients send one."""
    length = {"Content-Length": str(sum(map(len, body)))}
    return await exchange(IMPORT, auth(user) | content_type | length, body)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.composer.key}"}


@dataclass(frozen=True)
class Staff:
    tenant: Tenant
    manager: User
    member: User
    other: Tenant

    @property
    def api(self) -> Api:
        return self.manager.recipients


@pytest.fixture(scope="module")
async def staff() -> Staff:
    tenant, other = await new_tenant("Hostile Recipients KK"), await new_tenant("Other KK")
    manager = await tenant.add_user("敵対 課長", "manager")
    member = await tenant.add_user("敵対 社員", "member")
    return Staff(tenant, manager, member, other)


def assert_refused(answer: Answer, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.body["detail"] and answer.body["errors"], answer.body
    if field is not None:
        assert answer.body["errors"][0]["field"] == field, answer.body
    return answer.body


CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}
IMPORT = "/v1/customers/import"


async def test_bodies_declared_too_large_are_refused_before_they_are_sent(staff: Staff) -> None:
    async with bounded("declared oversized bodies"):
        for path, extra in (("/v1/customers", {"Content-Type": "application/json"}), (IMPORT, CSV)):
            declared = {"Content-Length": str(10 << 30)}
            answer = await exchange(path, auth(staff.manager) | extra | declared, within=5)
            body = assert_refused(answer, 413, "body")
            assert "larger than" in body["detail"] and answer.sent == 0
            assert answer.headers["connection"] == "close"


async def test_chunked_bodies_are_cut_off_at_their_limit(staff: Staff) -> None:
    async with bounded("chunked oversized bodies"):
        json_body = pieces(64 * MiB, b" ", head=b'{"email": "a@example.com", "company": "')
        answer = await exchange(
            "/v1/customers", auth(staff.manager) | {"Content-Type": "application/json"},
            json_body, chunked=True,
        )  # fmt: skip
        assert_refused(answer, 413, "body")
        assert answer.sent < 32 * MiB
        # Blank NDJSON lines are no rows: only the byte limit stops this one.
        lines = pieces(IMPORT_MAX_BYTES + 64 * MiB, b" " * 1023 + b"\n")
        answer = await exchange(IMPORT, auth(staff.manager) | NDJSON, lines, chunked=True)
        assert_refused(answer, 413, "body")
        assert IMPORT_MAX_BYTES <= answer.sent < IMPORT_MAX_BYTES + 32 * MiB


async def test_a_large_body_without_a_valid_key_is_refused_unread(staff: Staff) -> None:
    async with bounded("large bodies without a key"):
        for key in ({}, {"Authorization": "Bearer bm_forged_c2VjcmV0"}, {"Authorization": "x"}):
            declared = CSV | key | {"Content-Length": str(100 * MiB)}
            answer = await exchange(IMPORT, declared, within=5)
            assert_refused(answer, 401, "authorization")
            assert answer.sent == 0 and answer.seconds < 2
            chunked = await exchange(IMPORT, CSV | key, [b"email\n"], chunked=True, within=5)
            assert_refused(chunked, 401, "authorization")
        # A valid key of a member: refused by role, still before the body is read.
        member = await exchange(
            IMPORT, auth(staff.member) | CSV | {"Content-Length": str(100 * MiB)}, within=5
        )
        assert_refused(member, 403, "role")


UNSUPPORTED = [
    "bz2_codec", "zlib_codec", "base64_codec", "hex_codec", "uu_codec", "quopri_codec",
    "rot13", "utf-16", "utf-16-le", "utf-32", "utf-7", "iso-2022-jp", "punycode", "idna",
    "latin-1", "klingon", "",
]  # fmt: skip


async def test_every_unsupported_charset_is_refused_with_the_allowed_ones(staff: Staff) -> None:
    bomb = bz2.compress(b"a" * (800 * MiB), 9)  # 800 MiB from a body of under 1 KB
    async with bounded("unsupported charsets"):
        for charset in UNSUPPORTED:
            body = bomb if charset == "bz2_codec" else "email\nａ@example.com\n".encode()
            headers = auth(staff.manager) | {
                "Content-Type": f"text/csv; charset={charset}",
                "Content-Length": str(len(body)),
            }
            answer = await exchange(IMPORT, headers, [body])
            refused = assert_refused(answer, 415, "charset")
            assert refused["errors"][0]["allowed"] == ALLOWED, charset


async def test_a_body_without_newlines_is_refused_at_once(staff: Staff) -> None:
    async with bounded("64 MiB without a newline"):
        for fmt in (CSV, NDJSON):
            answer = await send_whole(staff.manager, fmt, list(pieces(64 * MiB, b"x")))
            refused = assert_refused(answer, 422, "line 1")
            assert "longer than" in refused["detail"] and answer.seconds < 10


async def test_an_unclosed_quote_is_refused_at_its_line(staff: Staff) -> None:
    async with bounded("an unclosed quote in 32 MiB"):
        body = list(pieces(32 * MiB, b"a\n", head=b'email,company\na@example.com,"\n'))
        answer = await send_whole(staff.manager, CSV, body)
        refused = assert_refused(answer, 422, "line 2")
        assert "longer than" in refused["detail"] and answer.seconds < 10


async def test_more_rows_than_allowed_are_refused_and_nothing_is_imported(staff: Staff) -> None:
    async with bounded("a huge row count"):
        rows = IMPORT_MAX_ROWS + 1
        body = [b"email\n"] + [b"a\n" * 100_000] * (rows // 100_000) + [b"a\n" * (rows % 100_000)]
        answer = await send_whole(staff.manager, CSV, body)
        refused = assert_refused(answer, 413, f"line {rows + 1}")
        assert f"more than {IMPORT_MAX_ROWS} rows" in refused["detail"]
    listed = await staff.api.call("GET", "/v1/customers")
    assert listed["items"] == []


async def test_malformed_json_and_ndjson_are_422(staff: Staff) -> None:
    api = staff.api
    for content in (b"{", b"[]", b'{"email": 5}', b'{"email": "\xff"}', b"[" * 100_000):
        response = await api.send(
            "POST", "/v1/customers", content=content, headers={"Content-Type": "application/json"}
        )
        # Nested too deeply or not UTF-8: FastAPI's "error parsing the body", 400.
        expected = 400 if content.startswith(b"[[") or b"\xff" in content else 422
        assert response.status_code == expected, (content[:20], response.text)
        assert response.json()["detail"]
    for line, where in [
        (b"not json", "not valid JSON"),
        (b"[" * 60_000, "nested too deeply"),
        (b'{"email": "a@example.com", "attributes": {"k": {"deep": 1}}}', "attributes"),
        (b'{"email": "\xff\xfe"}', "not valid utf-8"),
        (b'{"email": 1' + b"0" * 10_000 + b"}", "not valid JSON"),
    ]:
        body = b'{"email": "ok@example.com"}\n' + line + b"\n"
        response = await api.send("POST", IMPORT, content=body, headers=NDJSON)
        assert response.status_code == 422, response.text
        assert response.json()["line"] == 2 and where in response.json()["detail"], response.text
    await still_serving("recipients")


async def test_forged_and_other_tenants_ids_are_refused(staff: Staff) -> None:
    api, theirs = staff.api, staff.other.admin.recipients
    customer = await theirs.call("POST", "/v1/customers", json={"email": "x@example.com"})
    group = await theirs.call("POST", "/v1/groups", json={"name": "theirs"})
    for method, path in [
        ("GET", f"/v1/customers/{customer['id']}"),
        ("PATCH", f"/v1/customers/{customer['id']}"),
        ("DELETE", f"/v1/customers/{customer['id']}"),
        ("POST", f"/v1/customers/{customer['id']}/unsubscribe"),
        ("GET", f"/v1/groups/{group['id']}"),
        ("DELETE", f"/v1/groups/{group['id']}"),
        ("PUT", f"/v1/groups/{group['id']}/members/{customer['id']}"),
        ("POST", f"/v1/suppressions/{uuid.uuid4()}/lift"),
    ]:
        body = {"company": "x"} if method == "PATCH" else {"reason": "x"}
        response = await staff.tenant.admin.recipients.send(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    malformed = await api.send("GET", "/v1/customers/not-a-uuid")
    assert malformed.status_code == 422
    for owner in (staff.other.admin.id, str(uuid.uuid4())):
        response = await api.send(
            "POST", "/v1/customers", json={"email": "o@example.com", "owner_user_id": owner}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "owner_user_id"
    owned = await api.call(
        "POST", "/v1/customers", json={"email": "o@example.com", "owner_user_id": staff.member.id}
    )
    assert owned["owner_user_id"] == staff.member.id
    checked = await staff.member.recipients.call(
        "POST", "/v1/groups/check", json={"group_ids": [group["id"]]}
    )
    assert checked == {"unknown": [group["id"]]}
    for key in ("bm_x_y", "garbage", "bm_" + "a" * 300, "Bearer"):
        forged = await Api(LOCAL.recipients, key).send("GET", "/v1/customers")
        assert forged.status_code == 401, forged.text


async def test_replayed_requests_change_nothing_twice(staff: Staff) -> None:
    api, admin = staff.api, staff.tenant.admin.recipients
    body = {"email": "replay@example.com"}
    created = await api.call("POST", "/v1/customers", json=body)
    again = await api.send("POST", "/v1/customers", json=body)
    assert again.status_code == 409
    url = f"/v1/customers/{created['id']}"
    first = await api.call("POST", f"{url}/unsubscribe")
    second = await api.call("POST", f"{url}/unsubscribe")
    assert first["unsubscribed_at"] == second["unsubscribed_at"]
    assert (await api.send("DELETE", url)).status_code == 204
    assert (await api.send("DELETE", url)).status_code == 404

    rows = b"email\nreplay@example.com\nfresh@example.com\n"
    one = await api.call("POST", IMPORT, content=rows, headers=CSV)
    two = await api.call("POST", IMPORT, content=rows, headers=CSV)
    assert (one["inserted"], two["inserted"], two["rejected_by_reason"]) == (2, 0, {"duplicate": 2})
    reimported = await api.call("GET", "/v1/customers", params={"email": "replay@example.com"})
    assert reimported["items"][0]["unsubscribed"] is True  # the opt-out outlived the delete

    [entry] = (await api.call("GET", "/v1/suppressions", params={"address": body["email"]}))[
        "items"
    ]
    lift = f"/v1/suppressions/{entry['id']}/lift"
    reason = {"reason": "confirmed by phone"}
    assert (await admin.send("POST", lift, json=reason)).status_code == 200
    assert (await admin.send("POST", lift, json=reason)).status_code == 404
