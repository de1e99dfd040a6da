"""API v1 endpoints: thin wrappers over the services, queries and the one visibility rule."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import authenticate
from django.db.models import Prefetch, Q
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access, clock, indicators, queries, second_factor, services, slips, tokens
from ..errors import ValidationFailed
from ..lookup import find_by_lookup
from ..models import Agency, Attachment, Channel, Dossier, Procedure, ProcedureDocument
from ..permissions import (
    FileAction,
    authorize_attach_role,
    authorize_role,
    is_staff_reader,
    is_supervisor,
    needs_second_factor,
    reusable_documents,
    visible_dossiers,
)
from ..replica import reading_from_replica
from ..services import Actor
from ..timeline import citizen_timeline
from ..workflow import Status
from .errors import ErrorSerializer, error_response, locked_out_response
from .pagination import CURSOR_404
from .serializers import (
    ACTION_BODIES,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    DossierCreateSerializer,
    DossierFilterSerializer,
    DossierSerializer,
    DraftUpdateSerializer,
    EventSerializer,
    IndicatorScopeSerializer,
    LookupSerializer,
    ProcedureSerializer,
    StoredDocumentSerializer,
    TimelineSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Invalid input (fields say which).",
        401: "Not authenticated.",
        403: "Not allowed for this user (the message says why).",
        404: "Unknown, or not visible to this user.",
        409: "Not allowed in the current status, or changed meanwhile.",
        429: "Throttled.",
    }.items()
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


class TokenView(APIView):
    """Log in for the API: a new token (it expires after ONESTOP_API_TOKEN_DAYS days).

    Repeated failures lock the account and the address (django-axes, as for the web login).
    Staff must send `otp` (a current authenticator code or a recovery code): a stolen password
    alone gives no token. Staff who have not enrolled an authenticator yet do so on the web
    first. DELETE revokes the token the request is made with.
    """

    permission_classes = [permissions.AllowAny]
    throttle_scope = "token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **_errors(400, 403, 429)},
        summary="Exchange a username and password (and staff's second factor) for an API token",
        description=(
            "A new token, valid for ONESTOP_API_TOKEN_DAYS days (revoked earlier by a password "
            "change, a deactivation, or its holder). Repeated failures lock the account and the "
            "address for a while (429 `locked_out`, even with the right password). Staff send "
            "`otp`: a current authenticator code or an unused recovery code; staff who have "
            "not enrolled an authenticator do so on the web first (403)."
        ),
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # django-axes sees the Django request: it records the failure and flags a lockout there.
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return locked_out_response()
        if user is None or not user.is_active:
            raise ValidationFailed(
                _("Sai tên đăng nhập hoặc mật khẩu."),
                fields={"non_field_errors": [_("Sai tên đăng nhập hoặc mật khẩu.")]},
            )
        if needs_second_factor(user):
            if not second_factor.has_device(user):
                return error_response(
                    403,
                    "second_factor_not_enrolled",
                    _(
                        "Tài khoản cán bộ cần xác thực hai lớp: hãy đăng nhập trên trang web "
                        "và cài đặt ứng dụng xác thực trước khi lấy khoá API."
                    ),
                )
            if second_factor.verify(user, data.get("otp", "")) is None:
                raise ValidationFailed(
                    _("Mã xác thực không đúng hoặc đã được dùng."),
                    fields={"otp": [_("Mã xác thực không đúng hoặc đã được dùng.")]},
                )
        token, key = tokens.issue(user, data.get("name") or "API")
        return Response({"token": key, "expires_at": token.expires_at})

    @extend_schema(
        request=None,
        responses={204: None, **_errors(401)},
        summary="Revoke the token this request is made with",
        description="Logs the API client out: the token stops working at once.",
    )
    def delete(self, request):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        if request.auth is not None and hasattr(request.auth, "key_hash"):
            tokens.revoke(request.auth)
        return Response(status=204)


class ProcedureViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalogue of active procedures (public)."""

    permission_classes = [permissions.AllowAny]
    serializer_class = ProcedureSerializer
    lookup_field = "code"
    lookup_value_regex = r"[\w.]+"
    queryset = Procedure.objects.filter(active=True).prefetch_related("documents", "fields")

    @extend_schema(responses={200: ProcedureSerializer(many=True), **_errors(400), 404: CURSOR_404})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: ProcedureSerializer, **_errors(404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)


