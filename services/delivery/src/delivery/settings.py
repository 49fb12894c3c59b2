"""Delivery configuration, read once from the environment."""

from __future__ import annotations

import os
import secrets
import socket
from ipaddress import ip_address
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8003
    database_schema: str = "delivery"

    # ------------------------------------------------------------------ SMTP
    smtp_concurrency: int = Field(
        default=16, ge=1, le=256, description="Persistent SMTP connections, one sender each."
    )
    smtp_timeout: float = Field(default=30.0, description="Seconds to wait for one SMTP reply.")
    smtp_use_tls: bool = Field(default=False, description="Implicit TLS (port 465 style).")
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS after EHLO.")
    smtp_validate_certs: bool = Field(default=True)
    smtp_username: str = Field(default="", description="AUTH user; empty: no AUTH.")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_helo_name: str = Field(default="", description="EHLO name; empty: the host name.")
    smtp_max_messages_per_connection: int = Field(
        default=10_000, description="Reconnect after this many transactions (0: never)."
    )

    # ------------------------------------------------------------------ addresses and signing
    bounce_domain: str = Field(
        default="bounces.bulkmail.localhost",
        description="Domain of the VERP return path `<bounce token>@BOUNCE_DOMAIN`.",
    )
    message_id_domain: str = Field(
        default="", description="Right-hand side of Message-ID; empty: the From domain."
    )
    signing_keys_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Decrypts the DKIM keys campaigns carry (the composer encrypts them with "
        "the same secret); at least 32 bytes. Mail is signed with d= the From's domain.",
    )

    # ------------------------------------------------------------------ routes and shaping
    delivery_mode: Literal["relay", "direct"] = Field(
        default="relay",
        description="relay: every message through SMTP_HOST; direct: to each recipient "
        "domain's mail exchangers (MX), with the same shaping and per-destination breakers.",
    )
    dns_resolver: str = Field(
        default="", description="Direct mode: `host[:port],...` to resolve MX; empty: system."
    )
    direct_smtp_port: int = Field(default=25, description="Direct mode: the exchangers' port.")
    shaping_file: str = Field(
        default="",
        description="Per-destination limits, slow-down, breakers (TOML); empty: the bundled "
        "services/delivery/shaping.toml.",
    )
    redis_key_prefix: str = Field(
        default="delivery:shaping:",
        description="Prefix of the shared shaping state in Redis (after KAFKA_NAMESPACE).",
    )

    # ------------------------------------------------------------------ retries
    retry_base_seconds: float = Field(
        default=2.0, description="First retry delay after a 4xx; doubles each attempt."
    )
    retry_max_seconds: float = Field(default=1800.0, description="Longest retry delay.")
    retry_horizon_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="Temporary failures are retried until the message is this old (an "
        "MTA's queue lifetime), then soft-bounce.",
    )

    # ------------------------------------------------------------------ pipeline
    batch_max_records: int = Field(default=1000, description="Records per Kafka fetch.")
    claim_chunk: int = Field(
        default=64,
        ge=1,
        description="Messages claimed per ledger write; claiming goes on while fewer than "
        "this many wait for destinations that can take them.",
    )
    heartbeat_seconds: float = Field(default=2.0, description="Liveness beat of this process.")
    owner_timeout_seconds: float = Field(
        default=15.0,
        description="A process silent this long is dead: its in-flight messages become unknown.",
    )
    progress_interval_seconds: float = Field(
        default=1.0, description="How often campaigns whose ledger changed are reported."
    )
    commit_interval_seconds: float = Field(default=0.5, description="Offset commit period.")
    kafka_session_timeout_ms: int = Field(
        default=10_000, description="A consumer silent this long loses its partitions."
    )

    @field_validator("tracking_base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        """RFC 8058 one-click unsubscribe needs an HTTPS URL; plain HTTP only for a tracking
        service on this machine (the local stack)."""
        url = urlsplit(value)
        if url.scheme == "https" and url.hostname:
            return value
        if url.scheme == "http" and _loopback(url.hostname or ""):
            return value
        raise ValueError("TRACKING_BASE_URL must be https:// (http:// only for a loopback host)")

    def owner_id(self) -> str:
        """This process's name in the ledger: unique per run, so a restart is a new owner."""
        base = self.instance_id or "delivery"
        return f"{base}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
