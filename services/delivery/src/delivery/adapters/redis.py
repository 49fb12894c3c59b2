"""Shared shaping state in Redis: concurrency slots, token buckets and the slow-down of
each destination, so that limits hold across every delivery process.

Each operation is one Lua script (atomic, one round trip) that reads the time from Redis
itself, so that processes on hosts with different clocks share one notion of "now".

- slots: a sorted set per scope, member = the holder (process and sender), score = when
  the slot expires; holders renew theirs, a dead process's slots lapse by themselves;
- bucket: a hash per scope with the tokens left, when they were counted, and the tokens
  granted this second and the one before (with what the asking process saw itself
  send, what "measured rate" means for a slow-down);
- adapt: a hash per scope with the rate a slow-down set and when; the rate in force grows
  back linearly from it, and the hash expires once it no longer matters.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from delivery.ports import Grant
from delivery.shaping.config import Adaptive

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# The rate in force (per ms; 0: none): the fixed one, or the slow-down's while it is lower.
_RATE = """
local function rate_in_force(adapt_key, fixed, recover, now)
  local a = redis.call('HMGET', adapt_key, 'rate', 'at')
  if a[1] then
    local grown = tonumber(a[1]) * (1 + (now - tonumber(a[2])) / recover)
    if fixed == 0 or grown < fixed then return grown end
  end
  return fixed
end
"""

ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or
   redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
"""
)

RENEW = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
local lost = {}
for i, key in ipairs(KEYS) do
  local holder, limit = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, holder) or redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + ttl, holder)
    redis.call('PEXPIRE', key, ttl)
  else
    lost[#lost + 1] = i - 1  -- it lapsed and someone else took it
  end
end
return lost
"""
)

TAKE = (
    _NOW
    + _RATE
    + """
local want = tonumber(ARGV[1])
local rate = rate_in_force(KEYS[2], tonumber(ARGV[2]) / 60000, tonumber(ARGV[3]), now)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'sec', 'n', 'prev')
local sec = math.floor(now / 1000)
local n, prev = tonumber(b[4]) or 0, tonumber(b[5]) or 0
local counted = tonumber(b[3]) or sec
if counted ~= sec then
  if counted == sec - 1 then prev = n else prev = 0 end
  n = 0
end
local grant, wait = want, 0
if rate > 0 then
  local cap = math.max(1, rate * tonumber(ARGV[4]))
  local tokens = tonumber(b[1]) or cap
  tokens = math.min(cap, tokens + (now - (tonumber(b[2]) or now)) * rate)
  grant = math.min(want, math.floor(tokens))
  tokens = tokens - grant
  if grant == 0 then wait = math.ceil((1 - tokens) / rate) end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
end
redis.call('HSET', KEYS[1], 'sec', sec, 'n', n + grant, 'prev', prev)
redis.call('PEXPIRE', KEYS[1], 3600000)
return {grant, wait, tostring(rate * 60000)}
"""
)

SLOW_DOWN = (
    _NOW
    + _RATE
    + """
local fixed, recover = tonumber(ARGV[1]) / 60000, tonumber(ARGV[3])
local a = redis.call('HMGET', KEYS[2], 'at')
local current = rate_in_force(KEYS[2], fixed, recover, now)
if a[1] and now - tonumber(a[1]) < tonumber(ARGV[4]) then
  return tostring(current * 60000)  -- the same burst of answers: already slowed
end
local b = redis.call('HMGET', KEYS[1], 'sec', 'n', 'prev')
local measured, sec = 0, math.floor(now / 1000)
if tonumber(b[1]) == sec then
  measured = (tonumber(b[2]) + tonumber(b[3])) / (1000 + now % 1000)
elseif tonumber(b[1]) == sec - 1 then
  measured = tonumber(b[2]) / 1000
end
measured = math.max(measured, tonumber(ARGV[6]) / 60000)
local base = current
if base == 0 or (measured > 0 and measured < base) then base = measured end
local floor = tonumber(ARGV[5]) / 60000
local slowed = math.max(floor, base * tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], 'rate', tostring(slowed), 'at', now)
redis.call('PEXPIRE', KEYS[2], math.ceil(recover * 10))
return tostring(slowed * 60000)
"""
)


class RedisShaper:
    def __init__(self, redis: Redis, *, prefix: str, adaptive: Adaptive, slot_ttl: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._adaptive = adaptive
        self._ttl_ms = max(1, round(slot_ttl * 1000))
        self._acquire = redis.register_script(ACQUIRE)
        self._renew = redis.register_script(RENEW)
        self._take = redis.register_script(TAKE)
        self._slow_down = redis.register_script(SLOW_DOWN)

    def _key(self, kind: str, scope: str) -> str:
        return f"{self._prefix}{kind}:{scope}"

    async def acquire(self, scope: str, holder: str, limit: int) -> bool:
        keys = [self._key("slots", scope)]
        return bool(await self._acquire(keys=keys, args=[holder, limit, self._ttl_ms]))

    async def release(self, scope: str, holder: str) -> None:
        await self._redis.zrem(self._key("slots", scope), holder)

    async def renew(self, held: Sequence[tuple[str, str, int]]) -> list[int]:
        if not held:
            return []
        keys = [self._key("slots", scope) for scope, _, _ in held]
        args: list[str | int] = [self._ttl_ms]
        for _, holder, limit in held:
            args += [holder, limit]
        return [int(i) for i in await self._renew(keys=keys, args=args)]

    async def take(self, scope: str, wanted: int, per_minute: int) -> Grant:
        granted, wait_ms, rate = await self._take(
            keys=[self._key("bucket", scope), self._key("adapt", scope)],
            args=[wanted, per_minute, self._recover_ms(), 1000],
        )
        return Grant(int(granted), int(wait_ms) / 1000, float(rate))

    async def slow_down(self, scope: str, per_minute: int, observed: float) -> float:
        a = self._adaptive
        rate = await self._slow_down(
            keys=[self._key("bucket", scope), self._key("adapt", scope)],
            args=[per_minute, a.decrease, self._recover_ms(), a.hold_seconds * 1000,
                  a.min_per_minute, observed],
        )  # fmt: skip
        return float(rate)

    def _recover_ms(self) -> float:
        return max(1.0, self._adaptive.recover_seconds * 1000)
