"""Private copies of the platform's Kafka topics and of a PostgreSQL schema, for one test
or one benchmark beside the running stack; removed again when the block ends, however it
ends, consumer groups included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from servicekit.kafka.admin import create_topics, delete_namespace


@asynccontextmanager
async def kafka_namespace(bootstrap: str, prefix: str = "t") -> AsyncIterator[str]:
    """A namespace (`<prefix><random>.`) holding every topic of the platform."""
    namespace = f"{prefix}{uuid.uuid4().hex[:10]}."
    try:
        await create_topics(bootstrap, namespace)
        yield namespace
    finally:
        await delete_namespace(bootstrap, namespace)


@asynccontextmanager
async def pg_schema(database_url: str, prefix: str = "t_") -> AsyncIterator[str]:
    """A fresh schema name; the schema (created by whoever migrates it) is dropped after."""
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
