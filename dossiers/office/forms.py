"""Forms of the office: one small form per action, the walk-in applicant and the register.

They parse input only; every rule is enforced again by the services.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from ..models import Channel, Dossier, Membership
from ..validators import CITIZEN_ID_VALIDATOR, PHONE_VALIDATOR
from ..workflow import Action, Role
from ..worktime import VN_TZ


def specialists_of(agencies):
    """The specialists of `agencies`, by name. The few memberships first, then the users by
    primary key: a join (or a semi-join) let the planner walk the whole user table, every
    citizen account, on a province's database."""
    specialist_ids = set(
        Membership.objects.filter(agency__in=agencies, role=Role.SPECIALIST).values_list(
            "user_id", flat=True
        )
    )
    return get_user_model().objects.filter(pk__in=specialist_ids).order_by("first_name", "username")


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, dossier: Dossier, **kwargs):
        kwargs.setdefault("initial", {})["version"] = dossier.version
        super().__init__(*args, **kwargs)
        self.dossier = dossier

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["expected_version"] = data.pop("version")
        return data


def _text(label, required=True, rows=3):
    return forms.CharField(
        label=label, required=required, max_length=2000, widget=forms.Textarea(attrs={"rows": rows})
    )


class NoteOptionalForm(ActionForm):
    note = _text(_("Ghi chú"), required=False, rows=2)


class ReasonForm(ActionForm):
    reason = _text(_("Lý do"))


