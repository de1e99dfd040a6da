from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from .errors import ErrorSerializer

# What a list answers for a cursor it did not make (DRF's own answer, documented).
CURSOR_404 = OpenApiResponse(ErrorSerializer, description="Invalid cursor.")


class CheckedCursor(CursorPagination):
    """A cursor page whose `page_size` is checked (1 to max_page_size; anything else is a 400,
    not silently the default) and documented with its bounds."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        given = request.query_params.get(self.page_size_query_param)
        if given is None:
            return self.page_size
        if not (given.isascii() and given.isdigit() and 1 <= int(given) <= self.max_page_size):
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Số dòng mỗi trang từ 1 đến %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(given)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters


class ByIdCursor(CheckedCursor):
    """Cursor pagination over a unique key: stable under inserts, no deep OFFSET.

    The API keeps DRF's own cursor rather than `queries.keyset_page` (which the HTML lists
    use): it is the documented contract of docs/openapi.yaml (`cursor`, `page_size`, and
    `next`/`previous` links), it pages backwards too, and a machine client is better told that
    its cursor is invalid (404) than silently given the first page again."""

    ordering = "id"
