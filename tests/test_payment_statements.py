"""Bank statements imported by reception: the CSV layout and Vietnamese banks' quirks, the
preview (matched, unmatched, wrong amount), recording the matched lines once."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dossiers import statements
from dossiers.models import Dossier, Payment, PaymentMethod, PaymentRefusal
from dossiers.statements import LineStatus, StatementError, parse, parse_amount
from dossiers.workflow import EventType, Role, Status
from tests.conftest import actor


@pytest.fixture
def owing(make_dossier, fee_later_procedure):
    return make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure)


@pytest.fixture
def two_owing(make_dossier, fee_later_procedure):
    return [make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure) for _ in range(2)]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("15000", 15000),
        ("15.000", 15000),
        ("1,500,000", 1500000),
        ("1 500 000", 1500000),
        ("15.000,00", 15000),
        ("15,000.00", 15000),
        ("+15.000 VND", 15000),
        ("15.000đ", 15000),
    ],
)
def test_amounts_as_banks_write_them(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["-15.000", "15.5", "abc", "0", "1.50.000", ""])
def test_amounts_refused(text):
    with pytest.raises(StatementError):
        parse_amount(text)


def csv_bytes(lines: list[str], *, delimiter=",", bom=False) -> bytes:
    text = "\r\n".join(line.replace(",", delimiter) for line in lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def test_bom_semicolons_and_vietnamese_headers():
    content = csv_bytes(
        [
            "Ngày,Số tiền,Nội dung,Mã giao dịch",
            "03/12/2026 10:15,15.000,CK nop phi ho so,FT1",
            "2026-12-03,abc,x,FT2",
            "03/12/2026,15000,x,",
        ],
        delimiter=";",
        bom=True,
    )
    statement = parse(content)
    first, second, third = statement.lines
    assert (first.number, first.amount_vnd, first.transaction_id) == (2, 15000, "FT1")
    assert first.paid_at.hour == 10 and not first.error
    assert second.number == 3 and "abc" in second.error
    assert "mã giao dịch" in third.error.lower()


def test_a_file_without_the_columns_or_not_utf8_is_refused():
    with pytest.raises(StatementError, match="transaction_id"):
        parse(b"date,amount,description\n03/12/2026,1,x\n")
    with pytest.raises(StatementError, match="UTF-8"):
        parse("date,amount,description,transaction_id\n1,2,Nộp,4\n".encode("utf-16"))


def test_matching_finds_codes_the_bank_mangled(owing, two_owing, commune, reception):
    other, wrong = two_owing
    squeezed = owing.code.replace(".", "").replace("-", " ")
    content = csv_bytes(
        [
            "date,amount,description,transaction_id",
            f"03/12/2026,15.000,NGUYEN VAN AN CK {squeezed} NOP PHI,FT100",
            f"03/12/2026,15000,{other.code},FT101",
            f"03/12/2026,20.000,{wrong.code} nop phi,FT102",
            "03/12/2026,15.000,chuyen tien an trua,FT103",
            "03/12/2026,-15.000,phi dich vu,FT104",
        ]
    )
    rows = statements.match(parse(content), commune)
    assert [r.status for r in rows] == [
        LineStatus.MATCHED,
        LineStatus.MATCHED,
        LineStatus.WRONG_AMOUNT,
        LineStatus.UNMATCHED,
        LineStatus.INVALID,
    ]
    assert rows[0].dossier == owing and rows[1].dossier == other and rows[2].owed_vnd == 15000

    result = statements.record_statement(actor=actor(reception), agency=commune, content=content)
    assert len(result.recorded) == 2 and (result.refused, result.skipped) == (1, 2)
    assert Dossier.objects.get(pk=owing.pk).status == Status.PROCESSING
    assert Dossier.objects.get(pk=wrong.pk).status == Status.AWAITING_PAYMENT
    paid = Payment.objects.get(transaction_id="FT100")
    assert (paid.method, paid.confirmed_by, paid.amount_vnd) == (
        PaymentMethod.BANK_STATEMENT,
        reception,
        15000,
    )
    event = owing.events.get(event_type=EventType.PAYMENT_RECORDED)
    assert event.role == Role.RECEPTION and event.actor == reception
    refusal = PaymentRefusal.objects.get()
    assert refusal.reason == PaymentRefusal.Reason.AMOUNT and refusal.dossier_id == wrong.pk

    again = statements.record_statement(actor=actor(reception), agency=commune, content=content)
    assert again.recorded == [] and again.already == 2
    assert Payment.objects.count() == 2


def test_another_agencys_dossier_does_not_match(owing, other_commune):
    content = csv_bytes(
        ["date,amount,description,transaction_id", f"1/12/2026,15000,{owing.code},X1"]
    )
    (row,) = statements.match(parse(content), other_commune)
    assert row.status == LineStatus.UNMATCHED


# --- the office's page ----------------------------------------------------------------------


def test_preview_then_confirm_then_the_same_file_again(client, reception, owing):
    client.force_login(reception)
    url = reverse("office:statement_import")
    assert client.get(url).status_code == 200
    content = csv_bytes(
        [
            "date,amount,description,transaction_id",
            f"03/12/2026,15.000,{owing.code},FT200",
            "03/12/2026,15.000,khong ro,FT201",
        ]
    )
    preview = client.post(
        url,
        {
            "step": "preview",
            "agency": owing.receiving_agency_id,
            "statement": SimpleUploadedFile("sao-ke.csv", content, "text/csv"),
        },
    )
    page = preview.content.decode()
    assert preview.status_code == 200 and "line-matched" in page and "line-unmatched" in page
    assert not Payment.objects.exists()  # the preview writes nothing
    text = content.decode()
    confirm = {"step": "confirm", "agency": owing.receiving_agency_id, "content": text}
    assert client.post(url, confirm).status_code == 302
    assert Payment.objects.get().transaction_id == "FT200"
    assert Dossier.objects.get(pk=owing.pk).status == Status.PROCESSING
    client.post(url, confirm)
    assert Payment.objects.count() == 1
    dossier_page = client.get(reverse("office:dossier", args=[owing.pk])).content.decode()
    assert "FT200" in dossier_page and "fee_receipt" in dossier_page


def test_bare_carriage_returns_are_line_ends_and_a_broken_csv_is_refused():
    """Old Excel-for-Mac exports end lines with a bare CR; a field larger than the CSV reader
    takes is refused with a message, never a crash."""
    statement = parse(b"date,amount,description,transaction_id\r03/12/2026,15000,x,FT1\r")
    [line] = statement.lines
    assert (line.amount_vnd, line.transaction_id) == (15000, "FT1")
    huge = b'date,amount,description,transaction_id\n03/12/2026,1,"' + b"x" * 200_000 + b'",T\n'
    with pytest.raises(StatementError, match="CSV"):
        parse(huge)


def test_a_bad_file_is_a_form_error(client, reception, commune):
    client.force_login(reception)
    response = client.post(
        reverse("office:statement_import"),
        {
            "step": "preview",
            "agency": commune.pk,
            "statement": SimpleUploadedFile("x.csv", b"a,b\n1,2\n", "text/csv"),
        },
    )
    assert response.status_code == 400 and "message error" in response.content.decode()


def test_only_reception_imports(client, specialist, commune):
    client.force_login(specialist)
    response = client.get(reverse("office:statement_import"))
    assert response.status_code == 403


def test_matching_a_long_statement_takes_a_bounded_number_of_queries(
    owing, commune, django_assert_max_num_queries
):
    lines = ["date,amount,description,transaction_id"]
    lines += [
        f"03/12/2026,15.000,CK 000.09.99.H27-2612{n % 28 + 1:02d}-{n:04d},T{n}" for n in range(300)
    ]
    lines.append(f"03/12/2026,15.000,{owing.code},T-OWING")
    statement = parse(csv_bytes(lines))
    with django_assert_max_num_queries(8):
        rows = statements.match(statement, commune)
    assert [r.status for r in rows].count(LineStatus.UNMATCHED) == 300
    assert rows[-1].status == LineStatus.MATCHED and rows[-1].dossier == owing


def test_a_fee_due_at_filing_is_matched_and_recorded_too(
    make_dossier, procedure, commune, reception
):
    filed = make_dossier(Status.SUBMITTED, procedure=procedure)
    content = csv_bytes(
        ["date,amount,description,transaction_id", f"03/12/2026,15.000,{filed.code},FT300"]
    )
    (row,) = statements.match(parse(content), commune)
    assert row.status == LineStatus.MATCHED
    result = statements.record_statement(actor=actor(reception), agency=commune, content=content)
    (paid,) = result.recorded
    assert paid.outcome == Payment.Outcome.FILING_FEE
    fresh = Dossier.objects.get(pk=filed.pk)
    assert fresh.status == Status.SUBMITTED
    event = fresh.events.order_by("-seq").first()
    assert (event.event_type, event.role, event.actor) == (
        EventType.FILING_FEE_PAID,
        Role.RECEPTION,
        reception,
    )
