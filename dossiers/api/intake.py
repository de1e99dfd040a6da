"""Dossiers sent by other systems: POST /api/v1/dossiers/intake/.

An integration account (the national portal, a provincial platform) files a dossier that a
citizen filed with it, for one of its receiving agencies. The dossier arrives submitted, waiting
for reception's check like an online filing. `reference`, the sender's own dossier reference,
makes the call idempotent: sent again, it answers the dossier it made (200 instead of 201).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..errors import Forbidden, ValidationFailed
from ..models import Agency, Attachment, Channel, Dossier, Procedure
from ..permissions import integration_agency_ids, visible_dossiers
from ..services import Actor
from ..services.intake import EXTERNAL_CHANNELS
from .errors import ErrorSerializer
from .serializers import DossierSerializer, dossier_ref


class ExternalApplicantSerializer(serializers.Serializer):
    """The applicant as the sender knows them; the service checks the formats."""

    full_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    id_number = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="12 digits."
    )
    date_of_birth = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="YYYY-MM-DD."
    )
    phone = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class ExternalIntakeSerializer(serializers.Serializer):
    procedure = serializers.SlugRelatedField(
        slug_field="code", queryset=Procedure.objects.all(), help_text="Procedure code."
    )
    agency = serializers.CharField(help_text="Receiving agency code (one of the caller's).")
    channel = serializers.ChoiceField(
        choices=[(c, Channel(c).label) for c in EXTERNAL_CHANNELS],
        help_text="4 national public service portal, 5 another system.",
    )
    reference = serializers.CharField(
        max_length=100,
        help_text="The sender's own dossier reference: sending it again answers the dossier "
        "it made (200) instead of making another.",
    )
    applicant = ExternalApplicantSerializer()
    form_data = serializers.DictField(
        required=False, default=dict, help_text="Answers to the procedure's form fields."
    )
    papers = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Ids of the procedure's documents the sender holds; every paper an online "
        "filing must upload has to be listed.",
    )
    submitted_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the citizen filed it with the sender."
    )


def _dotted(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level: {"applicant.email": [...], "papers.0": [...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_dotted(value, f"{prefix}{key}."))
        return out
    if isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_dotted(value, f"{prefix}{index}."))
        return out
    items = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip(".") or "non_field_errors": [str(d) for d in items]}


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (fields say which)."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(
        ErrorSerializer, description="Not an integration account of the receiving agency."
    ),
    429: OpenApiResponse(ErrorSerializer, description="Throttled."),
}


class ExternalIntakeView(APIView):
    """Another system files a dossier for one of its receiving agencies."""

    @extend_schema(
        request=ExternalIntakeSerializer,
        responses={
            201: OpenApiResponse(DossierSerializer, description="Created (submitted)."),
            200: OpenApiResponse(
                DossierSerializer, description="This reference was sent before: its dossier."
            ),
            **ERRORS,
        },
        summary="File a dossier sent by another system (integration accounts)",
    )
    def post(self, request):
        # Who may send comes before what they sent: anyone else gets 403 whatever the body.
        if not integration_agency_ids(request.user):
            raise Forbidden(
                _("Chỉ tài khoản hệ thống kết nối của cơ quan tiếp nhận được gửi hồ sơ đến.")
            )
        body = ExternalIntakeSerializer(data=request.data)
        if not body.is_valid():
            raise ValidationFailed(fields=_dotted(body.errors))
        data = body.validated_data
        agency = Agency.objects.filter(code=data["agency"]).first()
        if agency is None:
            raise ValidationFailed(fields={"agency": [_("Không có cơ quan tiếp nhận này.")]})
        received = services.dossier_receive_external(
            actor=Actor.from_request(request),
            procedure=data["procedure"],
            agency=agency,
            channel=data["channel"],
            reference=data["reference"],
            applicant=dict(data["applicant"]),
            form_data=data["form_data"],
            papers=data["papers"],
            submitted_at=data.get("submitted_at"),
        )
        dossier = _fresh(request.user, received.dossier)
        shown = DossierSerializer(dossier, context={"request": request, "citizen_view": False})
        if not received.created:
            return Response(shown.data, status=200)
        location = request.build_absolute_uri(
            reverse("dossier-detail", kwargs={"ref": dossier_ref(dossier)})
        )
        return Response(shown.data, status=201, headers={"Location": location})


def _fresh(user, dossier: Dossier) -> Dossier:
    """The dossier as the dossier endpoints show it to the sender."""
    return (
        visible_dossiers(user)
        .select_related("procedure", "receiving_agency", "competent_agency", "assignee")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .get(pk=dossier.pk)
    )