DOSSIER_FILTERS = [
    OpenApiParameter("status", str, enum=[s for s in Status.values if s != Status.DRAFT]),
    OpenApiParameter("procedure", str, description="Procedure code"),
    OpenApiParameter("agency", str, description="Receiving or competent agency code"),
    OpenApiParameter("channel", int, enum=[c.value for c in Channel]),
    OpenApiParameter("overdue", bool),
    OpenApiParameter("received_from", OpenApiTypes.DATE),
    OpenApiParameter("received_to", OpenApiTypes.DATE),
    OpenApiParameter(
        "q", str, description="Code, applicant name (accent-insensitive) or ID number"
    ),
]


class DossierViewSet(viewsets.GenericViewSet):
    """Dossiers visible to the caller: a citizen's own, an official's agencies', a supervisor's
    province. Writes are actions; the status is never writable directly."""

    serializer_class = DossierSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[\w.\-]+"

    def get_queryset(self):
        return (
            visible_dossiers(self.request.user)
            .select_related(
                "procedure", "receiving_agency", "competent_agency", "assignee", "assisted_by"
            )
            .prefetch_related(
                Prefetch(
                    "attachments",
                    queryset=Attachment.objects.select_related(
                        "reused_from__source_dossier"
                    ).order_by("id"),
                )
            )
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = self.request.user
        context["citizen_view"] = not is_staff_reader(user)
        return context

    def get_object(self):
        ref = self.kwargs["ref"]
        queryset = self.get_queryset()
        if ref.startswith("draft-") and ref[6:].isdigit():
            found = queryset.filter(pk=int(ref[6:]), code__isnull=True).first()
        else:
            found = queryset.filter(code=ref).first()
        if found is None:
            raise NotFound(_("Không tìm thấy hồ sơ."))
        return found

    def _actor(self) -> Actor:
        return Actor.from_request(self.request)

    def _dossier_response(self, dossier, status=200):
        fresh = self.get_queryset().get(pk=dossier.pk)
        return Response(self.get_serializer(fresh).data, status=status)

    @extend_schema(
        parameters=DOSSIER_FILTERS,
        responses={200: DossierSerializer(many=True), **_errors(400, 401), 404: CURSOR_404},
    )
    def list(self, request):
        filters = DossierFilterSerializer(data=dict(request.query_params.items()))
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        queryset = self.get_queryset()
        if not is_staff_reader(request.user):
            queryset = queryset.filter(applicant_user=request.user)
        queryset = queries.apply_filters(
            queryset,
            {k: str(given.get(k, "")) for k in ("q", "procedure", "status", "channel")}
            | {
                "received_from": str(given.get("received_from", "")),
                "received_to": str(given.get("received_to", "")),
            },
        )
        if given.get("agency"):
            code = given["agency"]
            queryset = queryset.filter(
                Q(receiving_agency__code=code) | Q(competent_agency__code=code)
            )
        if given.get("overdue") is True:
            queryset = queryset.overdue(clock.now())
        elif given.get("overdue") is False:
            queryset = queryset.exclude(pk__in=Dossier.objects.overdue(clock.now()).values("pk"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses={200: DossierSerializer, **_errors(401, 404)})
    def retrieve(self, request, ref=None):
        dossier = self.get_object()
        access.record_staff_read(actor=self._actor(), dossier=dossier, purpose=access.Purpose.API)
        return Response(self.get_serializer(dossier).data)

    @extend_schema(
        request=DossierCreateSerializer,
        responses={201: DossierSerializer, **_errors(400, 401, 403)},
        summary="Create a draft (citizens)",
    )
    def create(self, request):
        # Who may file comes before what they sent: staff get 403 whatever the body.
        if is_staff_reader(request.user) or not hasattr(request.user, "citizen_profile"):
            raise PermissionDenied(_("Chỉ tài khoản công dân được tạo hồ sơ trực tuyến."))
        body = DossierCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        agency = _agency(body.validated_data.get("agency"))
        dossier = services.dossier_create_draft(
            actor=self._actor(),
            procedure=body.validated_data["procedure"],
            receiving_agency=agency,
            form_data=body.validated_data["form_data"],
        )
        return self._dossier_response(dossier, status=201)

    @extend_schema(
        request=DraftUpdateSerializer,
        responses={200: DossierSerializer, **_errors(400, 401, 403, 404, 409)},
        summary="Fill in a draft's form answers",
    )
    def partial_update(self, request, ref=None):
        dossier = self.get_object()
        authorize_role(request.user, dossier, FileAction.EDIT_DRAFT)  # 403 before the body
        body = DraftUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.dossier_update_draft(
            actor=self._actor(), dossier=dossier, form_data=body.validated_data["form_data"]
        )
        return self._dossier_response(dossier)

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **_errors(400, 401, 403, 404, 409)},
        summary="Upload a document (checked by content)",
    )
    @route(detail=True, methods=["post"], url_path="attachments", parser_classes=[MultiPartParser])
    def attachments(self, request, ref=None):
        dossier = self.get_object()
        # 403 for a role that may add no file, before the body is read.
        purpose = request.data.get("purpose") if isinstance(request.data, Mapping) else None
        authorize_attach_role(request.user, dossier, purpose or Attachment.Purpose.APPLICATION)
        body = AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = None
        if body.validated_data.get("document_type") is not None:
            document = ProcedureDocument.objects.filter(
                pk=body.validated_data["document_type"], procedure_id=dossier.procedure_id
            ).first()
            if document is None:
                raise ValidationFailed(
                    fields={"document_type": [_("Giấy tờ không thuộc thủ tục này.")]}
                )
        if body.validated_data.get("stored_document") is not None:
            # The caller's own document from the store, not uploaded again.
            attachment = services.attachment_reuse_stored(
                actor=self._actor(),
                dossier=dossier,
                stored_id=body.validated_data["stored_document"],
                document=document,
                purpose=body.validated_data["purpose"],
            )
        else:
            attachment = services.attachment_add(
                actor=self._actor(),
                dossier=dossier,
                upload=body.validated_data["file"],
                document=document,
                purpose=body.validated_data["purpose"],
            )
        return Response(AttachmentSerializer(attachment).data, status=201)

    def fire(self, request, ref, action):
        """POST dossiers/{ref}/actions/<action>/: one route and one documented operation per
        action (urls.py), each with its own body."""
        dossier = self.get_object()
        authorize_role(request.user, dossier, action)  # 403 before the body is read
        body = ACTION_BODIES[action](data=request.data)
        body.is_valid(raise_exception=True)
        services.ACTION_SERVICES[action](
            actor=self._actor(), dossier=dossier, **body.service_kwargs()
        )
        return self._dossier_response(dossier)

    @extend_schema(
        responses={
            200: inline_serializer(
                "Events",
                fields={
                    "events": EventSerializer(many=True, required=False),
                    "timeline": TimelineSerializer(many=True, required=False),
                },
            ),
            **_errors(401, 404),
        },
        summary="The audit trail (staff) or the plain-language timeline (the applicant)",
    )
    @route(detail=True, methods=["get"], url_path="events")
    def events(self, request, ref=None):
        dossier = self.get_object()
        if is_staff_reader(request.user):
            access.record_staff_read(  # the trail names the applicant and their IP
                actor=self._actor(), dossier=dossier, purpose=access.Purpose.API
            )
            events = dossier.events.select_related("agency").order_by("seq")
            return Response({"events": EventSerializer(events, many=True).data})
        return Response({"timeline": TimelineSerializer(citizen_timeline(dossier), many=True).data})

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **_errors(401, 404)},
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(slips.SOURCE_EVENTS))
        ],
        summary="A slip as PDF (rendered once, its SHA-256 in the audit trail)",
    )
    def slips(self, request, ref=None, kind=None):
        """Routed in urls.py: the contract path ends in .pdf, without the router's slash."""
        dossier = self.get_object()
        staff = is_staff_reader(request.user)
        if kind not in slips.available_kinds(dossier, staff=staff):
            raise NotFound(_("Phiếu này chưa có."))
        slip = slips.slip_for(dossier, kind)
        access.record_staff_read(
            actor=self._actor(), dossier=dossier, purpose=access.Purpose.API, what=access.What.FILE
        )
        return FileResponse(
            slip.file.open("rb"),
            content_type="application/pdf",
            filename=f"{kind}-{dossier.code}.pdf",
        )


