"""Tracking under wrk, beside nginx's `empty_gif` measured in the same run.

    uv run --frozen python bench/bench_tracking.py [--processes 2] [--seconds 10]

Starts its own tracking (TRACKING_PROCESSES processes on a free port, its own Kafka topic
namespace and PostgreSQL schema, the endpoints of .local/env) and a throwaway nginx serving
`empty_gif`, runs `wrk -t2 -c64 --latency` against the pixel with valid tokens, the click
redirect, and nginx, checks that every answered hit is in Kafka, stops everything and prints
one JSON object on its last line. Goal: tracking.ratio >= 0.5 with tracking.p99_ms <= 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from benchkit import drop_schema, load_env

from servicekit.kafka.admin import create_topics, delete_namespace
from testkit.processes import free_port
from tracking.replay import MAX_LIMIT

ROOT = Path(__file__).resolve().parents[1]
THREADS, CONNECTIONS = 2, 64
TOKENS = 2000  # distinct messages, so hits spread over partitions as they would in life


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def sign_paths(secret: str) -> tuple[list[str], list[str]]:
    from servicekit.tokens import Claims, Kind, TokenCodec

    codec = TokenCodec.from_secret(secret)
    sent = int(time.time()) - 3600  # an hour ago: no click counts as a scanner's fast click
    opens, clicks = [], []
    for i in range(TOKENS):
        ids = [uuid.uuid4() for _ in range(5)]
        opens.append("/o/" + codec.sign(Claims(Kind.OPEN, sent, *ids)))
        url = f"https://shop.example/item/{i}?utm_source=mail"
        clicks.append("/c/" + codec.sign(Claims(Kind.CLICK, sent, *ids, url=url)))
    return opens, clicks


def wrk_script(directory: Path, name: str, paths: list[str]) -> Path:
    """A wrk Lua script cycling through `paths` (the same script drives nginx)."""
    lines = ",\n".join(f'  "{p}"' for p in paths)
    script = directory / f"{name}.lua"
    script.write_text(
        f"local paths = {{\n{lines}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i], {["User-Agent"] = "Mozilla/5.0 Firefox/133"})\n'
        "end\n"
    )
    return script


def run_wrk(port: int, script: Path, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            raise RuntimeError(f"no {pct}% latency in wrk output:\n{out}")
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": requests,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


async def kafka_count(bootstrap: str, namespace: str, topic: str) -> int:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from contracts.topics import TOPICS

    partitions = next(t.partitions for t in TOPICS if t.name == topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(namespace + topic, p) for p in range(partitions)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def start_nginx(directory: Path, port: int) -> subprocess.Popen[bytes]:
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""worker_processes auto;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}; proxy_temp_path {directory};
    fastcgi_temp_path {directory}; uwsgi_temp_path {directory}; scgi_temp_path {directory};
    server {{
        listen 127.0.0.1:{port};
        location / {{ empty_gif; add_header Cache-Control "no-store, max-age=0"; }}
    }}
}}
"""
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.Popen([nginx, "-p", str(directory), "-c", str(conf)], start_new_session=True)


def server_command(server: str, port: int, processes: int) -> list[str]:
    """The tracking app as the service runs it (`python -m tracking`: uvicorn, httptools,
    its guarded protocol), under plain uvicorn, or under granian; the same number of
    processes each."""
    if server == "service":
        return [sys.executable, "-m", "tracking"]
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "--factory", "tracking.main:asgi",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes),
            "--http", "httptools", "--loop", "uvloop", "--no-access-log",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes),
        "--loop", "uvloop", "--no-ws", "--log-level", "warning", "tracking.main:asgi",
    ]  # fmt: skip


