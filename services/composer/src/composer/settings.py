"""Composer configuration, read once from the environment."""

from pydantic import Field, SecretStr, field_validator

from mailkit.keys import MIN_SECRET_BYTES
from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8001
    database_schema: str = "composer"
    release_interval: float = Field(
        default=0.5, description="Seconds between scans for due scheduled campaigns."
    )
    release_batch: int = Field(default=100, description="Campaigns released per transaction.")
    max_request_bytes: int = Field(
        default=4 * 1024 * 1024, description="Larger request bodies are refused with 413."
    )
    processed_events_days: int = Field(
        default=7, description="How long handled event ids are kept to drop redeliveries."
    )
    recipients_url: str = Field(
        default="http://127.0.0.1:8002",
        description="The recipients service, asked for one recipient of a preview or test send.",
    )
    tracking_base_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Tracking's public base URL, as previews show it in links.",
    )
    run_scheduler: bool = Field(
        default=True, description="Run the release scheduler and outbox relay in this process."
    )

    # ------------------------------------------------------------------ sending domains
    signing_keys_secret: SecretStr = Field(
        description="Required. Seals the DKIM private keys at rest and in events (delivery "
        "holds the same value); at least 32 bytes."
    )
    dns_resolver: str = Field(
        default="",
        description="Resolver for sending-domain checks, IP:port (e.g. 127.0.0.1:5353); "
        "empty: the system's resolvers.",
    )
    dns_timeout: float = Field(default=5.0, description="Seconds one DNS check may take.")
    spf_include: str = Field(
        default="spf.bulkmail.localhost",
        description="The platform's SPF record, shown as `include:` in every domain's SPF.",
    )
    bounce_subdomain: str = Field(
        default="bounces",
        description="Label of the return-path domain `<label>.<sending domain>`.",
    )
    bounce_host: str = Field(
        default="bounces.bulkmail.localhost",
        description="Host of the bounce intake: the return-path domain's MX points there.",
    )
    dmarc_rua: str = Field(
        default="mailto:dmarc-reports@{domain}",
        description="rua= of the suggested DMARC record; {domain} is the sending domain.",
    )

    @field_validator("signing_keys_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return value

    session_hours: float = Field(
        default=12, description="Lifetime of the session key a password sign-in issues."
    )
    login_failure_limit: int = Field(
        default=5, description="Failed sign-ins per address before sign-in is refused."
    )
    login_failure_minutes: int = Field(
        default=15, description="Window of the failed sign-in count (and how long it lasts)."
    )
