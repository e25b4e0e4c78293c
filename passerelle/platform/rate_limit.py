"""Token buckets per caller: how the codec server and the partner portal bound what one caller asks.

Each caller (an address, a token's subject, a link) has a bucket that holds up to `per_minute`
tokens and refills at `per_minute` a minute; a request spends its cost and is refused when the
bucket cannot pay. A caller that was quiet for a minute can therefore burst `per_minute` requests
at once (reading one long history in a few seconds), but never sustain more. A bucket is two
numbers, and the buckets live in a bounded LRU cache: a flood of new callers cannot grow memory,
and evicting a bucket only forgets one that has been idle the longest.
"""

import time

from cachetools import LRUCache

MAX_CALLERS = 10_000


class RateLimit:
    """At most `per_minute` (weighted) requests per caller, in a token bucket per caller."""

    def __init__(self, per_minute: int, max_callers: int = MAX_CALLERS) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(per_minute)
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(maxsize=max_callers)

    def allow(self, caller: str, cost: float = 1.0, now: float | None = None) -> bool:
        """Spend `cost` of `caller`'s budget; return False (spending nothing) when it cannot pay."""
        now = time.monotonic() if now is None else now
        cost = min(cost, self._burst)  # a request dearer than the whole bucket still passes when full
        tokens, last = self._buckets.get(caller, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        allowed = tokens >= cost
        self._buckets[caller] = (tokens - cost if allowed else tokens, now)
        return allowed
