"""Re-open suppression state in Redis: each message's last open, swapped atomically.

One key per message, `<prefix>open:<message id>` = `<last ms>:<last event id>:<previous ms>`,
expiring `ttl` after the last write. The expiry only needs to outlast the one-hour window:
PostgreSQL keeps each message's last open durably, and a message Redis does not know is
looked up there (first open, expiry, or a Redis that restarted empty), so losing Redis
costs a lookup, never a wrong classification.

A whole batch goes in one script call, so the check-and-set of every open is atomic even
with several notifier instances, and costs one round trip per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from redis.asyncio import Redis

from notifier.domain import Hit, epoch_ms

# Per open: a redelivered event (same id as the stored last open) gets the answer it got the
# first time; a newer open replaces the last one; an older one (late) changes nothing.
# The batch travels as one string, `<message hex>,<ms>,<event hex>;...`, and the answers come
# back as one string, `<previous ms or empty>,...`: redis-py packs and parses thousands of
# separate arguments far slower than Redis runs the script. Keys are built in the script,
# which is fine for the single Redis node this service uses (not for Redis Cluster).
SWAP_LAST_OPENS = """
local prefix, ttl = ARGV[1], ARGV[2]
local out = {}
for message, t, id in string.gmatch(ARGV[3], '(%x+),(%d+),(%x+)') do
  local key = prefix .. message
  local cur = redis.call('GET', key)
  local answer = ''
  if cur then
    local last, last_id, prev = string.match(cur, '^(%d+):(%x*):(%d*)$')
    if last_id == id then
      answer = prev
    else
      answer = last
      if tonumber(t) > tonumber(last) then
        redis.call('SET', key, t .. ':' .. id .. ':' .. last, 'PX', ttl)
      end
    end
  else
    redis.call('SET', key, t .. ':' .. id .. ':', 'PX', ttl)
  end
  out[#out + 1] = answer
end
return table.concat(out, ',')
"""


class RedisSuppressionState:
    def __init__(self, redis: Redis, *, prefix: str, ttl_s: float, chunk: int = 5000) -> None:
        self._redis = redis
        self._prefix = prefix + "open:"
        self._ttl_ms = str(int(ttl_s * 1000))
        self._chunk = chunk
        self._script = redis.register_script(SWAP_LAST_OPENS)

    async def ping(self) -> None:
        await self._redis.ping()

    async def swap_last_opens(self, opens: Sequence[Hit]) -> dict[UUID, datetime | None]:
        answers: dict[UUID, datetime | None] = {}
        for i in range(0, len(opens), self._chunk):
            part = opens[i : i + self._chunk]
            packed = ";".join(
                f"{h.message_id.hex},{epoch_ms(h.occurred_at)},{h.event_id.hex}" for h in part
            )
            reply = await self._script(keys=[], args=[self._prefix, self._ttl_ms, packed])
            text = reply.decode() if isinstance(reply, bytes) else str(reply)
            for hit, previous in zip(part, text.split(","), strict=True):
                answers[hit.event_id] = (
                    datetime.fromtimestamp(int(previous) / 1000, UTC) if previous else None
                )
        return answers
