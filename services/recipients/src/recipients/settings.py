"""Recipients configuration, read once from the environment."""

from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8002
    consumer_group: str = "recipients"
    database_schema: str = "recipients"
