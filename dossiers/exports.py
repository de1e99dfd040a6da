"""The tables staff download: the agency register (Sổ theo dõi hồ sơ) for a period and the
province's audit log, as XLSX or CSV.

Rows are read in chunks from a server-side cursor; CSV is written row by row and XLSX uses
openpyxl's write-only mode, so neither holds more than a chunk of rows in memory at once. Small
tables are answered in the request; large ones are built by the worker (export_jobs.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from django.db.models import Q
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from . import queries
from .formatting import vn_datetime
from .models import Dossier, DossierEvent
from .permissions import visibility_filter, visible_dossiers
from .workflow import EventType, Status
from .worktime import day_start

# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
CHUNK = 2000

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


def register_queryset(
    *, agency_ids: Iterable[int], date_from: dt.date, date_to: dt.date, visible_to=None
):
    """Dossiers received by `agency_ids` in the period, in the register's order; with
    `visible_to`, only those that user may see (the one visibility rule: never a citizen's
    draft)."""
    start, end = day_start(date_from), day_start(date_to + dt.timedelta(days=1))
    dossiers = Dossier.objects.all() if visible_to is None else visible_dossiers(visible_to)
    return dossiers.filter(
        receiving_agency_id__in=list(agency_ids), received_at__gte=start, received_at__lt=end
    ).order_by("received_at", "id")


def register_rows(
    *, agency_ids: Iterable[int], date_from: dt.date, date_to: dt.date, visible_to=None
) -> Iterator[list]:
    """The register's rows (`register_queryset`), read in chunks."""
    return register_table(
        register_queryset(
            agency_ids=agency_ids, date_from=date_from, date_to=date_to, visible_to=visible_to
        )
    )


# What a register row reads: plain values, not model instances (five times fewer CPU seconds a
# row at a province's scale).
REGISTER_FIELDS = (
    "code",
    "procedure__name",
    "applicant",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "rescheduled_at",
    "original_due_at",
)


def register_table(dossiers) -> Iterator[list]:
    """One numbered row per dossier of `dossiers` (a queryset), read in chunks."""
    labels = {value: str(label) for value, label in Status.choices}  # in the active language
    values = dossiers.values_list(*REGISTER_FIELDS).iterator(chunk_size=CHUNK)
    for number, row in enumerate(values, start=1):
        code, procedure, applicant, received, due, resolved, returned, status = row[:8]
        rescheduled, original_due = row[8:]
        note = labels.get(status, status)
        if rescheduled:
            note += " · hẹn lại"
        if resolved and original_due and resolved > original_due:
            note += " · quá hạn"
        yield [
            number,
            code,
            procedure,
            applicant.get("full_name", ""),
            applicant.get("address", ""),
            applicant.get("phone", ""),
            vn_datetime(received),
            vn_datetime(due),
            vn_datetime(resolved),
            vn_datetime(returned),
            note,
        ]


# --- the province's audit log --------------------------------------------------------------------

AUDIT_COLUMNS = [
    "Thời điểm",
    "Mã hồ sơ",
    "Sự kiện",
    "Từ",
    "Sang",
    "Người thực hiện",
    "Vai trò",
    "Cơ quan",
    "IP",
    "Ghi chú",
    "Băm",
]

# The audit log's filters (query parameters of its page); anything else is ignored.
AUDIT_FILTERS = ("actor", "agency", "event_type", "procedure", "code", "date_from", "date_to")


def audit_queryset(*, agency_ids: Iterable[int], filters: Mapping[str, str], visible_to):
    """Events of the dossiers of `agency_ids` (receiving or competent) that `visible_to` sees,
    filtered as the audit log's page filters them, newest first; unknown or malformed filter
    values are ignored, never an error."""
    province = list(agency_ids)
    events = DossierEvent.objects.filter(
        Q(dossier__receiving_agency_id__in=province) | Q(dossier__competent_agency_id__in=province),
        # The one visibility rule: a citizen's draft (and its events) is not the province's.
        # Read on the event's own dossier row (newest events first, each joined by its key),
        # not as a semi-join over every visible dossier.
        visibility_filter(visible_to, prefix="dossier__"),
    )
    # A named actor or dossier is looked up first (a sub-query run once), so that the events
    # are read newest first from the (actor, created_at) or (dossier, seq) index.
    if filters.get("actor"):
        events = events.filter(actor_id=queries.user_id_named(filters["actor"].strip()))
    if str(filters.get("agency", "")).isdigit():
        events = events.filter(agency_id=int(filters["agency"]))
    if filters.get("event_type") in EventType.values:
        events = events.filter(event_type=filters["event_type"])
    if filters.get("procedure"):
        events = events.filter(dossier__procedure__code=filters["procedure"])
    if filters.get("code"):
        events = events.filter(dossier_id=queries.dossier_id_coded(filters["code"].strip()))
    events = queries.in_date_range(
        events, "created_at", filters.get("date_from", ""), filters.get("date_to", "")
    )
    return events.order_by("-created_at", "-id")


def audit_rows(events) -> Iterator[list]:
    """One row per event of `events` (a queryset), read in chunks."""
    for e in events.select_related("dossier", "agency").iterator(chunk_size=CHUNK):
        yield [
            vn_datetime(e.created_at),
            e.dossier.code or f"#{e.dossier_id}",
            e.event_type,
            e.from_status,
            e.to_status,
            e.actor_name,
            e.role,
            e.agency.name if e.agency else "",
            e.ip or "",
            e.note,
            e.hash,
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


def write_csv(rows: Iterable[list], out: BinaryIO, columns: list[str] = COLUMNS) -> None:
    """The CSV of `rows` written to the binary file `out` (what `csv_lines` streams)."""
    for line in csv_lines(rows, columns):
        out.write(line.encode())


def write_xlsx(
    rows: Iterable[list],
    out: BinaryIO,
    columns: list[str] = COLUMNS,
    title: str = "Sổ theo dõi hồ sơ",
) -> None:
    """The workbook of `rows` written to the binary file `out`. Write-only mode keeps the sheet
    in a temporary file, not in memory, whatever the number of rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(out)


def xlsx_bytes(
    rows: Iterable[list], columns: list[str] = COLUMNS, title: str = "Sổ theo dõi hồ sơ"
) -> bytes:
    output = io.BytesIO()
    write_xlsx(rows, output, columns, title)
    return output.getvalue()


def _xlsx_cell(sheet, value):
    """Text is always a string cell (openpyxl would store `=...` as a formula); the text itself
    is kept as it is."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
