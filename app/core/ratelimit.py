"""A sliding-window request limit per credential, kept in the process.

Each instance counts its own requests: behind a load balancer with N instances a key
gets at most N times the limit. That bounds a runaway client, which is the purpose here.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.settings import RateLimit


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._seen: dict[object, deque[float]] = {}

    def retry_after(self, key: object) -> int | None:
        """Count one request for `key`: None if allowed, else the seconds to wait."""
        wait = self.wait(key)
        if wait is None:
            self._seen[key].append(self.clock())
        return wait

    def status(self, key: object) -> tuple[int, int, int]:
        """The limit, the requests left in the window, and the seconds until one is freed (0 if
        none is used): what the X-RateLimit-* headers tell a client. Counts nothing."""
        window = self._seen.get(key) or deque()
        used = len(window)
        reset = max(1, math.ceil(window[0] + self.limit.period_seconds - self.clock())) if window else 0
        return self.limit.requests, max(0, self.limit.requests - used), reset

    def wait(self, key: object) -> int | None:
        """The seconds `key` must wait now, or None; counts nothing."""
        now = self.clock()
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - self.limit.period_seconds:
            window.popleft()
        if len(window) >= self.limit.requests:
            return max(1, math.ceil(window[0] + self.limit.period_seconds - now))
        return None


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
    their count, so a client guessing keys cannot fill the trail or slow real writes."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = RateLimiter(limit, clock)
        self.clock = clock
        self.window = limit.period_seconds
        self._open: dict[tuple[str, str], Refusals] = {}

    def blocked(self, source: str) -> int | None:
        """Seconds to wait when this address is over its limit, without counting a new refusal."""
        return self.limiter.wait(source)

    def refused(self, source: str, reason: str, hint: str, request: str) -> bool:
        """Count one refusal; True when it is the first of its (address, reason) in the window,
        to be audited at once."""
        self.limiter.retry_after(source)
        refusals = self._open.get((source, reason))
        if refusals is None:
            self._open[(source, reason)] = Refusals(source, reason, self.clock())
            return True
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
