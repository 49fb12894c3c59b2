"""Tracking configuration, read once from the environment."""

from pydantic import Field

from servicekit.settings import ServiceSettings
from tracking.replay import MAX_LIMIT


class Settings(ServiceSettings):
    http_port: int = 8004
    database_schema: str = "tracking"
    tracking_processes: int = Field(
        default=2, ge=1, description="Processes sharing the ports; one per core."
    )
    internal_port: int = Field(
        default=8014, description="Port of /metrics and the API documents (not public)."
    )
    http_head_seconds: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's line and headers."
    )
    http_max_connections: int = Field(
        default=4096, ge=1, description="Open connections per process; more are answered 503."
    )
    http_keep_alive_seconds: int = Field(
        default=5, gt=0, description="Idle keep-alive connections are closed after this."
    )
    bounce_smtp_host: str = Field(default="127.0.0.1")
    bounce_smtp_port: int = Field(
        default=2626, description="Inbound SMTP for DSNs to the VERP return path; 0 = any."
    )
    bounce_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest mail the bounce intake takes (a DSN or an ARF report); "
        "larger ones are refused with 552 5.3.4.",
    )
    inbound_mail_retention_days: int = Field(
        default=14, ge=1, description="Stored inbound mail is deleted after this many days."
    )
    inbound_mail_purge_interval_s: float = Field(
        default=3600.0, gt=0, description="How often stored inbound mail past its time is purged."
    )
    bounce_intake: bool = Field(
        default=True, description="Run the bounce SMTP listener in this process."
    )
    click_machine_seconds: float = Field(
        default=10.0, description="A click sooner than this after sending is flagged machine."
    )
    hit_replay_limit: int = Field(
        default=20,
        ge=1,
        le=MAX_LIMIT,
        description="Hits of one token within the window that make events; later ones do not.",
    )
    hit_replay_window_s: float = Field(
        default=600.0, gt=0, description="Window of the replay bound, in seconds."
    )
    hit_replay_tokens: int = Field(
        default=50_000,
        ge=2,
        description="Tokens each process remembers for the replay bound (about 140 bytes each).",
    )
    kafka_publish_timeout_ms: int = Field(
        default=10_000, description="How long a hit waits for Kafka before a 503."
    )
