"""Configuration shared by every service, read once from the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Variables every service understands (SPEC §8). Services subclass to add their own."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092")
    database_url: str = Field(default="postgresql://bulkmail:bulkmail@127.0.0.1:5432/bulkmail")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0")
    smtp_host: str = Field(default="127.0.0.1")
    smtp_port: int = Field(default=2525)
    tracking_base_url: str = Field(default="http://127.0.0.1:8004")
    token_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key for tracking/unsubscribe/bounce tokens; "
        "'kid:hex,kid:hex' lists several keys, the first signs, all verify.",
    )
    kafka_namespace: str = Field(
        default="",
        description="Prefix of every topic and consumer group name; lets a test run its "
        "own copy of the topics beside the running stack.",
    )
    http_host: str = Field(default="127.0.0.1")
    http_port: int = Field(default=0, description="Port of /healthz, /metrics and the API.")
    instance_id: str = Field(default="", description="Distinguishes processes of one service.")
    log_level: str = Field(default="INFO")
