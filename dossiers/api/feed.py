"""The change feed over HTTP: GET /api/v1/events/?after=<cursor>&limit=<n>.

The same messages as the webhooks (integrations.feed.message), for the dossiers the token's user
sees, in feed (commit) order. A system that was down reads from its last cursor until `has_more`
is false, and misses nothing and gets nothing twice (see integrations/feed.py).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import ValidationFailed
from ..integrations import feed
from .errors import ErrorSerializer

DEFAULT_LIMIT = 100
# A position as the cursor carries it: a non-negative integer that fits the column.
CURSOR = re.compile(r"[0-9]{1,18}")
LIMIT = re.compile(r"[0-9]{1,4}")


class FeedEventSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="The message id, the same as the webhook's `webhook-id`: drop duplicates by it."
    )
    position = serializers.IntegerField(help_text="The entry's place in the feed (commit order).")
    type = serializers.CharField(help_text="The event type, e.g. dossier.received.")
    timestamp = serializers.DateTimeField()
    data = serializers.DictField(
        help_text="`dossier` and `step`, as in the webhooks; plus `applicant` (full_name, "
        "id_number, date_of_birth) for readers allowed to see personal data."
    )


class FeedPageSerializer(serializers.Serializer):
    events = FeedEventSerializer(many=True)
    next = serializers.CharField(
        help_text="The cursor to pass as `after` next time (unchanged when there was nothing new)."
    )
    has_more = serializers.BooleanField(
        help_text="Whether more events are waiting now: read again at once, without waiting."
    )


def _paging(params) -> tuple[int, int]:
    """`after` and `limit` from the query; both are checked, and reported together."""
    problems: dict[str, list[str]] = {}
    after, limit = params.get("after") or "0", params.get("limit", str(DEFAULT_LIMIT))
    if not CURSOR.fullmatch(after):
        problems["after"] = [_("Con trỏ không hợp lệ.")]
    if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= feed.MAX_PAGE:
        problems["limit"] = [_("Số sự kiện mỗi trang từ 1 đến %(max)d.") % {"max": feed.MAX_PAGE}]
    if problems:
        raise ValidationFailed(fields=problems)
    return int(after), int(limit)


class ChangeFeedView(APIView):
    """Every fed event of the dossiers the caller sees, in commit order, from a cursor."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                {"type": "string", "pattern": "^[0-9]{0,18}$"},
                description="The `next` cursor of the previous page; omitted or empty: from the "
                "start.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": feed.MAX_PAGE},
                description=f"Events per page (default {DEFAULT_LIMIT}).",
            ),
        ],
        responses={
            200: FeedPageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Malformed cursor or limit."),
            401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
            429: OpenApiResponse(ErrorSerializer, description="Throttled."),
        },
        summary="The change feed: dossier events in commit order, from a cursor",
        description=(
            "The same messages as the webhooks, each with its `id` (the webhook id) and "
            "`position`, for the dossiers the caller sees. Pass the returned `next` as `after` "
            "to continue: nothing is missed and nothing is repeated, even while events are "
            "committed between pages. The applicant's identification is included for "
            "administrators, integration accounts and officials of the dossier's agencies, and "
            "for the applicant."
        ),
    )
    def get(self, request):
        after, limit = _paging(request.query_params)
        page = feed.entries_for(request.user, after=after, limit=limit)
        return Response(
            {"events": page.messages(), "next": str(page.next), "has_more": page.has_more}
        )
