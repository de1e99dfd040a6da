from rest_framework.pagination import CursorPagination


class ByIdCursor(CursorPagination):
    """Cursor pagination over a unique key: stable under inserts, no deep OFFSET.

    The API keeps DRF's own cursor rather than `queries.keyset_page` (which the HTML lists
    use): it is the documented contract of docs/openapi.yaml (`cursor`, `page_size`, and
    `next`/`previous` links), it pages backwards too, and a machine client is better told that
    its cursor is invalid (404) than silently given the first page again."""

    ordering = "id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
