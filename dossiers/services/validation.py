"""Form answers and applicant details: validated against the procedure's definitions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from ..errors import ValidationFailed
from ..identity import EID_FIELDS
from ..models import Procedure, ProcedureField
from ..validators import APPLICANT_FIELDS, id_number_problem, is_phone


def validate_form_data(
    procedure: Procedure, data: dict, *, partial: bool = False, fields=None
) -> dict:
    """Clean `data` against the procedure's field definitions; unknown keys are an error.

    With `partial` (saving a draft) missing required answers are allowed.
    """
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"form_data": [_("Nội dung tờ khai phải là một đối tượng.")]})
    definitions = {f.key: f for f in (fields if fields is not None else procedure.fields.all())}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key in data:
        if key not in definitions:
            errors.setdefault(key, []).append(_("Trường không có trong tờ khai của thủ tục."))
    for key, field in definitions.items():
        value = data.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if field.type == ProcedureField.Type.CHECKBOX:
                cleaned[key] = False
                if field.required and not partial:
                    errors.setdefault(key, []).append(_("Vui lòng xác nhận mục này."))
            elif field.required and not partial:
                errors.setdefault(key, []).append(
                    _("Vui lòng nhập %(label)s.") % {"label": field.label}
                )
            continue
        try:
            cleaned[key] = _clean_value(field, value)
        except DjangoValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    if errors:
        raise ValidationFailed(_("Tờ khai còn thông tin chưa hợp lệ."), fields=errors)
    return cleaned


def _clean_value(field: ProcedureField, value):
    kind = ProcedureField.Type
    if field.type in (kind.TEXT, kind.TEXTAREA):
        if not isinstance(value, str):
            raise DjangoValidationError(_("Giá trị phải là văn bản."))
        limit = 255 if field.type == kind.TEXT else 5000
        if len(value) > limit:
            raise DjangoValidationError(_("Tối đa %(n)d ký tự.") % {"n": limit})
        return value
    if field.type == kind.DATE:
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise DjangoValidationError(_("Ngày không hợp lệ (định dạng YYYY-MM-DD).")) from None
    if field.type == kind.NUMBER:
        try:
            number = int(str(value))
        except ValueError:
            raise DjangoValidationError(_("Giá trị phải là số nguyên.")) from None
        if number < 0:
            raise DjangoValidationError(_("Giá trị không được âm."))
        return number
    if field.type == kind.CHOICE:
        if value not in field.choices:
            raise DjangoValidationError(_("Lựa chọn không hợp lệ."))
        return value
    if field.type == kind.CHECKBOX:
        if value in (True, "true", "on", "1", 1):
            return True
        if value in (False, "false", "off", "0", 0):
            return False
        raise DjangoValidationError(_("Giá trị không hợp lệ."))
    if field.type == kind.EMAIL:
        validate_email(str(value))
        return str(value)
    if field.type == kind.PHONE:
        if not is_phone(value):
            raise DjangoValidationError(_("Số điện thoại không hợp lệ."))
        return str(value)
    if field.type == kind.ID_NUMBER:
        problem = id_number_problem(value)
        if problem:
            raise DjangoValidationError(problem)
        return str(value)
    raise DjangoValidationError(_("Kiểu trường không được hỗ trợ."))


def clean_applicant(data: dict) -> dict:
    """Validate a walk-in applicant typed in at the counter."""
    errors: dict[str, list[str]] = {}
    cleaned = {name: str(data.get(name) or "").strip() for name in APPLICANT_FIELDS}
    if not cleaned["full_name"]:
        errors["full_name"] = [_("Vui lòng nhập họ và tên.")]
    if cleaned["id_number"]:
        problem = id_number_problem(cleaned["id_number"], cleaned["date_of_birth"])
        if problem:
            errors["id_number"] = [problem]
    if cleaned["phone"] and not is_phone(cleaned["phone"]):
        errors["phone"] = [_("Số điện thoại không hợp lệ.")]
    if cleaned["email"]:
        try:
            validate_email(cleaned["email"])
        except DjangoValidationError:
            errors["email"] = [_("Thư điện tử không hợp lệ.")]
    if cleaned["date_of_birth"]:
        try:
            dt.date.fromisoformat(cleaned["date_of_birth"])
        except ValueError:
            errors["date_of_birth"] = [_("Ngày sinh không hợp lệ.")]
    if errors:
        raise ValidationFailed(_("Thông tin người nộp chưa hợp lệ."), fields=errors)
    return cleaned


def profile_snapshot(user) -> dict:
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        raise ValidationFailed(
            _("Vui lòng hoàn thiện hồ sơ cá nhân trước khi nộp."),
            fields={"applicant": [_("Chưa có hồ sơ cá nhân.")]},
        )
    return profile.snapshot()


def identity_answers(procedure: Procedure, user) -> dict:
    """The answers a login with the e-ID vouches for: the procedure's questions filled from the
    applicant's full name, ID number or date of birth, with the profile's values, when those
    came from the e-ID (else {}). They are read-only: the forms show them, submission puts them
    back over whatever was posted."""
    profile = getattr(user, "citizen_profile", None) if user is not None else None
    if profile is None or profile.eid_verified_at is None:
        return {}
    snapshot = profile.snapshot()
    return {
        f.key: snapshot[f.profile_source]
        for f in procedure.fields.all()
        if f.profile_source in EID_FIELDS and snapshot.get(f.profile_source)
    }
