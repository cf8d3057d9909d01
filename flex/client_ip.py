"""The one place that says which address a request came from (terms and mandate evidence, REG-2 and
PAY-1; log-in lockout).

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as our own
reverse proxies vouch for it: with `FLEX_TRUSTED_PROXY_COUNT = n`, each of the n proxies appended the
address it received the request from, and the client is the n-th entry from the right (entries further
left are the client's own claims). With 0, the default, the header is ignored and the address is the
peer of the connection (REMOTE_ADDR). The semantics are those of Werkzeug's ProxyFix `x_for`.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when what we were given is not an address."""
    candidate = request.META.get("REMOTE_ADDR", "")
    trusted = settings.FLEX_TRUSTED_PROXY_COUNT
    if trusted > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= trusted:
            candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None
