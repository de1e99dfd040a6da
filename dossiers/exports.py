"""The agency register (Sổ theo dõi hồ sơ) for a period, as XLSX or CSV.

CSV is streamed row by row; XLSX uses openpyxl's write-only mode, so neither holds more than a
chunk of dossiers in memory at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .formatting import vn_datetime
from .models import Dossier
from .permissions import visible_dossiers
from .worktime import day_start

COLUMNS = [
    "STT",
    "Mã hồ sơ",
    "Thủ tục hành chính",
    "Người nộp",
    "Địa chỉ",
    "Số điện thoại",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Ngày nhận kết quả từ cơ quan giải quyết",
    "Ngày trả kết quả",
    "Ghi chú",
]


def register_rows(
    *, agency_ids: Iterable[int], date_from: dt.date, date_to: dt.date, visible_to=None
) -> Iterator[list]:
    """The register's rows: dossiers received by `agency_ids` in the period; with `visible_to`,
    only those that user may see (the one visibility rule: never a citizen's draft)."""
    start, end = day_start(date_from), day_start(date_to + dt.timedelta(days=1))
    dossiers = Dossier.objects.all() if visible_to is None else visible_dossiers(visible_to)
    dossiers = (
        dossiers.filter(
            receiving_agency_id__in=list(agency_ids), received_at__gte=start, received_at__lt=end
        )
        .select_related("procedure")
        .order_by("received_at", "id")
        .iterator(chunk_size=1000)
    )
    for number, d in enumerate(dossiers, start=1):
        note = d.get_status_display()
        if d.rescheduled_at:
            note += " · hẹn lại"
        if d.resolved_at and d.original_due_at and d.resolved_at > d.original_due_at:
            note += " · quá hạn"
        yield [
            number,
            d.code,
            d.procedure.name,
            d.applicant.get("full_name", ""),
            d.applicant.get("address", ""),
            d.applicant.get("phone", ""),
            vn_datetime(d.received_at),
            vn_datetime(d.due_at),
            vn_datetime(d.resolved_at),
            vn_datetime(d.returned_at),
            note,
        ]


# A cell beginning with one of these is read as a formula by spreadsheet programs: a citizen
# named `=HYPERLINK(...)` must stay text in the officials' registers (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """`value` for a CSV cell: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[list], columns: list[str] = COLUMNS) -> Iterator[str]:
    """Header then one line per row; UTF-8 with a BOM so spreadsheets read the diacritics."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield "\ufeff" + flush()
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
        yield flush()


def xlsx_bytes(
    rows: Iterable[list], columns: list[str] = COLUMNS, title: str = "Sổ theo dõi hồ sơ"
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _xlsx_cell(sheet, value):
    """Text is always a string cell (openpyxl would store `=...` as a formula); the text itself
    is kept as it is."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
