"""Console configuration, read once from the environment."""

from pydantic import Field

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8000
    composer_url: str = Field(default="http://127.0.0.1:8001", description="Composer's API.")
    recipients_url: str = Field(default="http://127.0.0.1:8002", description="Recipients' API.")
    redis_key_prefix: str = Field(default="console:", description="Prefix of Redis keys.")
    session_idle_minutes: int = Field(
        default=120,
        description="A session unused this long ends (its key expires sooner "
        "when the composer's session lifetime is shorter).",
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure; unset: when the request came over HTTPS (behind a "
        "proxy, pass X-Forwarded-Proto and run uvicorn with --proxy-headers).",
    )
    login_limit_per_ip: int = Field(
        default=50, description="Failed sign-ins from one IP address before it must wait."
    )
    login_limit_per_address: int = Field(
        default=10, description="Failed sign-ins for one email address before it must wait."
    )
    login_limit_minutes: int = Field(default=15, description="Window of the sign-in limits.")
    default_locale: str = Field(default="ja", description="ja or en.")
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024, description="Largest CSV file an import accepts."
    )
    api_timeout_s: float = Field(default=30.0, description="Timeout of one API call.")
