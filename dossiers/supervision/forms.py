"""The supervisors' scope form: a period, an agency of their province, a procedure."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import indicators
from ..models import Agency, Procedure
from ..permissions import supervised_agency_ids


class ScopeForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("Từ ngày"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=gettext_lazy("Đến ngày"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    agency = forms.ModelChoiceField(
        label=gettext_lazy("Cơ quan"),
        queryset=Agency.objects.none(),
        required=False,
        empty_label=gettext_lazy("Toàn tỉnh"),
    )
    procedure = forms.ChoiceField(label=gettext_lazy("Thủ tục"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = Agency.objects.filter(pk__in=supervised_agency_ids(user))
        self.fields["procedure"].choices = [("", _("Tất cả thủ tục"))] + [
            (p.code, p.name[:80]) for p in Procedure.objects.order_by("name").only("code", "name")
        ]

    def scope(self) -> indicators.Scope:
        # An invalid form shows the default scope rather than an error.
        data = self.cleaned_data if self.is_valid() else {}
        agency = data.get("agency")
        return indicators.Scope.of(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            agency_id=agency.pk if agency else None,
            procedure_code=data.get("procedure") or "",
        )
