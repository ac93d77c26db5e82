"""Sliding-window request limits per credential, and the throttle on refused credentials.

The windows live in the process (`MemoryWindows`, one instance) or in Redis (`RedisWindows`,
REDIS_URL set), where every instance counts against the same window: behind a load balancer
a key still gets its limit, not N times it. Redis checks and counts in one Lua script, so two
instances asking at the same moment cannot both take the last slot; its clock decides, so the
instances' clocks need not agree.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.errors import SharedStateUnavailableError
from app.core.settings import RateLimit


class Windows(Protocol):
    """Request times per key, shared by whoever holds the same store."""

    async def take(self, key: str, limit: RateLimit, *, count: bool) -> int | None:
        """None if `key` is within `limit` (counting one request when `count`), else the seconds to wait."""
        ...

    async def first(self, key: str, seconds: int) -> bool:
        """True for the first call with `key` in a window of `seconds`."""
        ...

    async def status(self, key: str, limit: RateLimit) -> tuple[int, int]:
        """The requests `key` used in its window and the seconds until one is freed (0: none used)."""
        ...


class MemoryWindows:
    """In the process: right for one instance."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._firsts: dict[str, float] = {}

    async def status(self, key: str, limit: RateLimit) -> tuple[int, int]:
        now = self.clock()
        window = self._seen.get(key) or deque()
        used = [at for at in window if at > now - limit.period_seconds]
        reset = max(1, math.ceil(used[0] + limit.period_seconds - now)) if used else 0
        return len(used), reset

    async def take(self, key: str, limit: RateLimit, *, count: bool) -> int | None:
        now = self.clock()
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - limit.period_seconds:
            window.popleft()
        if len(window) >= limit.requests:
            return max(1, math.ceil(window[0] + limit.period_seconds - now))
        if count:
            window.append(now)
        return None

    async def first(self, key: str, seconds: int) -> bool:
        now = self.clock()
        for old in [k for k, at in self._firsts.items() if at <= now - seconds]:
            del self._firsts[old]
        if key in self._firsts:
            return False
        self._firsts[key] = now
        return True


# KEYS[1]: the window (a sorted set of request times in ms); ARGV: period in ms, limit, count (0/1), a unique member.
# Returns -1 when allowed, else the milliseconds until the oldest request leaves the window.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local period = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + period - now
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], period)
end
return -1
"""


class RedisWindows:
    """In Redis, under `prefix`: shared by every instance given the same REDIS_URL."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._take = redis.register_script(_TAKE)

    async def take(self, key: str, limit: RateLimit, *, count: bool) -> int | None:
        args: list[Any] = [limit.period_seconds * 1000, limit.requests, "1" if count else "0", uuid.uuid4().hex]
        try:
            wait_ms = int(await self._take(keys=[f"{self.prefix}window:{key}"], args=args))
        except RedisError as error:
            raise SharedStateUnavailableError(
                f"the rate-limit store (REDIS_URL) is unavailable: {error}",
                zh="限流存储（REDIS_URL）不可用，请稍后再试",
            ) from None
        return None if wait_ms < 0 else max(1, math.ceil(wait_ms / 1000))

    async def first(self, key: str, seconds: int) -> bool:
        try:
            return bool(await self.redis.set(f"{self.prefix}first:{key}", b"1", nx=True, ex=seconds))
        except RedisError as error:
            raise SharedStateUnavailableError(
                f"the rate-limit store (REDIS_URL) is unavailable: {error}",
                zh="限流存储（REDIS_URL）不可用，请稍后再试",
            ) from None

    async def status(self, key: str, limit: RateLimit) -> tuple[int, int]:
        name, period = f"{self.prefix}window:{key}", limit.period_seconds * 1000
        try:
            seconds, micros = await self.redis.time()
            now = seconds * 1000 + micros // 1000
            used = await self.redis.zcount(name, now - period + 1, "+inf")
            oldest = await self.redis.zrangebyscore(name, now - period + 1, "+inf", start=0, num=1, withscores=True)
        except RedisError as error:
            raise SharedStateUnavailableError(
                f"the rate-limit store (REDIS_URL) is unavailable: {error}",
                zh="限流存储（REDIS_URL）不可用，请稍后再试",
            ) from None
        reset = max(1, math.ceil((float(oldest[0][1]) + period - now) / 1000)) if oldest else 0
        return int(used), reset


class RateLimiter:
    def __init__(self, limit: RateLimit, windows: Windows | None = None, *, name: str = "requests") -> None:
        self.limit = limit
        self.windows = windows or MemoryWindows()
        self.name = name

    async def retry_after(self, key: object) -> int | None:
        """Count one request for `key`: None if allowed, else the seconds to wait."""
        return await self.windows.take(f"{self.name}:{key}", self.limit, count=True)

    async def wait(self, key: object) -> int | None:
        """The seconds `key` must wait now, or None; counts nothing."""
        return await self.windows.take(f"{self.name}:{key}", self.limit, count=False)

    async def status(self, key: object) -> tuple[int, int, int]:
        """The limit, the requests left in the window, and the seconds until one is freed (0 if
        none is used): what the X-RateLimit-* headers tell a client. Counts nothing."""
        used, reset = await self.windows.status(f"{self.name}:{key}", self.limit)
        return self.limit.requests, max(0, self.limit.requests - used), reset


@dataclass
class Refusals:
    """Refused credentials of one client address, for one reason, in one window."""

    source: str
    reason: str
    first: float
    count: int = 0
    hints: set[str] = field(default_factory=set)
    requests: set[str] = field(default_factory=set)


class FailedAuthentication:
    """Refused credentials per client address. Past `limit` refusals in a window the address is
    answered 429 until the window ends, before the database is asked. The audit trail gets the
    first refusal of each (address, reason) at once and the rest as one row per window with
    their count, so a client guessing keys cannot fill the trail or slow real writes.

    With shared windows the limit and "the first" hold across instances; the count of the rest is
    kept by each instance and written by it, so the rows of one window add up to the refusals."""

    def __init__(
        self, limit: RateLimit, windows: Windows | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        windows = windows or MemoryWindows(clock)
        self.limiter = RateLimiter(limit, windows, name="refused")
        self.windows = windows
        self.clock = clock
        self.window = limit.period_seconds
        self._open: dict[tuple[str, str], Refusals] = {}

    async def blocked(self, source: str) -> int | None:
        """Seconds to wait when this address is over its limit, without counting a new refusal."""
        return await self.limiter.wait(source)

    async def refused(self, source: str, reason: str, hint: str, request: str) -> bool:
        """Count one refusal; True when it is the first of its (address, reason) in the window,
        to be audited at once."""
        await self.limiter.retry_after(source)
        if await self.windows.first(f"refused-first:{source}|{reason}", self.window):
            return True
        refusals = self._open.get((source, reason))
        if refusals is None:
            refusals = self._open[(source, reason)] = Refusals(source, reason, self.clock())
        refusals.count += 1
        refusals.hints.add(hint)
        refusals.requests.add(request)
        return False

    def closed(self, *, everything: bool = False) -> list[Refusals]:
        """The windows that ended (all of them, at shutdown) with refusals beyond the first."""
        now, done = self.clock(), []
        for key, refusals in list(self._open.items()):
            if everything or refusals.first <= now - self.window:
                del self._open[key]
                if refusals.count:
                    done.append(refusals)
        return done
