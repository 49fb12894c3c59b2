"""Tracking configuration, read once from the environment."""

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8004
    consumer_group: str = "tracking"
    database_schema: str = "tracking"
