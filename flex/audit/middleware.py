from flex.audit.trail import Actor, history_context


class HistoryContextMiddleware:
    """Attach the requesting user and URL to row-level history made during a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.method in ("GET", "HEAD", "OPTIONS") or user is None or not user.is_authenticated:
            return self.get_response(request)
        with history_context(Actor.of_user(user), action=f"{request.method} {request.path}"):
            return self.get_response(request)
