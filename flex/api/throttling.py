from rest_framework.throttling import SimpleRateThrottle


class PartnerRateThrottle(SimpleRateThrottle):
    """Requests per API key (the cache is Redis in production, so the limit holds across web processes)."""

    scope = "partner"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "auth", None)
        ident = f"key:{api_key.pk}" if api_key is not None else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
