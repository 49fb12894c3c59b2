"""Tracking configuration, read once from the environment."""

from pydantic import Field

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8004
    database_schema: str = "tracking"
    tracking_processes: int = Field(
        default=2,
        ge=1,
        description="HTTP processes sharing the port (SO_REUSEPORT); one per core.",
    )
    bounce_smtp_host: str = Field(default="127.0.0.1")
    bounce_smtp_port: int = Field(
        default=2626, description="Inbound SMTP for DSNs to the VERP return path; 0 = any."
    )
    bounce_intake: bool = Field(
        default=True, description="Run the bounce SMTP listener in this process."
    )
    click_machine_seconds: float = Field(
        default=10.0, description="A click sooner than this after sending is flagged machine."
    )
    kafka_publish_timeout_ms: int = Field(
        default=10_000, description="How long a hit waits for Kafka before a 503."
    )
    http_reuse_port: bool = Field(
        default=False,
        description="Share the HTTP port with sibling processes (set by the launcher).",
    )
