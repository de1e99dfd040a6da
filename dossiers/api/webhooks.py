"""API v1 webhook subscriptions: administrators (any agency) and integration accounts (their own
subscriptions, their own agencies) subscribe other systems to the change feed. Thin over
integrations.webhooks, which checks and writes everything."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from ..integrations import feed, webhooks
from ..models import Agency, DeliveryAttempt, Procedure, WebhookSubscription
from .errors import ErrorSerializer
from .pagination import CURSOR_404, CheckedCursor

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Invalid input (fields say which).",
        401: "Not authenticated.",
        403: "Only administrators and integration accounts manage webhook subscriptions.",
        404: "Unknown, or not this account's subscription.",
    }.items()
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


EVENT_TYPES = sorted(feed.FED_EVENTS)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as its owner sees it (never its secret, after creation)."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        read_only=True,
        help_text="Event types to receive; empty = every type.",
    )
    agencies = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        read_only=True,
        help_text="Agency codes (receiving or competent); empty = all the account may see.",
    )
    procedures = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True, help_text="Procedure codes; empty = all."
    )
    owner = serializers.CharField(source="owner.username", read_only=True)
    cursor = serializers.IntegerField(
        read_only=True, help_text="Feed position delivered up to (replay from before it)."
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "event_types",
            "agencies",
            "procedures",
            "profile",
            "include_personal_data",
            "state",
            "paused_reason",
            "cursor",
            "failures",
            "failing_since",
            "next_attempt_at",
            "owner",
            "created_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (Standard Webhooks, `whsec_…`): shown this once only.",
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list
    )
    agencies = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Agency.objects.all(), required=False, default=list
    )
    procedures = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        queryset=Procedure.objects.all(),
        required=False,
        default=list,
    )
    profile = serializers.ChoiceField(
        choices=WebhookSubscription.Profile.choices,
        default=WebhookSubscription.Profile.STANDARD,
    )
    include_personal_data = serializers.BooleanField(default=False)


class WebhookSubscriptionUpdateSerializer(WebhookSubscriptionWriteSerializer):
    """Only the fields given change; `state` pauses or resumes."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False
    )
    agencies = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Agency.objects.all(), required=False
    )
    procedures = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Procedure.objects.all(), required=False
    )
    profile = serializers.ChoiceField(choices=WebhookSubscription.Profile.choices, required=False)
    include_personal_data = serializers.BooleanField(required=False)
    state = serializers.ChoiceField(choices=WebhookSubscription.State.choices, required=False)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    position = serializers.IntegerField(source="entry.position", read_only=True)
    event_type = serializers.CharField(source="entry.event_type", read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = [
            "id",
            "webhook_id",
            "position",
            "event_type",
            "attempted_at",
            "duration_ms",
            "status_code",
            "succeeded",
            "error",
            "response_head",
        ]
        read_only_fields = fields


class ReplaySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, help_text="Feed position: every entry after it is delivered again."
    )


class NewestFirst(CheckedCursor):
    ordering = "-id"


@extend_schema_view(
    list=extend_schema(
        summary="The webhook subscriptions this account manages",
        responses={
            200: WebhookSubscriptionSerializer(many=True),
            **_errors(400, 401, 403),
            404: CURSOR_404,
        },
    ),
    retrieve=extend_schema(
        summary="A webhook subscription",
        responses={200: WebhookSubscriptionSerializer, **_errors(401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a webhook subscription and its delivery record",
        responses={204: None, **_errors(401, 403, 404)},
    ),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Subscriptions of other systems to the change feed, delivered as signed webhooks
    (Standard Webhooks), in feed order, at least once."""

    serializer_class = WebhookSubscriptionSerializer
    lookup_value_regex = r"\d+"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not webhooks.may_subscribe(request.user):
            raise PermissionDenied(
                _("Chỉ quản trị viên và tài khoản hệ thống kết nối được đăng ký nhận sự kiện.")
            )

    def get_queryset(self):
        return webhooks.subscriptions_of(self.request.user).prefetch_related(
            "agencies", "procedures"
        )

    def get_object(self):
        found = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if found is None:
            raise NotFound(_("Không tìm thấy đăng ký nhận sự kiện."))
        return found

    def _answer(self, subscription, status=200):
        fresh = self.get_queryset().get(pk=subscription.pk)
        return Response(WebhookSubscriptionSerializer(fresh).data, status=status)

    @extend_schema(
        request=WebhookSubscriptionWriteSerializer,
        responses={201: WebhookSubscriptionCreatedSerializer, **_errors(400, 401, 403)},
        summary="Subscribe (the answer holds the signing secret, once)",
        description="Starts at the head of the feed: only events after now are delivered "
        "(replay sends older ones). The URL must not point into internal networks.",
    )
    def create(self, request):
        body = WebhookSubscriptionWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = webhooks.subscription_create(owner=request.user, **body.validated_data)
        secret = subscription.secret
        fresh = self.get_queryset().get(pk=subscription.pk)
        fresh.secret = secret
        return Response(WebhookSubscriptionCreatedSerializer(fresh).data, status=201)

    @extend_schema(
        request=WebhookSubscriptionUpdateSerializer,
        responses={200: WebhookSubscriptionSerializer, **_errors(400, 401, 403, 404)},
        summary="Change a subscription, pause it or resume it",
    )
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        body = WebhookSubscriptionUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        webhooks.subscription_update(subscription, **body.validated_data)
        return self._answer(subscription)

    def destroy(self, request, pk=None):
        webhooks.subscription_delete(self.get_object())
        return Response(status=204)

    @extend_schema(
        responses={
            200: DeliveryAttemptSerializer(many=True),
            **_errors(400, 401, 403),
            404: OpenApiResponse(
                ErrorSerializer, description="Unknown subscription, or an invalid cursor."
            ),
        },
        summary="The delivery attempts, newest first",
    )
    @route(detail=True, methods=["get"], pagination_class=NewestFirst)
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        attempts = DeliveryAttempt.objects.filter(subscription=subscription).select_related("entry")
        page = self.paginate_queryset(attempts)
        return self.get_paginated_response(DeliveryAttemptSerializer(page, many=True).data)

    @extend_schema(
        request=ReplaySerializer,
        responses={202: WebhookSubscriptionSerializer, **_errors(400, 401, 403, 404)},
        summary="Deliver again every event after a feed position (with their original ids)",
    )
    @route(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        subscription = self.get_object()
        body = ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhooks.replay(subscription, after=body.validated_data["after"])
        return self._answer(subscription, status=202)
