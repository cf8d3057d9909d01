"""API rate limits that hold across web processes: one counter per window, incremented atomically.

DRF's `SimpleRateThrottle` reads a list of timestamps from the cache, appends and writes it back: two
processes that read at once both pass (900 parallel requests let ~800 through a 600/min limit). Here
each request does one atomic `INCR` on the window's counter (Redis in production; Django's local
memory cache is atomic within a process), so exactly the limit passes per window. On Redis the
counter is created and counted in one round trip (`SET NX EX` and `INCR` in one MULTI), not the three
that Django's `add` and `incr` take, on one redis-py client per process: with the failed-authentication
check, two round trips an API request instead of four (issue 13).

Failed authentication (no key, a wrong, revoked or expired key) is counted per client address, so a
key cannot be guessed at the request rate. The address is `flex.client_ip.client_ip`: behind our load
balancer REMOTE_ADDR is the proxy's for every request (one guesser would throttle every partner), and
X-Forwarded-For is believed only as far as FLEX_TRUSTED_PROXY_COUNT of our own proxies vouch for it
(a client cannot pick a fresh address per guess).
"""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from flex.client_ip import client_ip


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class FixedWindowCounter:
    """At most `limit` hits per `period` seconds per identity; windows are aligned to the epoch."""

    def __init__(self, scope: str, rate: str, backend=None) -> None:
        self.scope = scope
        self.limit, self.period = parse_rate(rate)
        self.cache = backend or caches["default"]

    def _key(self, ident: str, now: float) -> tuple[str, float]:
        window = int(now // self.period)
        return f"throttle:{self.scope}:{ident}:{window}", (window + 1) * self.period - now

    def hit(self, ident: str) -> float | None:
        """Count one hit; None when allowed, else the seconds until the window ends."""
        now = time.time()  # noqa: TID251 - rate windows run on the wall clock, not domain time
        key, remaining = self._key(ident, now)
        count = self._redis_count(key) if isinstance(self.cache, RedisCache) else self._cache_count(key)
        return None if count <= self.limit else max(remaining, 1.0)

    def _redis_count(self, key: str) -> int:
        stored_key = self.cache.make_and_validate_key(key)
        with _redis_client(self.cache).pipeline(transaction=True) as pipeline:
            pipeline.set(stored_key, 0, ex=self.period + 1, nx=True)
            pipeline.incr(stored_key)
            _, count = pipeline.execute()
        return count

    def _cache_count(self, key: str) -> int:
        self.cache.add(key, 0, timeout=self.period + 1)
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr: the window just turned over
            self.cache.add(key, 0, timeout=self.period + 1)
            return self.cache.incr(key)

    def exceeded(self, ident: str) -> float | None:
        """Without counting: None while under the limit, else the seconds until the window ends."""
        now = time.time()  # noqa: TID251 - rate windows run on the wall clock, not domain time
        key, remaining = self._key(ident, now)
        if isinstance(self.cache, RedisCache):
            count = int(_redis_client(self.cache).get(self.cache.make_and_validate_key(key)) or 0)
        else:
            count = self.cache.get(key) or 0
        return None if count < self.limit else max(remaining, 1.0)


_redis_clients: WeakKeyDictionary[RedisCache, object] = WeakKeyDictionary()


def _redis_client(backend: RedisCache):
    """The redis-py client behind Django's Redis cache (same server, same keys, integers stored as
    Django stores them), made once per cache object: Django makes a new one for every call."""
    client = _redis_clients.get(backend)
    if client is None:
        client = _redis_clients[backend] = backend._cache.get_client(write=True)
    return client


def _rate(scope: str) -> str:
    return api_settings.DEFAULT_THROTTLE_RATES[scope]


def _address(request) -> str:
    return client_ip(request) or "unknown"


class PartnerRateThrottle(BaseThrottle):
    """Requests per API key (per address for a request without one)."""

    scope = "partner"

    def allow_request(self, request, view) -> bool:
        api_key = getattr(request, "auth", None)
        ident = f"key:{api_key.pk}" if api_key is not None else f"ip:{_address(request)}"
        self._wait = FixedWindowCounter(self.scope, _rate(self.scope)).hit(ident)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def refuse_if_failing_authentication(request) -> None:
    """Raise Throttled while this address is over its failed-authentication limit."""
    wait = FixedWindowCounter("failed_auth", _rate("failed_auth")).exceeded(_address(request))
    if wait is not None:
        raise Throttled(wait=wait, detail="Too many failed authentications from this address.")


def count_failed_authentication(request) -> None:
    FixedWindowCounter("failed_auth", _rate("failed_auth")).hit(_address(request))
