"""Talking to an in-process sink over real SMTP and HTTP."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from devsink import DevSink, SinkConfig


def sink_config(store_dir: Path, **policy: Any) -> SinkConfig:
    return SinkConfig(host="127.0.0.1", smtp_port=0, http_port=0, store_dir=store_dir, **policy)


async def http(
    sink: DevSink, path: str, method: str = "GET", body: bytes | None = None
) -> tuple[int, bytes]:
    def call() -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{sink.http_port}{path}", data=body, method=method
        )
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    return await asyncio.to_thread(call)


async def get_json(sink: DevSink, path: str, method: str = "GET") -> Any:
    status, body = await http(sink, path, method)
    assert status == 200, body
    return json.loads(body)


async def put_policy(sink: DevSink, **fields: Any) -> Any:
    status, body = await http(sink, "/policy", "PUT", json.dumps(fields).encode())
    assert status == 200, body
    return json.loads(body)


def a_message(to: str, subject: str = "Grüße aus dem Test") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "sender@example.com"
    message["To"] = to
    message["Subject"] = subject
    message["X-Campaign-Id"] = "c-1"
    message.set_content("Hello\n.leading dot survives\n")
    return message


async def send(sink: DevSink, message: EmailMessage, sender: str | None = None) -> None:
    await aiosmtplib.send(message, sender=sender, hostname="127.0.0.1", port=sink.smtp_port)


async def refused_code(
    sink: DevSink, rcpt: str, sender: str = "sender@example.com"
) -> tuple[int, str]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port)
    async with client:
        await client.mail(sender)
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt(rcpt)
    return refused.value.code, refused.value.message


async def conversation(sink: DevSink, *commands: str) -> list[str]:
    """Write all commands at once, as a pipelining client does; read every reply line
    until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.smtp_port)
    try:
        writer.write("".join(f"{command}\r\n" for command in commands).encode())
        await writer.drain()
        received = await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
    return received.decode().splitlines()
