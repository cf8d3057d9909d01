"""API rate limits hold under real concurrency, and failed authentication is throttled per address
(issue 7 §2); the API docs load nothing from another host."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from flex.api.throttling import FixedWindowCounter
from tests.factories import PartnerFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def redis():
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL), as production has")
    backend = RedisCache(settings.REDIS_URL, {})
    yield backend
    backend.clear()


def test_600_per_minute_holds_for_900_parallel_requests(redis, monkeypatch):
    """900 hits from 30 threads, each with its own Redis connection, on one key: exactly 600 pass."""
    import time

    monkeypatch.setattr(time, "time", lambda: 1_800_000_010.0)  # one window for the whole run
    counters = [FixedWindowCounter("partner", "600/min", backend=RedisCache(settings.REDIS_URL, {})) for _ in range(30)]

    def burst(counter):
        return [counter.hit("key:1") is None for _ in range(30)]

    with ThreadPoolExecutor(max_workers=30) as pool:
        allowed = sum(sum(results) for results in pool.map(burst, counters))
    assert allowed == 600


@pytest.mark.parametrize("where", ["redis", "memory"])
def test_a_full_window_refuses_until_the_next_one_and_its_counter_expires(where, request, monkeypatch):
    import time

    from django.core.cache.backends.locmem import LocMemCache

    backend = request.getfixturevalue("redis") if where == "redis" else LocMemCache("throttle-test", {})
    now = [1_800_000_000.0]  # the start of a minute
    monkeypatch.setattr(time, "time", lambda: now[0])
    counter = FixedWindowCounter("partner", "2/min", backend=backend)
    assert [counter.hit("key:9") for _ in range(3)] == [None, None, 60.0]
    assert counter.exceeded("key:9") == 60.0
    now[0] += 60
    assert counter.hit("key:9") is None
    assert counter.exceeded("key:9") is None
    if where == "redis":  # each window's counter goes away after it: Redis does not fill up with them
        stored = backend.make_and_validate_key("throttle:partner:key:9:30000001")
        assert 0 < backend._cache.get_client().ttl(stored) <= 61


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_wrong_keys_are_throttled_per_client_address(settings):
    with_rates(settings, failed_auth="3/min")
    guesser = APIClient(REMOTE_ADDR="203.0.113.9")
    codes = [guesser.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key guess.{n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    # A different forwarded-for header does not make a new client: only REMOTE_ADDR counts.
    spoofed = guesser.get("/api/v1/products/", HTTP_AUTHORIZATION="Api-Key x.y", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert spoofed.status_code == 429
    assert spoofed["Content-Type"] == "application/problem+json"
    # Another address is not affected; a right key from it works.
    key = api_key_for(PartnerFactory(), ["catalogue:read"])
    other = APIClient(REMOTE_ADDR="203.0.113.10")
    assert other.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200


def test_behind_our_proxy_a_guesser_does_not_throttle_other_partners(settings):
    """Behind the load balancer every request has its address: the client is the hop it vouches for."""
    settings.FLEX_TRUSTED_PROXY_COUNT = 1
    with_rates(settings, failed_auth="3/min")
    guesser = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.20")
    codes = [guesser.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key guess.{n}").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # A claimed address left of the one our proxy appended does not make the guesser a new client.
    spoofed = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.20")
    assert spoofed.get("/api/v1/products/", HTTP_AUTHORIZATION="Api-Key x.y").status_code == 429
    key = api_key_for(PartnerFactory(), ["catalogue:read"])
    partner = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.21")
    assert partner.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200


def test_requests_without_a_key_count_as_failed_authentication(settings):
    with_rates(settings, failed_auth="2/min")
    anonymous = APIClient(REMOTE_ADDR="203.0.113.11")
    assert [anonymous.get("/api/v1/products/").status_code for _ in range(3)] == [401, 401, 429]


def test_api_docs_load_nothing_from_another_host(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert references, "the page should load Swagger UI"
    assert not [ref for ref in references if re.match(r"^(https?:)?//", ref)]
    assert "swagger-ui" in html and "cdn" not in html.lower()
    from django.contrib.staticfiles import finders

    for ref in references:
        if "/static/" in ref:
            assert finders.find(ref.split("/static/", 1)[1]), f"{ref} is not a file of the project"
