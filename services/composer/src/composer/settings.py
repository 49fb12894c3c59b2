"""Composer configuration, read once from the environment."""

from pydantic import Field

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
