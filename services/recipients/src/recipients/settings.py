"""Recipients configuration, read once from the environment."""

from pydantic import Field, PositiveInt, field_validator

from recipients.textstream import Limits
from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8002
    database_schema: str = "recipients"
    composer_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Where API keys are verified and owners confirmed as users of the tenant.",
    )
    resolve_batch_size: PositiveInt = Field(
        default=5000, description="Customers per audience batch (and per checkpoint)."
    )
    resolve_max_in_flight: PositiveInt = Field(
        default=4, description="Audience batches published but not yet acknowledged."
    )
    resolve_max_minutes: PositiveInt = Field(
        default=30,
        description="Longest audience resolution the consumer group tolerates before it "
        "considers the consumer dead (Kafka max.poll.interval).",
    )
    recipient_batch_bytes: int = Field(
        default=512 * 1024, description="Size of the Kafka record batches of RecipientResolved."
    )
    recipient_compression: str | None = Field(
        default="zstd",
        description="Compression of the RecipientResolved batches (gzip, snappy, lz4, zstd or "
        "none): a million JSON recipients shrink several times, which the broker feels more "
        "than the compression costs here.",
    )
    import_listed_rejects: int = Field(
        default=1000, description="Rejected rows listed in an import report (all are counted)."
    )
    max_request_bytes: PositiveInt = Field(
        default=1024 * 1024,
        description="Larger request bodies (imports aside) are refused with 413, counted as "
        "they stream.",
    )
    import_max_bytes: PositiveInt = Field(
        default=200 * 1024 * 1024, description="Largest import body (413 beyond)."
    )
    import_max_line_bytes: PositiveInt = Field(
        default=64 * 1024, description="Longest line of an import file (422 beyond)."
    )
    import_max_record_bytes: PositiveInt = Field(
        default=64 * 1024,
        description="Longest CSV record that spans lines through quoted newlines (422 beyond).",
    )
    import_max_rows: PositiveInt = Field(
        default=5_000_000, description="Most data rows in one import file (413 beyond)."
    )
    import_max_owners: PositiveInt = Field(
        default=1000,
        description="Most different owners one import may name; each is confirmed with the "
        "composer (422 beyond).",
    )
    run_outbox_relay: bool = Field(
        default=True, description="Publish the outbox (Unsubscribed events of staff)."
    )

    @field_validator("recipient_compression")
    @classmethod
    def _none_means_uncompressed(cls, value: str | None) -> str | None:
        return None if value in (None, "", "none") else value

    def import_limits(self) -> Limits:
        return Limits(
            max_line_bytes=self.import_max_line_bytes,
            max_record_bytes=self.import_max_record_bytes,
            max_rows=self.import_max_rows,
        )

    def body_limit(self, path: str) -> int:
        """Imports stream large files; every other body is a small JSON document."""
        return self.import_max_bytes if path.endswith("/import") else self.max_request_bytes
