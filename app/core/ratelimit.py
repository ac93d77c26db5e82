"""A sliding-window request limit per credential, kept in the process.

Each instance counts its own requests: behind a load balancer with N instances a key
gets at most N times the limit. That bounds a runaway client, which is the purpose here.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from app.core.settings import RateLimit


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._seen: dict[object, deque[float]] = {}

    def retry_after(self, key: object) -> int | None:
        """Count one request for `key`: None if allowed, else the seconds to wait."""
        now = self.clock()
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - self.limit.period_seconds:
            window.popleft()
        if len(window) >= self.limit.requests:
            return max(1, math.ceil(window[0] + self.limit.period_seconds - now))
        window.append(now)
        return None
