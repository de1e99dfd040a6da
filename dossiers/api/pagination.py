from rest_framework.pagination import CursorPagination


class ByIdCursor(CursorPagination):
    """Cursor pagination over a unique key: stable under inserts, no deep OFFSET."""

    ordering = "id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
