"""The base of every partner API view: scopes, throttling, problem errors and idempotent POSTs."""

from rest_framework import exceptions, viewsets

from flex.api import idempotency


class IdempotentPostMixin:
    _claimed = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._claimed = idempotency.claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            idempotency.abandon(self._claimed)
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._claimed is not None:
            idempotency.complete(self._claimed, response)
            self._claimed = None
        return response


class PartnerViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """Subclasses set `required_scopes` per HTTP method."""

    required_scopes: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        # A method the endpoint does not have is a 405 with Allow, whoever asks (before the scope check,
        # which would otherwise answer 403 for a method no scope names).
        if not hasattr(self, request.method.lower()) or request.method.lower() not in self.http_method_names:
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
