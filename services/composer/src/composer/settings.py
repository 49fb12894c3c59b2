"""Composer configuration, read once from the environment."""

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8001
    consumer_group: str = "composer"
    database_schema: str = "composer"
