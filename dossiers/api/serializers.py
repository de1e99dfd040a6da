"""API representations. Input serializers parse; the services enforce every rule."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import clock
from ..indicators import Scope
from ..models import (
    Attachment,
    Channel,
    Dossier,
    DossierEvent,
    Procedure,
    ProcedureDocument,
    ProcedureField,
)
from ..permissions import available_actions, result_visible_to_applicant, supervised_agency_ids
from ..workflow import Action, Status


def dossier_ref(dossier: Dossier) -> str:
    """How the API names a dossier: its code, or draft-<id> before it has one."""
    return dossier.code or f"draft-{dossier.pk}"


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcedureDocument
        fields = [
            "id",
            "name",
            "kind",
            "required",
            "condition",
            "channels",
            "originals",
            "certified_copies",
            "copies",
            "allowed_types",
        ]


class FieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcedureField
        fields = ["key", "label", "type", "required", "choices", "help_text"]


class ProcedureSerializer(serializers.ModelSerializer):
    documents = DocumentSerializer(many=True, read_only=True)
    fields = FieldSerializer(many=True, read_only=True)
    online_only = serializers.BooleanField(
        read_only=True,
        help_text="Filed online only (no counter or postal intake): the 2025 directive on "
        "essential online services. At the counter, an official files it online on the "
        "applicant's behalf (assisted filing).",
    )

    class Meta:
        model = Procedure
        fields = [
            "code",
            "name",
            "name_en",
            "sector",
            "competent_level",
            "time_limit_value",
            "time_limit_unit",
            "supplement_policy",
            "fee_vnd",
            "fee_online_vnd",
            "fee_note",
            "channels",
            "online_only",
            "eid_required",
            "eid_min_acr",
            "result_description",
            "documents",
            "fields",
        ]


class ReusedFromSerializer(serializers.Serializer):
    stored_document = serializers.IntegerField(source="pk")
    dossier = serializers.CharField(source="source_dossier.code", allow_null=True)
    kind = serializers.CharField()
    number = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)


class AttachmentSerializer(serializers.ModelSerializer):
    document_type = serializers.IntegerField(source="document_id", allow_null=True)
    reused_from = ReusedFromSerializer(
        allow_null=True,
        read_only=True,
        help_text="Taken from the documents store (not uploaded again): the entry and the "
        "dossier it came from; null for an upload.",
    )

    class Meta:
        model = Attachment
        fields = [
            "id",
            "document_type",
            "purpose",
            "original_name",
            "size",
            "sha256",
            "content_type",
            "paper_original_seen",
            "no_scan_reason",
            "reused_from",
            "created_at",
        ]


class DossierSerializer(serializers.ModelSerializer):
    ref = serializers.SerializerMethodField(help_text="Code, or draft-<id> for a draft.")
    status_name = serializers.CharField(source="get_status_display")
    national_status_code = serializers.IntegerField(allow_null=True)
    procedure = serializers.CharField(source="procedure.code")
    receiving_agency = serializers.CharField(source="receiving_agency.code")
    competent_agency = serializers.CharField(source="competent_agency.code")
    assignee = serializers.SerializerMethodField()
    assisted_by = serializers.SerializerMethodField(
        help_text="The official who filed online at the counter on the applicant's behalf "
        "(assisted filing); null for the applicant's own filing."
    )
    eid_acr = serializers.CharField(
        help_text="Assurance level (OpenID Connect acr) of the e-ID login that filed the "
        "dossier; empty when it was not filed in an e-ID session."
    )
    overdue = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField(
        help_text="The actions the caller may fire now (POST .../actions/{action}/)."
    )

    class Meta:
        model = Dossier
        fields = [
            "ref",
            "code",
            "status",
            "status_name",
            "national_status_code",
            "procedure",
            "receiving_agency",
            "competent_agency",
            "channel",
            "assisted_by",
            "eid_acr",
            "applicant",
            "form_data",
            "created_at",
            "submitted_at",
            "received_at",
            "due_at",
            "original_due_at",
            "resolved_at",
            "returned_at",
            "overdue",
            "assignee",
            "outcome",
            "result_delivery",
            "requested_documents",
            "rating",
            "version",
            "attachments",
            "available_actions",
        ]

    def get_ref(self, dossier) -> str:
        return dossier_ref(dossier)

    def get_assignee(self, dossier) -> str | None:
        return dossier.assignee.get_username() if dossier.assignee_id else None

    def get_assisted_by(self, dossier) -> str | None:
        return dossier.assisted_by.get_username() if dossier.assisted_by_id else None

    def get_overdue(self, dossier) -> bool:
        return dossier.is_overdue(clock.now())

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField([c for c in Action.choices if c[0] != Action.INTAKE])
        )
    )
    def get_available_actions(self, dossier) -> list[str]:
        # The same function and guards as the office page; the action re-checks under lock.
        request = self.context.get("request")
        return available_actions(request.user, dossier) if request else []

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, dossier):
        rows = dossier.attachments.all()  # prefetched by the view
        if self.context.get("citizen_view") and not result_visible_to_applicant(dossier):
            rows = [a for a in rows if a.purpose != Attachment.Purpose.RESULT]
        return AttachmentSerializer(rows, many=True).data


class DossierFilterSerializer(serializers.Serializer):
    """The list's query filters: a malformed value is a 400, not silently ignored."""

    status = serializers.ChoiceField(
        choices=[s for s in Status.values if s != Status.DRAFT], required=False
    )
    procedure = serializers.CharField(required=False, allow_blank=True)
    agency = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=[c.value for c in Channel], required=False)
    overdue = serializers.BooleanField(required=False)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class DossierCreateSerializer(serializers.Serializer):
    procedure = serializers.SlugRelatedField(
        slug_field="code", queryset=Procedure.objects.filter(active=True)
    )
    form_data = serializers.DictField(required=False, default=dict)
    agency = serializers.CharField(
        required=False, help_text="Receiving commune agency code; default: the first commune."
    )


