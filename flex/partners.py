"""What every partner adapter shares: choosing the implementation, errors, signatures and HTTP.

Each partner (identity provider, credit bureau, payment provider, warehouse, carrier, Radio HD) has
one interface in `<app>/adapters/<partner>.py` with a sandbox and an HTTP implementation. Which one
runs is a setting (`FLEX_PARTNER_<KIND>=sandbox|http`, with `_URL`, `_KEY`, `_SECRET`), read here.
The sandboxes and their published secrets work only in sandbox mode (`FLEX_SANDBOX`); elsewhere a
partner without a real configuration is a system-check error that stops start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class PartnerError(Exception):
    """A partner call did not give an answer we can use."""


class PartnerTimeout(PartnerError):  # noqa: N818 - reads as the partner's answer
    """No answer in time, or a 5xx: worth retrying later (the jobs retry with backoff)."""


class PartnerRejected(PartnerError):  # noqa: N818 - reads as the partner's answer
    """The partner refused the request (4xx): retrying the same request will not help."""


class BadSignature(PartnerError):  # noqa: N818 - reads as the partner's answer
    """A webhook whose signature does not match, or that is too old to be anything but a replay."""


@dataclass(frozen=True)
class PartnerConfig:
    kind: str
    implementation: str
    url: str
    key: str
    secret: str
    partner_code: str


def config(kind: str) -> PartnerConfig:
    return settings.FLEX_PARTNERS[kind]


def adapter(kind: str, implementations: dict[str, str]) -> Any:
    """An instance of the configured implementation for `kind` ("sandbox" or "http")."""
    cfg = config(kind)
    if cfg.implementation == "sandbox" and not settings.FLEX_SANDBOX:
        raise ImproperlyConfigured(f"FLEX_PARTNER_{kind.upper()}=sandbox outside sandbox mode (FLEX_SANDBOX)")
    try:
        path = implementations[cfg.implementation]
    except KeyError:
        raise LookupError(
            f"FLEX_PARTNER_{kind.upper()}={cfg.implementation!r}: choose one of {sorted(implementations)}"
        ) from None
    return import_string(path)(cfg)


def configuration_errors(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: outside sandbox mode every partner is the HTTP client with URL, key and secret.

    Registered for every command and run by the WSGI/ASGI entry points, so an unconfigured partner
    stops start-up instead of leaving a sandbox with a published secret in production.
    """
    errors = []
    for kind, cfg in settings.FLEX_PARTNERS.items():
        prefix = f"FLEX_PARTNER_{kind.upper()}"
        if cfg.implementation == "sandbox":
            if settings.FLEX_SANDBOX:
                continue
            errors.append(
                checks.Error(
                    f"{prefix}=sandbox while sandbox mode is off: the sandbox accepts its published secret.",
                    hint=f"Configure the real provider ({prefix}=http with _URL, _KEY, _SECRET), "
                    "or set FLEX_SANDBOX=1 on a machine that is not production.",
                    id="flex.E001",
                )
            )
            continue
        missing = [
            f"{prefix}{suffix}"
            for suffix, value in (
                ("", cfg.implementation),
                ("_URL", cfg.url),
                ("_KEY", cfg.key),
                ("_SECRET", cfg.secret),
            )
            if not value
        ]
        if missing:
            errors.append(
                checks.Error(
                    f"partner {kind!r} has no real configuration: {', '.join(missing)} not set.",
                    hint=f"Set {prefix}=http with {prefix}_URL, {prefix}_KEY and {prefix}_SECRET "
                    "(or FLEX_SANDBOX=1 on a machine that is not production).",
                    id="flex.E002",
                )
            )
    return errors


def refuse_to_start_misconfigured() -> None:
    """Called by the WSGI/ASGI entry points (servers do not run system checks themselves)."""
    if errors := configuration_errors():
        raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg}" for error in errors))


# Webhook signatures: HMAC-SHA256 over "<unix time>.<body>", sent as `t=<unix time>,v1=<hex>`, as the
# large payment providers do; the time inside the signature limits replays to the tolerance window.
SIGNATURE_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at  # noqa: TID251 - the partner's wall clock, not domain time
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(body: bytes, header: str, secret: str, now: int | None = None) -> None:
    """Raise `BadSignature` unless `header` signs `body` with `secret` within the tolerance window."""
    if not secret:
        raise BadSignature("no webhook secret is configured: nothing can be verified")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        at, given = int(parts["t"]), parts["v1"]
    except (ValueError, KeyError):
        raise BadSignature("signature header must read t=<unix time>,v1=<hex digest>") from None
    now = int(time.time()) if now is None else now  # noqa: TID251 - replay window on the wall clock
    if abs(now - at) > SIGNATURE_TOLERANCE_SECONDS:
        raise BadSignature("signature timestamp outside the 5-minute window")
    expected = sign(body, secret, at).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise BadSignature("signature does not match the body")


class JsonHttpClient:
    """The HTTP boundary to a real provider: JSON in and out, key-authenticated, signed, with timeouts.

    Timeouts, connection errors and 5xx become `PartnerTimeout` (retry later); 4xx `PartnerRejected`.
    """

    def __init__(self, cfg: PartnerConfig, timeout: float = 10.0) -> None:
        import httpx

        if not cfg.url:
            raise LookupError(f"FLEX_PARTNER_{cfg.kind.upper()}_URL is not set")
        self.cfg = cfg
        self._client = httpx.Client(base_url=cfg.url, timeout=timeout, headers={"Authorization": f"Bearer {cfg.key}"})

    def request(
        self, method: str, path: str, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        import httpx

        body = json.dumps(payload, sort_keys=True).encode() if payload is not None else b""
        headers = {**(headers or {}), "Content-Type": "application/json", "Flex-Signature": sign(body, self.cfg.secret)}
        try:
            response = self._client.request(method, path, content=body or None, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise PartnerTimeout(f"{self.cfg.kind}: {type(error).__name__} on {method} {path}") from error
        if response.status_code >= 500:
            raise PartnerTimeout(f"{self.cfg.kind}: {response.status_code} on {method} {path}")
        if response.status_code >= 400:
            raise PartnerRejected(f"{self.cfg.kind}: {response.status_code} on {method} {path}: {response.text[:300]}")
        return response.json() if response.content else {}


def sandbox_latency() -> None:
    """Sandboxes answer after the configured delay, as a real service would (0 in tests)."""
    delay = settings.FLEX_SANDBOX_LATENCY_MS
    if delay:
        time.sleep(delay / 1000)