def _action_handler(action: str):
    def handler(self, request, ref=None):
        return self.fire(request, ref, action)

    body = ACTION_BODIES[action]
    handler.__name__ = f"action_{action}"
    return extend_schema(
        request=body,
        responses={200: DossierSerializer, **_errors(400, 401, 403, 404, 409)},
        operation_id=f"dossiers_action_{action}",
        summary=f"Fire the action {action}",
        description="Answers the dossier after the action; 409 when the dossier's status does "
        "not allow it now (or `version` is not the current one), 403 with the reason when this "
        "user may never do it.",
    )(handler)


for _action in ACTION_BODIES:
    setattr(DossierViewSet, f"action_{_action}", _action_handler(_action))


def _agency(code: str | None) -> Agency:
    communes = Agency.objects.filter(level=Agency.Level.COMMUNE).order_by("code")
    agency = communes.filter(code=code).first() if code else communes.first()
    if agency is None:
        raise ValidationFailed(fields={"agency": [_("Không có cơ quan tiếp nhận này.")]})
    return agency


class MyDocumentsView(APIView):
    """The caller's own documents in the store (results issued to them, papers digitised at
    the counter), which a filing may attach instead of an upload (`stored_document`)."""

    @extend_schema(
        responses={200: StoredDocumentSerializer(many=True), **_errors(401)},
        summary="My documents in the store (kho giấy tờ, kết quả điện tử)",
    )
    def get(self, request):
        entries = reusable_documents(request.user).select_related("document_type", "source_dossier")
        return Response(StoredDocumentSerializer(entries.order_by("-id")[:200], many=True).data)


