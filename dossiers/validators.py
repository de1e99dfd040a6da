"""Applicant formats, defined once: the personal identification number, the phone number and the
applicant's fields. Profiles, counter intake, form answers and the API all check against these."""

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

ID_NUMBER_PATTERN = r"^\d{12}$"
PHONE_PATTERN = r"^(\+84|0)\d{9,10}$"

ID_NUMBER_MESSAGE = _("Số định danh cá nhân (CCCD) gồm đúng 12 chữ số.")
PHONE_MESSAGE = _("Số điện thoại gồm 10-11 chữ số, bắt đầu bằng 0 hoặc +84.")

CITIZEN_ID_VALIDATOR = RegexValidator(ID_NUMBER_PATTERN, ID_NUMBER_MESSAGE)
PHONE_VALIDATOR = RegexValidator(PHONE_PATTERN, PHONE_MESSAGE)

# The applicant's details: a profile's snapshot at submission, a walk-in typed in at the counter.
APPLICANT_FIELDS = ("full_name", "id_number", "date_of_birth", "phone", "email", "address")


def is_id_number(value) -> bool:
    return bool(re.match(ID_NUMBER_PATTERN, str(value)))


def is_phone(value) -> bool:
    return bool(re.match(PHONE_PATTERN, str(value)))
