"""Forms of the citizen portal. They parse and show input; the rules live in the services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import password_validation
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from dossiers.identity import EID_FIELDS
from dossiers.lookup import normalize_code, normalize_key
from dossiers.models import Agency, Dossier
from dossiers.validators import id_number_problem
from onestop.forms import procedure_form_field

from .models import CitizenProfile


class ProfileForm(forms.ModelForm):
    class Meta:
        model = CitizenProfile
        fields = ["full_name", "id_number", "date_of_birth", "phone", "email", "address"]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "id_number": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "address": forms.TextInput(attrs={"autocomplete": "street-address"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("date_of_birth", "phone", "email", "address"):
            self.fields[name].required = True
        if self.instance.pk:
            # The ID number names the account; changing it is an administrator's job.
            self.fields["id_number"].disabled = True
        if self.instance.pk and self.instance.eid_verified_at:
            # Vouched for by the national e-ID: read-only (the service ignores them too).
            note = _("Theo định danh điện tử, xác thực lúc %(at)s.") % {
                "at": formats.date_format(
                    timezone.localtime(self.instance.eid_verified_at), "d/m/Y H:i"
                )
            }
            for name in EID_FIELDS:
                if getattr(self.instance, name):  # a date of birth the e-ID did not give is typed
                    self.fields[name].disabled = True
                    self.fields[name].help_text = note

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value and value > dt.date.today():
            raise forms.ValidationError(_("Ngày sinh không được ở tương lai."))
        return value

    def clean(self):
        cleaned = super().clean()
        number, born = cleaned.get("id_number"), cleaned.get("date_of_birth")
        if number and born and "id_number" not in self.errors:
            problem = id_number_problem(number, born)
            if problem:
                # On the number while it can be typed, on the date once it is fixed.
                self.add_error("date_of_birth" if self.instance.pk else "id_number", problem)
        return cleaned


class SignUpForm(ProfileForm):
    password1 = forms.CharField(
        label=_("Mật khẩu"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Nhập lại mật khẩu"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta(ProfileForm.Meta):
        pass

    def validate_unique(self):
        """Uniqueness of the ID number is checked by the sign-up service, with a clear message."""

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("Hai mật khẩu không khớp."))
        elif first:
            from django.contrib.auth.models import User

            probe = User(username=cleaned.get("id_number", ""), email=cleaned.get("email", ""))
            probe.first_name = cleaned.get("full_name", "")
            try:
                password_validation.validate_password(first, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ApplicationForm(forms.Form):
    """The procedure's own questions, generated from its field definitions.

    Every field is optional here so a draft can be saved half-done; what submission requires is
    checked by the submit service, whose errors are put back on these fields.
    """

    agency = forms.ModelChoiceField(
        label=_("Nơi nộp hồ sơ (bộ phận một cửa cấp xã)"),
        queryset=Agency.objects.filter(level=Agency.Level.COMMUNE),
        empty_label=None,
    )

    delivery = forms.ChoiceField(
        label=_("Nhận kết quả"),
        choices=Dossier.Delivery.choices,
        initial=Dossier.Delivery.ELECTRONIC,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Cách bạn muốn nhận kết quả giải quyết; cán bộ trả kết quả theo lựa chọn này."),
    )

    def __init__(self, *args, procedure, definitions, lock_agency=False, identity=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        self.definitions = list(definitions)
        identity = identity or {}
        for definition in self.definitions:
            field = procedure_form_field(definition)
            field.widget.attrs["aria-required"] = "true" if definition.required else "false"
            field.onestop_required = definition.required
            if definition.key in identity:
                # Vouched for by the e-ID (services.validation.identity_answers): read-only.
                field.disabled = True
                field.help_text = _("Theo định danh điện tử; không sửa được.")
                self.initial[f"f_{definition.key}"] = identity[definition.key]
            self.fields[f"f_{definition.key}"] = field
        if lock_agency:
            self.fields["agency"].disabled = True

    def answers(self) -> dict:
        """Cleaned answers keyed by the procedure's field keys (only fields without errors)."""
        result = {}
        for definition in self.definitions:
            name = f"f_{definition.key}"
            if name in self.cleaned_data and name not in self.errors:
                value = self.cleaned_data[name]
                if isinstance(value, dt.date):
                    value = value.isoformat()
                result[definition.key] = value
        return result

    def answer_fields(self):
        return [self[f"f_{d.key}"] for d in self.definitions]

    def delivery_choice(self) -> str | None:
        """The delivery chosen (None: not given, keep what the draft has)."""
        return self.cleaned_data.get("delivery") or None


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Lý do rút hồ sơ"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("Mức độ hài lòng"), choices=Dossier.Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Ý kiến (không bắt buộc)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class SupplementForm(forms.Form):
    note = forms.CharField(
        label=_("Ghi chú gửi cơ quan (không bắt buộc)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class LookupForm(forms.Form):
    code = forms.CharField(
        label=_("Mã hồ sơ"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    key = forms.CharField(
        label=_("Mã tra cứu (in trên giấy tiếp nhận)"),
        max_length=40,  # the 10 characters, with the spaces people type between groups
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self):
        return normalize_code(self.cleaned_data["code"])

    def clean_key(self):
        return normalize_key(self.cleaned_data["key"])


class VerifyForm(forms.Form):
    """The public verification page: a PDF to check, a verification code, or both."""

    file = forms.FileField(
        label=_("Văn bản điện tử cần kiểm tra (tệp PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )
    code = forms.CharField(
        label=_("Mã xác thực in trên văn bản (nếu có)"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data.get("file")
        if not upload:
            return None
        limit = settings.ONESTOP_VERIFY_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("Tệp vượt quá %(mb)d MB.") % {"mb": limit // (1024 * 1024)}
            )
        data = upload.read()
        if data.lstrip()[:5] != b"%PDF-":
            raise forms.ValidationError(_("Tệp không phải là văn bản PDF."))
        return data

    def clean_code(self):
        from dossiers.integrations.signing import normalise_code

        text = self.cleaned_data.get("code", "").strip()
        if not text:
            return ""
        code = normalise_code(text)
        if not code:
            raise forms.ValidationError(_("Mã xác thực gồm 12 chữ và số, ví dụ 7K2M-9QXA-4D1F."))
        return code

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("file") and not cleaned.get("code"):
            raise forms.ValidationError(_("Vui lòng chọn tệp PDF hoặc nhập mã xác thực."))
        return cleaned
