"""Applicant formats, defined once: the personal identification number, the phone number and the
applicant's fields. Profiles, counter intake, form answers and the API all check against these."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

ID_NUMBER_PATTERN = r"^\d{12}$"
PHONE_PATTERN = r"^(\+84|0)\d{9,10}$"

ID_NUMBER_MESSAGE = _("Số định danh cá nhân (CCCD) gồm đúng 12 chữ số.")
PHONE_MESSAGE = _("Số điện thoại gồm 10-11 chữ số, bắt đầu bằng 0 hoặc +84.")

# The place-of-birth codes of the personal identification number (the first three digits):
# the 63 provinces of Circular 07/2016/TT-BCA, art. 7 and its annex (amended by Circular
# 59/2021/TT-BCA). The 34 provinces formed on 1 July 2025 each kept the code of one of the
# provinces they merged (Hà Nội 001, Lào Cai 015, Bắc Ninh 024, Gia Lai 052, Tây Ninh 080, ...),
# so the post-2025 cards use codes of this list, and the codes on cards issued before stay valid.
PROVINCE_CODES = frozenset(
    {
        "001",  # Hà Nội
        "002",  # Hà Giang
        "004",  # Cao Bằng
        "006",  # Bắc Kạn
        "008",  # Tuyên Quang
        "010",  # Lào Cai
        "011",  # Điện Biên
        "012",  # Lai Châu
        "014",  # Sơn La
        "015",  # Yên Bái
        "017",  # Hòa Bình
        "019",  # Thái Nguyên
        "020",  # Lạng Sơn
        "022",  # Quảng Ninh
        "024",  # Bắc Giang
        "025",  # Phú Thọ
        "026",  # Vĩnh Phúc
        "027",  # Bắc Ninh
        "030",  # Hải Dương
        "031",  # Hải Phòng
        "033",  # Hưng Yên
        "034",  # Thái Bình
        "035",  # Hà Nam
        "036",  # Nam Định
        "037",  # Ninh Bình
        "038",  # Thanh Hóa
        "040",  # Nghệ An
        "042",  # Hà Tĩnh
        "044",  # Quảng Bình
        "045",  # Quảng Trị
        "046",  # Thừa Thiên Huế
        "048",  # Đà Nẵng
        "049",  # Quảng Nam
        "051",  # Quảng Ngãi
        "052",  # Bình Định
        "054",  # Phú Yên
        "056",  # Khánh Hòa
        "058",  # Ninh Thuận
        "060",  # Bình Thuận
        "062",  # Kon Tum
        "064",  # Gia Lai
        "066",  # Đắk Lắk
        "067",  # Đắk Nông
        "068",  # Lâm Đồng
        "070",  # Bình Phước
        "072",  # Tây Ninh
        "074",  # Bình Dương
        "075",  # Đồng Nai
        "077",  # Bà Rịa - Vũng Tàu
        "079",  # Thành phố Hồ Chí Minh
        "080",  # Long An
        "082",  # Tiền Giang
        "083",  # Bến Tre
        "084",  # Trà Vinh
        "086",  # Vĩnh Long
        "087",  # Đồng Tháp
        "089",  # An Giang
        "091",  # Kiên Giang
        "092",  # Cần Thơ
        "093",  # Hậu Giang
        "094",  # Sóc Trăng
        "095",  # Bạc Liêu
        "096",  # Cà Mau
    }
)
# The fourth digit: century and sex (even male, odd female): 0/1 the 1900s, 2/3 the 2000s,
# 4/5 the 2100s, 6/7 the 2200s, 8/9 the 2300s (Circular 07/2016/TT-BCA, art. 7).
FIRST_CENTURY = 1900


def id_number_birth_year(value: str) -> int:
    """The birth year a well-formed ID number encodes (digit 4: century, digits 5-6: year)."""
    return FIRST_CENTURY + 100 * (int(value[3]) // 2) + int(value[4:6])


def id_number_problem(value, date_of_birth: dt.date | str | None = None) -> str | None:
    """What is wrong with `value` as a personal identification number, or None.

    Twelve digits, a province code that exists, a birth year (digits 4-6) not in the future
    and, when the birth date is known, equal to its year."""
    value = str(value or "")
    if not re.match(ID_NUMBER_PATTERN, value):
        return str(ID_NUMBER_MESSAGE)
    if value[:3] not in PROVINCE_CODES:
        return str(
            _("Ba chữ số đầu (%(code)s) phải là mã tỉnh, thành phố nơi đăng ký khai sinh.")
            % {"code": value[:3]}
        )
    year = id_number_birth_year(value)
    if isinstance(date_of_birth, str):
        try:
            date_of_birth = dt.date.fromisoformat(date_of_birth)
        except ValueError:
            date_of_birth = None  # the date's own check reports it
    if date_of_birth and date_of_birth.year != year:
        return str(
            _(
                "Số định danh chỉ năm sinh %(year)d (chữ số thứ 4 là thế kỷ, chữ số 5-6 là năm) "
                "nhưng ngày sinh là năm %(born)d: vui lòng kiểm tra lại một trong hai."
            )
            % {"year": year, "born": date_of_birth.year}
        )
    if year > dt.date.today().year:
        return str(
            _(
                "Chữ số thứ 4 đến thứ 6 chỉ năm sinh %(year)d, là năm chưa tới: vui lòng kiểm tra "
                "lại số định danh."
            )
            % {"year": year}
        )
    return None


def validate_id_number(value, date_of_birth: dt.date | str | None = None) -> None:
    """The one check of a personal identification number (forms, models, services, API)."""
    problem = id_number_problem(value, date_of_birth)
    if problem:
        raise ValidationError(problem, code="id_number")


@deconstructible
class CitizenIdValidator:
    """`validate_id_number` as a field validator (the birth date is checked by the form or
    service that has both)."""

    def __call__(self, value):
        validate_id_number(value)

    def __eq__(self, other):
        return isinstance(other, CitizenIdValidator)

    def __hash__(self):
        return hash(CitizenIdValidator)


CITIZEN_ID_VALIDATOR = CitizenIdValidator()
PHONE_VALIDATOR = RegexValidator(PHONE_PATTERN, PHONE_MESSAGE)

# The applicant's details: a profile's snapshot at submission, a walk-in typed in at the counter.
APPLICANT_FIELDS = ("full_name", "id_number", "date_of_birth", "phone", "email", "address")
APPLICANT_LABELS = {
    "full_name": _("Họ và tên"),
    "id_number": _("Số định danh cá nhân"),
    "date_of_birth": _("Ngày sinh"),
    "phone": _("Số điện thoại"),
    "email": _("Thư điện tử"),
    "address": _("Địa chỉ"),
}


def is_id_number(value) -> bool:
    """Whether `value` has an ID number's shape (12 digits): how a search word is told from a
    name. Whether it is a valid number is `id_number_problem`'s question."""
    return bool(re.match(ID_NUMBER_PATTERN, str(value)))


def is_phone(value) -> bool:
    return bool(re.match(PHONE_PATTERN, str(value)))
