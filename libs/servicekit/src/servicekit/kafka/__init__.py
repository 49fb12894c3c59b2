"""Kafka plumbing shared by every service: one durable producer and batch sender, one
publisher port, dead letters, and subscriptions declared as data (see `subscriptions`)."""

from servicekit.kafka.broker import Bus, KafkaBus, asyncapi, consumer_broker, kafka_bus
from servicekit.kafka.deadletter import DeadLetters
from servicekit.kafka.producer import (
    BatchSender,
    Record,
    durable_producer,
    kafka_murmur2,
    producing,
)
from servicekit.kafka.publisher import EventPublisher, event_headers, event_record
from servicekit.kafka.subscriptions import Batch, Received, Subscription, register

__all__ = [
    "Batch",
    "BatchSender",
    "Bus",
    "DeadLetters",
    "EventPublisher",
    "KafkaBus",
    "Received",
    "Record",
    "Subscription",
    "asyncapi",
    "consumer_broker",
    "durable_producer",
    "event_headers",
    "event_record",
    "kafka_bus",
    "kafka_murmur2",
    "producing",
    "register",
]
