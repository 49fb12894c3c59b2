"""Records land where Kafka's default partitioner would put them."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from servicekit.kafka import kafka_murmur2


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=64))
def test_same_hash_as_the_reference(key):
    assert kafka_murmur2(key) == murmur2(key)


def test_message_ids_hash_like_the_reference():
    keys = [uuid.uuid4().bytes for _ in range(2000)]
    assert [kafka_murmur2(k) for k in keys] == [murmur2(k) for k in keys]