class RequestSupplementForm(ActionForm):
    documents = forms.TypedMultipleChoiceField(
        label=_("Giấy tờ cần bổ sung (chỉ trong danh mục của thủ tục)"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = _text(_("Lý do, hướng dẫn bổ sung"))

    def __init__(self, *args, dossier, **kwargs):
        super().__init__(*args, dossier=dossier, **kwargs)
        self.fields["documents"].choices = [
            (d.pk, d.name) for d in dossier.procedure.documents.all()
        ]


class CounterSupplementForm(ActionForm):
    note = _text(_("Ghi chú"), required=False, rows=2)


class AssignForm(ActionForm):
    assignee = forms.ModelChoiceField(label=_("Chuyên viên xử lý"), queryset=None)
    note = _text(_("Ghi chú"), required=False, rows=2)

    def __init__(self, *args, dossier, **kwargs):
        super().__init__(*args, dossier=dossier, **kwargs)
        self.fields["assignee"].queryset = specialists_of([dossier.competent_agency_id])
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username


class ProposeForm(ActionForm):
    outcome = forms.ChoiceField(
        label=_("Kết quả đề xuất"), choices=Dossier.Outcome.choices, widget=forms.RadioSelect
    )
    result = forms.FileField(
        label=_("Văn bản kết quả (PDF, JPG, PNG)"),
        required=False,
        help_text=_("Bắt buộc nếu chưa tải lên văn bản kết quả."),
    )
    note = _text(_("Ghi chú (bắt buộc khi từ chối giải quyết)"), required=False)

    def service_kwargs(self) -> dict:
        data = super().service_kwargs()
        data.pop("result")
        return data


class PaymentRequestForm(ActionForm):
    amount_vnd = forms.IntegerField(label=_("Số tiền (đồng)"), min_value=1)
    note = _text(_("Ghi chú"), required=False, rows=2)


class PaymentRecordForm(ActionForm):
    receipt_number = forms.CharField(label=_("Số biên lai"), max_length=64)


class ReturnForm(ActionForm):
    delivery = forms.ChoiceField(label=_("Hình thức trả kết quả"), choices=Dossier.Delivery.choices)
    note = _text(_("Ghi chú"), required=False, rows=2)

    def __init__(self, *args, dossier, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("delivery", default_delivery(dossier))
        super().__init__(*args, dossier=dossier, **kwargs)


def default_delivery(dossier: Dossier) -> str:
    """What the applicant chose when filing; for dossiers filed before the choice existed, an
    online dossier's result goes back online and a paper one's at the counter."""
    if dossier.requested_delivery:
        return dossier.requested_delivery
    if dossier.channel == Channel.ONLINE:
        return Dossier.Delivery.ELECTRONIC
    return Dossier.Delivery.COUNTER


class RescheduleForm(ActionForm):
    new_due_at = forms.DateTimeField(
        label=_("Ngày giờ hẹn mới"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    reason = _text(_("Lý do chậm và lời xin lỗi"))

    def clean_new_due_at(self):
        value = self.cleaned_data["new_due_at"]
        # Office times are Vietnam times whatever the server's zone.
        return value.replace(tzinfo=VN_TZ) if value.tzinfo is None else value.astimezone(VN_TZ)


class InternalNoteForm(ActionForm):
    text = _text(_("Ghi chú nội bộ (công dân không xem được)"))


# Which form each office action uses.
ACTION_FORMS: dict[str, type[ActionForm]] = {
    Action.RECEIVE: NoteOptionalForm,
    Action.REFUSE: ReasonForm,
    Action.REQUEST_SUPPLEMENT: RequestSupplementForm,
    Action.SUPPLEMENT: CounterSupplementForm,
    Action.ASSIGN: AssignForm,
    Action.PROPOSE: ProposeForm,
    Action.SEND_BACK: ReasonForm,
    Action.APPROVE: NoteOptionalForm,
    Action.REQUEST_PAYMENT: PaymentRequestForm,
    Action.RECORD_PAYMENT: PaymentRecordForm,
    Action.RETURN_RESULT: ReturnForm,
    Action.WITHDRAW: ReasonForm,
    Action.STOP: ReasonForm,
    Action.RESCHEDULE: RescheduleForm,
    Action.NOTE: InternalNoteForm,
}


class ApplicantForm(forms.Form):
    """A walk-in applicant typed in at the counter."""

    full_name = forms.CharField(label=_("Họ và tên người nộp"), max_length=255)
    id_number = forms.CharField(
        label=_("Số định danh cá nhân"), validators=[CITIZEN_ID_VALIDATOR], required=False
    )
    date_of_birth = forms.DateField(
        label=_("Ngày sinh"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phone = forms.CharField(label=_("Số điện thoại"), validators=[PHONE_VALIDATOR], required=False)
    email = forms.EmailField(label=_("Thư điện tử"), required=False)
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)
    channel = forms.TypedChoiceField(
        label=_("Hình thức nộp"),
        coerce=int,
        choices=[(Channel.COUNTER, Channel.COUNTER.label), (Channel.POSTAL, Channel.POSTAL.label)],
    )
    # Not required: a post without it leaves the choice open (the return form then offers the
    # counter for a paper dossier).
    delivery = forms.ChoiceField(
        label=_("Hình thức nhận kết quả"), choices=Dossier.Delivery.choices, required=False
    )

    def applicant(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("channel", "delivery")}
        if isinstance(data.get("date_of_birth"), dt.date):
            data["date_of_birth"] = data["date_of_birth"].isoformat()
        return {k: v or "" for k, v in data.items()}


class RegisterForm(forms.Form):
    date_from = forms.DateField(label=_("Từ ngày"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Đến ngày"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Ngày kết thúc phải sau ngày bắt đầu."))
        if start and end and (end - start).days > 366:
            self.add_error("date_to", _("Tối đa một năm mỗi lần xuất."))
        return cleaned


class AssistedApplicantForm(ApplicantForm):
    """Assisted filing (services/assisted.py): the ID number decides who the applicant is; the
    other details are typed only for a person without an account (an account's profile is
    used as it is)."""

    channel = None  # always online
    full_name = forms.CharField(label=_("Họ và tên người nộp"), max_length=255, required=False)
    id_number = forms.CharField(label=_("Số định danh cá nhân"), validators=[CITIZEN_ID_VALIDATOR])