class LookupView(APIView):
    """Public status by dossier code + lookup key: no personal data, throttled."""

    permission_classes = [permissions.AllowAny]
    throttle_scope = "lookup"

    @extend_schema(
        parameters=[
            # Not blank: the code is read without its surrounding spaces.
            OpenApiParameter("code", {"type": "string", "pattern": r"\S"}, required=True),
            OpenApiParameter("key", {"type": "string", "minLength": 1}, required=True),
        ],
        responses={200: LookupSerializer, **_errors(400, 404, 429)},
    )
    def get(self, request):
        code, key = (
            request.query_params.get("code", "").strip(),
            request.query_params.get("key", ""),
        )
        if not code or not key:
            raise ValidationFailed(fields={"code": [_("Bắt buộc.")], "key": [_("Bắt buộc.")]})
        dossier = find_by_lookup(code, key)
        if dossier is None:
            raise NotFound(_("Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này."))
        return Response(
            LookupSerializer(
                {
                    "code": dossier.code,
                    "procedure": dossier.procedure.name,
                    "agency": dossier.receiving_agency.name,
                    "status": dossier.status,
                    "status_name": dossier.get_status_display(),
                    "national_status_code": dossier.national_status_code,
                    "submitted_at": dossier.submitted_at,
                    "received_at": dossier.received_at,
                    "due_at": dossier.due_at,
                    "returned_at": dossier.returned_at,
                }
            ).data
        )


class IndicatorsView(APIView):
    """The supervisors' figures, as on the dashboard."""

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("agency", int),
            OpenApiParameter("procedure", str),
        ],
        responses={
            200: inline_serializer(
                "Indicators",
                fields={
                    "date_from": serializers.DateField(),
                    "date_to": serializers.DateField(),
                    "figures": serializers.DictField(child=serializers.FloatField(allow_null=True)),
                },
            ),
            **_errors(400, 401, 403),
        },
    )
    def get(self, request):
        if not is_supervisor(request.user):
            raise PermissionDenied(_("Chỉ cán bộ giám sát xem được chỉ số."))
        given = IndicatorScopeSerializer(
            data=dict(request.query_params.items()), context={"user": request.user}
        )
        given.is_valid(raise_exception=True)
        scope = given.scope()
        with reading_from_replica():  # read-only figures (dossiers/replica.py)
            figures = indicators.headline(request.user, scope, clock.now())
        return Response(
            {"date_from": scope.date_from, "date_to": scope.date_to, "figures": figures}
        )
