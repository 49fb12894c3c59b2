"""Delivery configuration, read once from the environment."""

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8003
    consumer_group: str = "delivery"
    database_schema: str = "delivery"
