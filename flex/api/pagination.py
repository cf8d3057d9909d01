from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Stable pages under inserts: partners sync lists page by page while the data changes."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