def start_tracking(
    env: dict[str, str], log: Path, server: str, port: int, processes: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        server_command(server, port, processes),
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_processes(log: Path, count: int, timeout: float = 120.0) -> None:
    """Every process of the service listens (otherwise wrk's connections go to the first)."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count("tracking process ") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {count} tracking processes started:\n{log.read_text()}")
        time.sleep(0.3)


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--server", choices=["service", "uvicorn", "granian"], default="service")
    args = parser.parse_args()

    env = load_env()
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    database_url = env.get("DATABASE_URL", "postgresql://bulkmail:bulkmail@127.0.0.1:5432/bulkmail")
    secret = env.get("TOKEN_SECRET") or "bench-secret"
    namespace = f"benchtracking{uuid.uuid4().hex[:8]}."
    schema = f"bench_tracking_{uuid.uuid4().hex[:8]}"
    tracking_port, nginx_port = free_port(), free_port()
    env.update(
        HTTP_PORT=str(tracking_port),
        KAFKA_NAMESPACE=namespace,
        DATABASE_SCHEMA=schema,
        TOKEN_SECRET=secret,
        TRACKING_PROCESSES=str(args.processes),
        BOUNCE_SMTP_PORT="0",
        BOUNCE_INTAKE="true" if args.server == "service" else "false",
        INTERNAL_PORT=str(free_port()),
        # wrk replays a few thousand tokens for the whole run: the per-token replay bound
        # would (rightly) stop publishing them, and every hit is to be in Kafka here.
        HIT_REPLAY_LIMIT=str(MAX_LIMIT),
        LOG_LEVEL="WARNING",
    )
    asyncio.run(create_topics(bootstrap, namespace))
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    tracking = nginx = None
    try:
        opens, clicks = sign_paths(secret)
        pixel_script = wrk_script(workdir, "pixel", opens)
        click_script = wrk_script(workdir, "click", clicks)
        env["LOG_LEVEL"] = "INFO"
        tracking = start_tracking(
            env, workdir / "tracking.log", args.server, tracking_port, args.processes
        )
        wait_http(f"http://127.0.0.1:{tracking_port}/healthz")
        wait_processes(workdir / "tracking.log", args.processes)
        nginx = start_nginx(workdir, nginx_port)
        wait_http(f"http://127.0.0.1:{nginx_port}/")

        warm = wrk_script(workdir, "warm", opens[:50])
        run_wrk(tracking_port, warm, 2)
        opened_before = asyncio.run(kafka_count(bootstrap, namespace, "tracking.opened"))
        pixel = run_wrk(tracking_port, pixel_script, args.seconds)
        time.sleep(1.0)  # requests wrk abandoned at its deadline may still be acknowledged
        opened = asyncio.run(kafka_count(bootstrap, namespace, "tracking.opened")) - opened_before
        click = run_wrk(tracking_port, click_script, args.seconds)
        time.sleep(1.0)
        clicked = asyncio.run(kafka_count(bootstrap, namespace, "tracking.clicked"))
        reference = run_wrk(nginx_port, pixel_script, args.seconds)
    finally:
        stop(tracking)
        stop(nginx, signal.SIGQUIT)
        try:
            asyncio.run(delete_namespace(bootstrap, namespace))
            asyncio.run(drop_schema(database_url, schema))
        except Exception as exc:  # cleanup only; the figures stand
            print(f"cleanup: {exc!r}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)

    # wrk counts answered requests; at its deadline up to one request per connection was
    # sent but not read, and the service may well have recorded it.
    def all_landed(answered: float, recorded: int) -> bool:
        return answered <= recorded <= answered + CONNECTIONS

    result = {
        "tracking.rps": round(pixel["rps"], 1),
        "tracking.nginx_rps": round(reference["rps"], 1),
        "tracking.ratio": round(pixel["rps"] / reference["rps"], 3),
        "tracking.p50_ms": pixel["p50_ms"],
        "tracking.p99_ms": pixel["p99_ms"],
        "tracking.nginx_p50_ms": reference["p50_ms"],
        "tracking.nginx_p99_ms": reference["p99_ms"],
        "tracking.click_rps": round(click["rps"], 1),
        "tracking.click_ratio": round(click["rps"] / reference["rps"], 3),
        "tracking.click_p50_ms": click["p50_ms"],
        "tracking.click_p99_ms": click["p99_ms"],
        "tracking.processes": args.processes,
        "tracking.server": args.server,
        "tracking.pixel_requests": int(pixel["requests"]),
        "tracking.pixel_events_in_kafka": opened,
        "tracking.click_requests": int(click["requests"]),
        "tracking.click_events_in_kafka": clicked,
        "tracking.errors": int(
            pixel["non_2xx_3xx"]
            + pixel["socket_errors"]
            + click["non_2xx_3xx"]
            + click["socket_errors"]
        ),
        "tracking.every_hit_in_kafka": all_landed(pixel["requests"], opened)
        and all_landed(click["requests"], clicked),
    }
    if not result["tracking.every_hit_in_kafka"] or result["tracking.errors"]:
        print("tracking: hits missing in Kafka or failed requests, see figures", file=sys.stderr)
    print(json.dumps(result))  # one line, the last one: bench/run.py reads it
    return 0


if __name__ == "__main__":
    sys.exit(main())
