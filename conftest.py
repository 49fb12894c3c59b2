"""Where the test tiers find real infrastructure.

Integration and e2e tests use the stack that `make up` starts; its endpoints arrive as
environment variables (`.local/env`, which `make test` sources). Without them, a Docker
engine lets testcontainers start the infrastructure; without either, those tests fail
with a message saying what to do. They are never skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
ENDPOINTS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SMTP_PORT")


@dataclass(frozen=True)
class Stack:
    kafka: str
    database_url: str
    redis_url: str
    smtp_host: str
    smtp_port: int
    sink_api: str
    token_secret: str
    tracking_base_url: str


def _load_test_modules() -> None:
    """Each area's tests/{fakes,support,harness,helpers}.py, importable as
    `<area>_tests_<name>` (importlib mode keeps test folders off sys.path, and every area
    has a fakes.py of its own)."""
    import importlib.util
    import sys

    order = ("support", "fakes", "helpers", "harness")  # later ones import earlier ones
    paths = [p for p in ROOT.glob("*/*/tests/*.py") if p.stem in order]
    for path in sorted(paths, key=lambda p: (order.index(p.stem), str(p))):
        name = f"{path.parent.parent.name}_tests_{path.stem}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


_load_test_modules()


def _load_local_env() -> None:
    """Variables from `.local/env` when the shell did not export them (e.g. an IDE run)."""
    env_file = ROOT / ".local" / "env"
    if not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep and key.strip() and key.strip() not in os.environ:
            os.environ[key.strip()] = value.strip().strip("'\"")


def _docker_engine_running() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def _from_env() -> Stack:
    return Stack(
        kafka=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        database_url=os.environ["DATABASE_URL"],
        redis_url=os.environ["REDIS_URL"],
        smtp_host=os.environ["SMTP_HOST"],
        smtp_port=int(os.environ["SMTP_PORT"]),
        sink_api=os.environ.get("SINK_API_URL", "http://127.0.0.1:8025"),
        token_secret=os.environ.get("TOKEN_SECRET", "1:" + "7b2e9d4f1a6c3058" * 4),
        tracking_base_url=os.environ.get("TRACKING_BASE_URL", "http://127.0.0.1:8004"),
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    _load_local_env()
    missing = [name for name in ENDPOINTS if not os.environ.get(name)]
    if not missing:
        yield _from_env()
        return
    if not _docker_engine_running():
        pytest.fail(
            "this test needs real Kafka, PostgreSQL, Redis and an SMTP sink, but "
            f"{', '.join(missing)} are unset and no Docker engine is running for "
            "testcontainers. Run `make up` (it writes .local/env) or `make test`.",
            pytrace=False,
        )
    yield from _containers()


def _containers() -> Iterator[Stack]:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    from devsink.server import running_sink

    with (
        KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka,
        PostgresContainer("postgres:15", driver=None) as pg,
        RedisContainer("redis:7") as redis,
        running_sink() as sink,
    ):
        host = redis.get_container_host_ip()
        yield Stack(
            kafka=kafka.get_bootstrap_server(),
            database_url=pg.get_connection_url(),
            redis_url=f"redis://{host}:{redis.get_exposed_port(6379)}/0",
            smtp_host=sink.smtp_host,
            smtp_port=sink.smtp_port,
            sink_api=sink.api_url,
            token_secret="1:" + "7b2e9d4f1a6c3058" * 4,
            tracking_base_url="http://127.0.0.1:8004",
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under integration/ and e2e/ folders get their marker and the stack."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in ("integration", "e2e", "hostile", "browser"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))
                if "stack" not in item.fixturenames:
                    item.fixturenames.append("stack")


@pytest.fixture
async def kafka_namespace(stack: Stack) -> AsyncIterator[str]:
    """A private copy of every topic, so a test's services do not meet the running stack's;
    deleted after the test with its consumer groups."""
    from testkit.sandbox import kafka_namespace

    async with kafka_namespace(stack.kafka) as namespace:
        yield namespace


@pytest.fixture
async def pg_schema(stack: Stack) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema name for one test; dropped afterwards."""
    from testkit.sandbox import pg_schema

    async with pg_schema(stack.database_url) as schema:
        yield schema
