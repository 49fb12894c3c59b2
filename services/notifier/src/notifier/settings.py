"""Notifier configuration, read once from the environment."""

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8005
    consumer_group: str = "notifier"
    database_schema: str = "notifier"
