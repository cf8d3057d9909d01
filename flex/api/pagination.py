"""Cursor pages for every partner list: `?limit=` rows a page (1 to 200, default 50) and `?cursor=` from the
previous page's `next` link."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

LIMIT = "limit"
LIMIT_ALIAS = "page_size"  # the name before issue 13; still read, no longer documented as the way


class Cursor(CursorPagination):
    """Stable pages under inserts: partners sync lists page by page while the data changes."""

    ordering = "-id"
    page_size_query_param = LIMIT
    max_page_size = 200

    def get_page_size(self, request) -> int:
        """The `limit` asked for, else the default; a limit that is not 1 to 200 is a 400 naming `limit`,
        never silently another page size (a partner would not know its page came back shorter)."""
        name = LIMIT if LIMIT in request.query_params else LIMIT_ALIAS
        asked = request.query_params.get(name)
        if asked is None:
            return self.page_size
        # ASCII digits, at most three: int() also reads other scripts' digits and refuses 5,000 of them.
        if not (asked.isascii() and asked.isdecimal() and len(asked) <= 3 and 1 <= int(asked) <= self.max_page_size):
            raise ValidationError({name: [f"A whole number from 1 to {self.max_page_size}."]}, code="invalid")
        return int(asked)

    def get_schema_operation_parameters(self, view):
        limit = {
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
        }
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The page to fetch: copy it from the previous page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                **limit,
                "name": LIMIT,
                "description": f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}); "
                f"more is a 400 naming `{LIMIT}`.",
            },
            {**limit, "name": LIMIT_ALIAS, "deprecated": True, "description": f"The old name of `{LIMIT}`."},
        ]
