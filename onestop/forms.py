"""Form pieces shared by the pages of several audiences."""

from __future__ import annotations

from django import forms

from dossiers.models import ProcedureField
from dossiers.validators import CITIZEN_ID_VALIDATOR, PHONE_VALIDATOR


def procedure_form_field(definition: ProcedureField) -> forms.Field:
    """The form field for one question of a procedure's form (optional: drafts may be partial;
    what submission requires is checked by the services)."""
    kind = ProcedureField.Type
    common = {"label": definition.label, "required": False, "help_text": definition.help_text}
    if definition.type == kind.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, **common)
    if definition.type == kind.DATE:
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common
        )
    if definition.type == kind.NUMBER:
        return forms.IntegerField(min_value=0, **common)
    if definition.type == kind.CHOICE:
        choices = [("", "—"), *((c, c) for c in definition.choices)]
        return forms.ChoiceField(choices=choices, **common)
    if definition.type == kind.CHECKBOX:
        return forms.BooleanField(**common)
    if definition.type == kind.EMAIL:
        return forms.EmailField(**common)
    if definition.type == kind.PHONE:
        return forms.CharField(
            validators=[PHONE_VALIDATOR],
            widget=forms.TextInput(attrs={"inputmode": "tel"}),
            **common,
        )
    if definition.type == kind.ID_NUMBER:
        return forms.CharField(
            validators=[CITIZEN_ID_VALIDATOR],
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    return forms.CharField(max_length=255, **common)
