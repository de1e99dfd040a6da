"""Personal identification numbers (CCCD) are checked as Circular 07/2016/TT-BCA defines them,
by the one function every form, the API and the counter intake use."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from citizens.forms import SignUpForm
from dossiers.errors import ValidationFailed
from dossiers.services import clean_applicant
from dossiers.validators import PROVINCE_CODES, id_number_problem, validate_id_number


@pytest.mark.parametrize(
    "number, born",
    [
        ("031090001234", dt.date(1990, 5, 17)),  # Hải Phòng, man born 1990
        ("031195004321", "1995-11-02"),  # woman born 1995
        ("001203000001", dt.date(2003, 1, 1)),  # Hà Nội, man born 2003
        ("096301000042", None),  # Cà Mau, woman born 2001, birth date not given
        ("079099123456", ""),
    ],
)
def test_well_formed_numbers_pass(number, born):
    assert id_number_problem(number, born) is None
    validate_id_number(number, born)


@pytest.mark.parametrize(
    "number, born, words",
    [
        ("000000000000", None, "mã tỉnh"),
        ("999999999999", None, "mã tỉnh"),
        ("003090001234", None, "(003)"),  # no province has code 003
        ("03109000123", None, "12 chữ số"),
        ("03109000123a", None, "12 chữ số"),
        ("031295001234", dt.date(1995, 3, 1), "năm sinh 2095"),  # 2000s digit, 1995 birth
        ("031295001234", None, "năm chưa tới"),
        ("031090001234", dt.date(1991, 5, 17), "năm 1991"),  # year digits disagree
        ("031490001234", None, "năm chưa tới"),  # the 2100s
    ],
)
def test_malformed_numbers_are_refused_with_a_clear_message(number, born, words):
    problem = id_number_problem(number, born)
    assert problem and words in problem
    with pytest.raises(ValidationError):
        validate_id_number(number, born)


def test_the_province_list_is_the_circulars_63():
    assert len(PROVINCE_CODES) == 63 and {"001", "031", "079", "096"} <= PROVINCE_CODES


def sign_up(**overrides):
    data = {
        "full_name": "Lê Thị Hồng Nhung",
        "id_number": "031199007777",
        "date_of_birth": "1999-04-30",
        "phone": "0912000111",
        "email": "nhung@example.vn",
        "address": "Thôn Đông, xã Vĩnh Bảo",
        "password1": "Hoa-sen-2026!",
        "password2": "Hoa-sen-2026!",
        **overrides,
    }
    return SignUpForm(data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number, born",
    [
        ("000000000000", "1990-01-01"),
        ("999999999999", "1990-01-01"),
        ("031395001234", "1995-06-01"),
    ],
)
def test_the_sign_up_form_refuses_them(number, born):
    form = sign_up(id_number=number, date_of_birth=born)
    assert not form.is_valid() and "id_number" in form.errors


@pytest.mark.django_db
def test_the_sign_up_form_takes_a_consistent_number():
    assert sign_up().is_valid()


def test_the_counter_intake_and_the_api_check_the_birth_year():
    applicant = {"full_name": "Phạm Thị Đào", "id_number": "031385001111"}
    with pytest.raises(ValidationFailed) as error:
        clean_applicant({**applicant, "date_of_birth": "1985-02-03"})
    assert "năm 1985" in error.value.fields["id_number"][0]
    assert clean_applicant(
        {**applicant, "id_number": "031185001111", "date_of_birth": "1985-02-03"}
    )


def test_the_benchmark_seed_makes_valid_numbers():
    import random

    from bench.seed import person

    rng = random.Random(13)  # nosec B311  (test data)
    for number in [None, *range(300)]:
        applicant = person(rng, number, dt.date(2026, 12, 3))
        assert id_number_problem(applicant["id_number"], applicant["date_of_birth"]) is None
