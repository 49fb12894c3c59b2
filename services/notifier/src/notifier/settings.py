"""Notifier configuration, read once from the environment."""

from typing import Literal

from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8005
    database_schema: str = "notifier"

    digest_from: str = Field(
        default="Bulk Mail <notifications@bulkmail.localhost>", description="From of digests."
    )
    composer_url: str = Field(
        default="http://127.0.0.1:8001", description="Where API keys are verified."
    )
    max_request_bytes: int = Field(
        default=64 * 1024, ge=1, description="Larger request bodies are refused with 413."
    )
    admin_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token for POST /v1/admin/close-periods; when empty, only "
        "requests from the loopback address are accepted.",
    )
    redis_key_prefix: str = Field(default="notifier:", description="Prefix of Redis keys.")
    suppression_ttl_s: float = Field(
        default=7200.0,
        description="Expiry of a message's last open in Redis; must exceed the one-hour "
        "re-open window (PostgreSQL answers for anything older).",
        gt=3600.0,
    )
    ingest_batch_size: int = Field(
        default=20_000,
        description="Max events per consumed batch. A batch costs one Redis call and a few "
        "statements whatever its size: 20,000 ingest about a sixth faster than 5,000.",
    )
    close_interval_s: float = Field(
        default=60.0, description="How often periods that ended are closed and sent."
    )
    digest_lease_s: float = Field(
        default=120.0, description="How long a process holds a digest before another may take it."
    )
    digest_concurrency: int = Field(default=4, description="SMTP connections for digests.")
    digest_max_lines: int = Field(
        default=100, description="Lines listed per campaign and kind; the count is always full."
    )
    digest_retry_s: float = Field(default=60.0, description="Pause before a failed send's retry.")
    digest_max_attempts: int = Field(default=10)
    smtp_timeout_s: float = Field(default=30.0)
    hits_retention_days: int = Field(
        default=90, description="Handled hits are kept this long (duplicate detection)."
    )
    digest_fault_after_build: Literal["", "exit", "pause"] = Field(
        default="",
        description="Test-only fault injection: after building a digest, 'exit' ends the "
        "process at once (os._exit); 'pause' prints a marker to stderr and waits to be killed.",
    )
