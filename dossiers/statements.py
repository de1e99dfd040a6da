"""Bank statements: the agency's account statement (CSV) read line by line and matched to the
dossiers waiting for payment (docs/integrations.md, "Sao kê ngân hàng").

The layout: a header line naming the columns, then one credit per line.

    date,amount,description,transaction_id
    03/12/2026,15.000,CK 000.01.27.H27-261203-0001 nop phi,FT26337000123

Columns (any order; English or Vietnamese names, case and accents ignored): `date` / `ngay`
(dd/mm/yyyy or yyyy-mm-dd, optionally with hh:mm[:ss]), `amount` / `so_tien` (whole đồng),
`description` / `noi_dung` (the transfer's description: the dossier code in it),
`transaction_id` / `ma_giao_dich` (the bank's reference, unique per transfer).

Tolerated, because Vietnamese banks' exports do it: a UTF-8 byte-order mark; `;` or tab instead
of `,` (whichever the header uses); thousands separators ("1.500.000", "1,500,000",
"1 500 000"), a trailing ",00"/".00", a "VND"/"đ" suffix; a dossier code whose dots and dashes
the bank dropped or replaced. Anything else is refused line by line with its reason (a debit,
a date or amount not understood, a missing transaction id); a file that is not UTF-8 or has no
such header is refused as a whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from . import payment
from .models import Agency, Dossier, Payment, PaymentMethod, PaymentRefusal
from .services import Actor
from .services.payments import (
    PaymentRefused,
    dossiers_named_in,
    log_refusal,
    normalized,
    payment_confirm,
)
from .worktime import VN_TZ

# The file travels back in the preview's form: under the 2.5 MB of a form body.
MAX_BYTES = 1024 * 1024
COLUMNS = {
    "date": ("date", "ngay", "ngay giao dich", "transaction date"),
    "amount": ("amount", "so tien", "so_tien", "credit", "ghi co"),
    "description": ("description", "noi dung", "noi_dung", "dien giai"),
    "transaction_id": (
        "transaction_id",
        "transaction id",
        "ma giao dich",
        "ma_giao_dich",
        "so but toan",
        "reference",
    ),
}


class StatementError(ValueError):
    pass


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFD", text.strip().lower()).replace("đ", "d")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def parse_amount(text: str) -> int:
    value = re.sub(r"\s*(vnd|vnđ|đ|d)\s*$", "", (text or "").strip(), flags=re.I)
    value = value.replace("\u00a0", " ").replace(" ", "").lstrip("+")
    if value.startswith("-"):
        raise StatementError(_("Khoản ghi nợ (số tiền âm), không phải tiền nộp vào."))
    value = re.sub(r"[.,]00$", "", value)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", value):
        separators = set(re.findall(r"[.,]", value))
        if len(separators) == 1:
            value = re.sub(r"[.,]", "", value)
    if not re.fullmatch(r"\d{1,13}", value) or int(value) <= 0:
        raise StatementError(_("Số tiền “%(text)s” không đọc được.") % {"text": text})
    return int(value)


def parse_date(text: str) -> dt.datetime:
    text = (text or "").strip()
    for pattern in (
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
        "%d-%m-%Y",
    ):
        try:
            return dt.datetime.strptime(text, pattern).replace(tzinfo=VN_TZ)
        except ValueError:
            continue
    raise StatementError(_("Ngày “%(text)s” không đọc được.") % {"text": text})


@dataclass
class Line:
    number: int  # the line's number in the file (the header is line 1)
    paid_at: dt.datetime | None = None
    amount_vnd: int | None = None
    description: str = ""
    transaction_id: str = ""
    error: str = ""


@dataclass
class Statement:
    sha256: str
    lines: list[Line] = field(default_factory=list)


def parse(content: bytes) -> Statement:
    """The statement's lines, each with its values or its error. StatementError for a file
    that cannot be read at all."""
    if len(content) > MAX_BYTES:
        raise StatementError(_("Tệp sao kê quá lớn (tối đa 1 MB)."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError(_("Tệp sao kê phải được lưu với bảng mã UTF-8.")) from None
    rows = text.splitlines()
    if not rows:
        raise StatementError(_("Tệp sao kê trống."))
    header_line = rows[0]
    delimiter = max((";", ",", "\t"), key=header_line.count)
    # Universal newlines: some exports end lines with a bare "\r" (old Excel for Mac).
    try:
        reader = iter(list(csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)))
    except csv.Error as error:
        raise StatementError(
            _("Tệp sao kê không đúng định dạng CSV (%(error)s).") % {"error": error}
        ) from None
    header = [_plain(name) for name in next(reader)]
    positions = {}
    for key, names in COLUMNS.items():
        found = [i for i, name in enumerate(header) if name in names]
        if not found:
            raise StatementError(
                _(
                    "Dòng tiêu đề thiếu cột “%(column)s” (cần: date, amount, description, "
                    "transaction_id)."
                )
                % {"column": key}
            )
        positions[key] = found[0]
    statement = Statement(sha256=hashlib.sha256(content).hexdigest())
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        line = Line(number=number)
        statement.lines.append(line)
        if len(row) <= max(positions.values()):
            line.error = _("Dòng thiếu cột (đọc được %(n)s cột).") % {"n": len(row)}
            continue
        line.description = row[positions["description"]].strip()[:500]
        line.transaction_id = row[positions["transaction_id"]].strip()[:100]
        try:
            line.paid_at = parse_date(row[positions["date"]])
            line.amount_vnd = parse_amount(row[positions["amount"]])
            if not line.transaction_id:
                raise StatementError(_("Thiếu mã giao dịch."))
        except StatementError as error:
            line.error = str(error)
    return statement


class LineStatus:
    MATCHED = "matched"
    WRONG_AMOUNT = "wrong_amount"
    UNMATCHED = "unmatched"
    NOT_AWAITING = "not_awaiting"
    ALREADY = "already"
    INVALID = "invalid"


@dataclass
class Matched:
    line: Line
    status: str
    dossier: Dossier | None = None
    owed_vnd: int | None = None
    reason: str = ""


def match(statement: Statement, agency: Agency) -> list[Matched]:
    """Each line against `agency`'s dossiers: the dossier code in its description, the amount
    equal to what the dossier owes now."""
    ids = [line.transaction_id for line in statement.lines if not line.error]
    recorded = set(
        Payment.objects.filter(
            method=PaymentMethod.BANK_STATEMENT, transaction_id__in=ids
        ).values_list("transaction_id", flat=True)
    )
    # One query for every dossier any line may name (then two per dossier matched).
    candidates = dossiers_named_in(
        " ".join(line.description for line in statement.lines if not line.error),
        agency=agency,
    )
    owing: dict[int, payment.PaymentDue | None] = {}
    out = []
    for line in statement.lines:
        if line.error:
            out.append(Matched(line, LineStatus.INVALID, reason=line.error))
            continue
        if line.transaction_id in recorded:
            out.append(
                Matched(line, LineStatus.ALREADY, reason=_("Giao dịch này đã được ghi nhận."))
            )
            continue
        squeezed = normalized(line.description)
        found = [d for d in candidates if normalized(d.code) in squeezed]
        if len(found) != 1:
            reason = (
                _("Nội dung chuyển khoản nêu nhiều mã hồ sơ.")
                if found
                else _("Không tìm thấy mã hồ sơ của cơ quan trong nội dung chuyển khoản.")
            )
            out.append(Matched(line, LineStatus.UNMATCHED, reason=reason))
            continue
        dossier = found[0]
        if dossier.pk not in owing:
            owing[dossier.pk] = payment.owed(dossier)
        owed = owing[dossier.pk]
        if owed is None:
            out.append(
                Matched(
                    line,
                    LineStatus.NOT_AWAITING,
                    dossier,
                    reason=_("Hồ sơ không ở trạng thái chờ nộp phí: cần đối soát."),
                )
            )
        elif owed.amount_vnd != line.amount_vnd:
            out.append(
                Matched(
                    line,
                    LineStatus.WRONG_AMOUNT,
                    dossier,
                    owed.amount_vnd,
                    _("Số tiền khác số phải nộp."),
                )
            )
        else:
            out.append(Matched(line, LineStatus.MATCHED, dossier, owed.amount_vnd))
    return out


@dataclass
class Imported:
    recorded: list[Payment] = field(default_factory=list)
    already: int = 0
    refused: int = 0
    skipped: int = 0


def record_statement(*, actor: Actor, agency: Agency, content: bytes) -> Imported:
    """Record the statement's matched lines (each through services.payments.payment_confirm, as
    `actor`: the official importing it); a line whose amount differs from what its dossier owes
    is refused and logged. The same file again records nothing new (transaction ids)."""
    statement = parse(content)
    result = Imported()
    for row in match(statement, agency):
        line = row.line
        if row.status == LineStatus.ALREADY:
            result.already += 1
            continue
        if row.status == LineStatus.WRONG_AMOUNT:
            _refuse(actor, statement, line, PaymentRefusal.Reason.AMOUNT, row.reason, row.dossier)
            result.refused += 1
            continue
        if row.status != LineStatus.MATCHED:
            result.skipped += 1
            continue
        try:
            confirmation = payment_confirm(
                actor=actor,
                dossier=row.dossier,
                method=PaymentMethod.BANK_STATEMENT,
                transaction_id=line.transaction_id,
                amount_vnd=line.amount_vnd,
                paid_at=line.paid_at,
                source=_("sao kê %(sha)s, dòng %(n)s")
                % {"sha": statement.sha256[:16], "n": line.number},
            )
        except PaymentRefused as refused:  # the dossier changed since the preview
            _refuse(actor, statement, line, refused.reason, refused.detail, row.dossier)
            result.refused += 1
            continue
        if confirmation.created:
            result.recorded.append(confirmation.payment)
        else:
            result.already += 1
    return result


def _refuse(actor, statement, line, reason, detail, dossier) -> None:
    log_refusal(
        method=PaymentMethod.BANK_STATEMENT,
        reason=reason,
        detail=f"{detail} ({_('dòng')} {line.number})",
        ip=actor.ip,
        headers={"statement_sha256": statement.sha256, "line": line.number},
        body=f"{line.paid_at:%d/%m/%Y} | {line.amount_vnd} | {line.description} | "
        f"{line.transaction_id}",
        dossier=dossier,
    )