class DraftUpdateSerializer(serializers.Serializer):
    form_data = serializers.DictField()


class AttachmentUploadSerializer(serializers.Serializer):
    document_type = serializers.IntegerField(required=False, allow_null=True)
    file = serializers.FileField(required=False, help_text="The file; or `stored_document`.")
    stored_document = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Instead of a file: one of the caller's documents in the store "
        "(GET /api/v1/my/documents/), for the paper `document_type` of its type.",
    )
    purpose = serializers.ChoiceField(
        choices=Attachment.Purpose.choices, default=Attachment.Purpose.APPLICATION
    )

    def validate(self, attrs):
        if bool(attrs.get("file")) == (attrs.get("stored_document") is not None):
            raise serializers.ValidationError(
                {"file": [_("Gửi tệp hoặc giấy tờ trong kho (stored_document), một trong hai.")]}
            )
        if attrs.get("stored_document") is not None and attrs.get("document_type") is None:
            raise serializers.ValidationError({"document_type": [_("Vui lòng chọn loại giấy tờ.")]})
        return attrs


class StoredDocumentSerializer(serializers.Serializer):
    """One of the caller's documents in the store (kho giấy tờ, kết quả điện tử)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    document_type = serializers.CharField(source="document_type.code")
    title = serializers.CharField()
    number = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)
    issuer = serializers.CharField(source="issuer_name")
    sha256 = serializers.CharField()
    dossier = serializers.CharField(source="source_dossier.code", allow_null=True)


class EventSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code", allow_null=True, default=None)

    class Meta:
        model = DossierEvent
        fields = [
            "seq",
            "event_type",
            "from_status",
            "to_status",
            "actor_name",
            "role",
            "agency",
            "created_at",
            "ip",
            "note",
            "data",
            "hash",
        ]


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()


class LookupSerializer(serializers.Serializer):
    code = serializers.CharField()
    procedure = serializers.CharField()
    agency = serializers.CharField()
    status = serializers.CharField()
    status_name = serializers.CharField()
    national_status_code = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)


class IndicatorScopeSerializer(serializers.Serializer):
    """The indicators' scope, as the dashboard's form reads it."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    agency = serializers.IntegerField(required=False)
    procedure = serializers.CharField(required=False, allow_blank=True)

    def validate_agency(self, value):
        if value not in supervised_agency_ids(self.context["user"]):
            raise serializers.ValidationError(_("Không phải cơ quan thuộc tỉnh bạn giám sát."))
        return value

    def validate_procedure(self, value):
        if value and not Procedure.objects.filter(code=value).exists():
            raise serializers.ValidationError(_("Không có thủ tục này."))
        return value

    def scope(self) -> Scope:
        data = self.validated_data
        return Scope.of(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            agency_id=data.get("agency"),
            procedure_code=data.get("procedure", ""),
        )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Staff (officials, supervisors, administrators): the current code of their "
        "authenticator app, or one unused recovery code. Citizens leave it out.",
    )
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="What the token is for, shown on the account's token page.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField()


# --- action bodies ---------------------------------------------------------------------------


class ActionBody(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="The version you saw; a different current one answers 409."
    )

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        data["expected_version"] = data.pop("version", None)
        return data


class NoteBody(ActionBody):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonBody(ActionBody):
    reason = serializers.CharField()


class SupplementRequestBody(ActionBody):
    documents = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    reason = serializers.CharField()


class AssignBody(ActionBody):
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ProposeBody(ActionBody):
    outcome = serializers.ChoiceField(choices=Dossier.Outcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PaymentRequestBody(ActionBody):
    amount_vnd = serializers.IntegerField(min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PaymentRecordBody(ActionBody):
    receipt_number = serializers.CharField()


class ReturnBody(ActionBody):
    delivery = serializers.ChoiceField(choices=Dossier.Delivery.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RescheduleBody(ActionBody):
    due_at = serializers.DateTimeField()
    reason = serializers.CharField()

    def service_kwargs(self) -> dict:
        data = super().service_kwargs()
        data["new_due_at"] = data.pop("due_at")
        return data


class RateBody(ActionBody):
    rating = serializers.ChoiceField(choices=Dossier.Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class NoteTextBody(ActionBody):
    text = serializers.CharField()


ACTION_BODIES: dict[str, type[ActionBody]] = {
    Action.SUBMIT: ActionBody,
    Action.RECEIVE: NoteBody,
    Action.REFUSE: ReasonBody,
    Action.REQUEST_SUPPLEMENT: SupplementRequestBody,
    Action.SUPPLEMENT: NoteBody,
    Action.ASSIGN: AssignBody,
    Action.PROPOSE: ProposeBody,
    Action.SEND_BACK: ReasonBody,
    Action.APPROVE: NoteBody,
    Action.REQUEST_PAYMENT: PaymentRequestBody,
    Action.RECORD_PAYMENT: PaymentRecordBody,
    Action.RETURN_RESULT: ReturnBody,
    Action.WITHDRAW: ReasonBody,
    Action.STOP: ReasonBody,
    Action.RESCHEDULE: RescheduleBody,
    Action.RATE: RateBody,
    Action.NOTE: NoteTextBody,
}
