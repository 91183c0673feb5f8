"""Per-credential, per-category rate limits (the `limits` library; memory or Redis storage)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import limits
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from rapport.kit.errors import RateLimited


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


@lru_cache(maxsize=256)
def parse_limit(spec: str) -> limits.RateLimitItem:
    return limits.parse(spec)


def validate_limit(spec: str) -> str:
    """`spec` if it is one limit of at least one request, such as `100/minute`."""
    if ";" in spec or "," in spec:
        raise ValueError("one limit per category")
    if parse_limit(spec).amount < 1:
        raise ValueError("at least 1 request per period")
    return spec


class RateLimiter:
    """Counts hits per (identity, category) in fixed windows.

    Memory storage by default (per process); set RAPPORT_REDIS_URL to share counters between
    processes and hosts.
    """

    def __init__(self, defaults: Mapping[str, str], redis_url: str | None = None) -> None:
        uri = f"async+{redis_url}" if redis_url else "async+memory://"
        self.defaults = dict(defaults)
        self.limiter = FixedWindowRateLimiter(storage_from_string(uri))

    async def hit(
        self, identity: str, category: str, overrides: Mapping[str, str] | None = None
    ) -> RateLimitState:
        spec = (
            (overrides or {}).get(category) or self.defaults.get(category) or self.defaults["write"]
        )
        item = parse_limit(spec)
        allowed = await self.limiter.hit(item, identity, category)
        stats = await self.limiter.get_window_stats(item, identity, category)
        state = RateLimitState(item.amount, max(stats.remaining, 0), math.ceil(stats.reset_time))
        if not allowed:
            retry_after = max(1, state.reset - math.floor(time.time()))
            raise RateLimited(
                f"Rate limit of {spec} for {category} requests exceeded; retry in {retry_after} s",
                headers={**state.headers(), "Retry-After": str(retry_after)},
            )
        return state
