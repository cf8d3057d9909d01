"""Refuse requests whose path or query carries a NUL byte, for the whole site.

PostgreSQL text cannot hold NUL (0x00): a lookup with one fails in the database driver, a 500. No
URL of Flex has a use for it, so the request is refused before any view runs: the partner API with
a 400 problem naming the place, every other page with a plain 400.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from django.http import HttpResponseBadRequest, JsonResponse

API_PREFIX = "/api/"


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = self._where_nul(request)
        if where is None:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            from flex.api.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE

            return JsonResponse(
                {
                    "type": PROBLEM_BASE + "validation",
                    "title": "Invalid request",
                    "status": 400,
                    "detail": f"The {where} contains a NUL character.",
                    "errors": [
                        {"field": where, "message": "NUL characters are not allowed.", "code": "null_characters"}
                    ],
                },
                status=400,
                content_type=PROBLEM_CONTENT_TYPE,
            )
        return HttpResponseBadRequest("Bad request: the address contains a NUL character.", content_type="text/plain")

    @staticmethod
    def _where_nul(request) -> str | None:
        if "\x00" in request.path_info or "\x00" in request.path:
            return "path"
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in unquote_plus(query, errors="replace"):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return name.replace("\x00", "") or "query"
            return "query"
        return None
