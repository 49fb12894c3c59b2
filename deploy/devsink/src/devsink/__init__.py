"""Development SMTP sink (SPEC §8): accepts, bounces or defers mail and lists it over HTTP."""

from devsink.app import DevSink, SinkConfig
from devsink.policy import RecipientPolicy
from devsink.store import MessageStore, StoredMessage

__all__ = ["DevSink", "MessageStore", "RecipientPolicy", "SinkConfig", "StoredMessage"]
