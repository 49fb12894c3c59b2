"""Development SMTP sink (SPEC §8): catches mail and lists it over HTTP, and answers chosen
recipients as mailbox providers do (bounce, deferral, block, mailbox full, greylisting,
slow replies, per-domain rate limits); README.md lists the replies."""

from devsink.app import DevSink, SinkConfig
from devsink.policy import RecipientPolicy
from devsink.store import MessageStore, StoredMessage

__all__ = ["DevSink", "MessageStore", "RecipientPolicy", "SinkConfig", "StoredMessage"]
