"""A dossier's audit trail as a supervisor reads it: a record of who did what, in which role,
with the data each step changed, in words, not ids and codes.

Each event carries the changes of the history row its save wrote (`data.history.id`); the other
history rows (files, clock pauses) join the event of the same person at the same moment, or
stand alone. Names, documents and agencies are looked up once per kind for the whole page, so
the page's query count does not grow with the trail."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from ..audit import display_name
from ..formatting import vn_date, vn_datetime
from ..models import Agency, Attachment, ClockPause, Dossier, ProcedureDocument, Slip
from ..validators import APPLICANT_LABELS
from ..workflow import Role, Status

# History rows join the event of the same person written within this time (one transaction).
SAME_STEP = dt.timedelta(seconds=5)
# Fields whose models name them only in code (a verbose_name would need a migration).
FIELD_LABELS = {
    "supplement_return_status": _lazy("Trạng thái trở lại sau khi bổ sung"),
    "file": _lazy("Tệp"),
    "sha256": _lazy("Mã SHA-256 của tệp"),
    "uploaded_by": _lazy("Người tải lên"),
    "created_at": _lazy("Tạo lúc"),
    "reason": _lazy("Lý do tạm dừng"),
    "started_at": _lazy("Bắt đầu tạm dừng"),
    "ended_at": _lazy("Kết thúc tạm dừng"),
    "working_seconds": _lazy("Thời gian làm việc trong khoảng tạm dừng (giây)"),
}


@dataclass
class Change:
    field: str
    label: str
    before: str | list[tuple[str, str]]  # a table's rows when the value is a record (applicant)
    after: str | list[tuple[str, str]]

    def before_is_table(self) -> bool:
        return isinstance(self.before, list)

    def after_is_table(self) -> bool:
        return isinstance(self.after, list)


@dataclass
class Entry:
    at: dt.datetime
    title: str
    who: str  # a name, or "hệ thống" for an automatic step
    role: str = ""
    agency: str = ""
    ip: str = ""
    seq: int | None = None
    status_from: str = ""
    status_to: str = ""
    note: str = ""
    slip: str = ""
    slip_sha256: str = ""
    hash: str = ""
    actor_id: int | None = None
    changes: list[Change] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def role_labels(value: str) -> str:
    """'reception' -> 'Cán bộ một cửa'; several roles (a reader's) joined."""
    labels = dict(Role.choices)
    return ", ".join(str(labels.get(r.strip(), r.strip())) for r in value.split(",") if r.strip())


def status_label(value: str) -> str:
    return str(dict(Status.choices).get(value, value)) if value else ""


class _Names:
    """Every id the page shows by name, fetched once per model."""

    def __init__(self, dossier: Dossier, history_rows):
        wanted: dict[type, set] = defaultdict(set)
        for row in history_rows:
            for f in row.tracked_fields:
                if isinstance(f, models.ForeignKey) and f.name not in ("dossier",):
                    value = getattr(row, f.attname)
                    if value is not None:
                        wanted[f.related_model].add(value)
        user_model = get_user_model()
        self.objects: dict[type, dict] = {}
        for model, ids in wanted.items():
            queryset = model.objects.filter(pk__in=ids)
            if model is user_model:
                queryset = queryset.select_related("citizen_profile")
            self.objects[model] = {obj.pk: obj for obj in queryset}
        documents = ProcedureDocument.objects.filter(procedure_id=dossier.procedure_id)
        self.documents = {d.pk: d.name for d in documents}
        self.form_labels = {f.key: f.label for f in dossier.procedure.fields.all()}
        self.applicant_labels = {k: str(v) for k, v in APPLICANT_LABELS.items()}

    def of(self, model, pk) -> str:
        obj = self.objects.get(model, {}).get(pk)
        if obj is None:
            return f"#{pk}"
        if model is get_user_model():
            return display_name(obj)
        if model is Agency:
            return obj.name
        return str(obj)


def _plain(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if isinstance(value, dt.datetime):
        return vn_datetime(value)
    if isinstance(value, dt.date):
        return vn_date(value)
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return vn_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _value(f, value, names: _Names):
    """A field's value as the page shows it: a label, a name, a date, or a small table."""
    if value in (None, "", [], {}):
        return "—"
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.ForeignKey):
        return names.of(f.related_model, value)
    if f.name == "applicant" and isinstance(value, dict):
        return [(names.applicant_labels.get(k, k), _plain(v)) for k, v in value.items()]
    if f.name == "form_data" and isinstance(value, dict):
        return [(names.form_labels.get(k, k), _plain(v)) for k, v in value.items()]
    if f.name == "requested_documents" and isinstance(value, list):
        return ", ".join(names.documents.get(v, f"#{v}") for v in value)
    if isinstance(value, dict):
        return [(str(k), _plain(v)) for k, v in value.items()]
    return _plain(value)


def _changes(previous, row, names: _Names) -> list[Change]:
    """What `row` changed since `previous` (nothing for a creation: the event says it)."""
    if previous is None:
        return []
    changes = []
    for f in row.tracked_fields:
        if f.name in ("id", "dossier"):
            continue
        old, new = getattr(previous, f.attname), getattr(row, f.attname)
        if old == new:
            continue
        changes.append(
            Change(
                f.name,
                str(FIELD_LABELS.get(f.name, f.verbose_name)).capitalize(),
                _value(f, old, names),
                _value(f, new, names),
            )
        )
    return changes


def _history(queryset) -> list:
    return list(queryset.select_related("history_user").order_by("history_date", "history_id"))


def trail_entries(dossier: Dossier) -> list[Entry]:
    """The trail, oldest first: the events, each with the data its step changed."""
    dossier_rows = _history(Dossier.history.filter(id=dossier.pk))
    file_rows = _history(Attachment.history.filter(dossier_id=dossier.pk))
    pause_rows = _history(ClockPause.history.filter(dossier_id=dossier.pk))
    names = _Names(dossier, dossier_rows + file_rows + pause_rows)
    system = _("hệ thống")

    entries, by_history_id = [], {}
    for e in dossier.events.select_related("agency").order_by("seq"):
        entry = Entry(
            at=e.created_at,
            title=e.get_event_type_display(),
            who=e.actor_name or system,
            role=role_labels(e.role),
            agency=e.agency.name if e.agency else "",
            ip=e.ip or "",
            seq=e.seq,
            status_from=status_label(e.from_status),
            status_to=status_label(e.to_status),
            note=e.note,
            hash=e.hash,
            actor_id=e.actor_id,
        )
        if e.data.get("sha256"):
            kind = e.data.get("kind", "")
            entry.slip = str(dict(Slip.Kind.choices).get(kind, kind))
            entry.slip_sha256 = e.data["sha256"]
        reference = e.data.get("history") or {}
        if reference.get("id"):
            by_history_id[reference["id"]] = entry
        entries.append(entry)

    def step_of(row) -> Entry | None:
        """The event this history row belongs to: named by it, or the same person's at the
        same moment."""
        if row.history_id in by_history_id and isinstance(row, Dossier.history.model):
            return by_history_id[row.history_id]
        # A row saved without its user (a clock pause) belongs to the step around it.
        near = [
            e
            for e in entries
            if row.history_user_id in (None, e.actor_id)
            and abs(e.at - row.history_date) <= SAME_STEP
        ]
        return min(near, key=lambda e: abs(e.at - row.history_date)) if near else None

    standalone = []
    for rows, what in (
        (dossier_rows, _("hồ sơ")),
        (file_rows, _("tài liệu")),
        (pause_rows, _("khoảng tạm dừng")),
    ):
        previous_of: dict = {}
        for row in rows:
            previous = previous_of.get(row.id)
            previous_of[row.id] = row
            changes = _changes(previous, row, names)
            if isinstance(row, Attachment.history.model):
                label = row.original_name or (names.documents.get(row.document_id) or "")
                detail = {
                    "+": _("Thêm tài liệu: %(name)s"),
                    "~": _("Sửa tài liệu: %(name)s"),
                    "-": _("Gỡ tài liệu: %(name)s"),
                }[row.history_type] % {"name": label}
                changes = [] if row.history_type == "+" else changes
            elif isinstance(row, ClockPause.history.model) and row.history_type == "+":
                detail = _("Thời hạn giải quyết tạm dừng: %(reason)s") % {
                    "reason": row.get_reason_display()
                }
            elif isinstance(row, ClockPause.history.model) and changes and row.ended_at:
                detail, changes = _("Thời hạn giải quyết tính tiếp"), []
            else:
                detail = ""
            step = step_of(row)
            if step is not None:
                # The step's own line says the status change already.
                step.changes += [c for c in changes if not (c.field == "status" and step.status_to)]
                if detail:
                    step.details.append(detail)
                continue
            if previous is not None and not changes and not detail:
                continue
            standalone.append(
                Entry(
                    at=row.history_date,
                    title=detail
                    or {"+": _("Tạo %(what)s"), "~": _("Sửa %(what)s"), "-": _("Xóa %(what)s")}[
                        row.history_type
                    ]
                    % {"what": what},
                    who=display_name(row.history_user) if row.history_user else system,
                    actor_id=row.history_user_id,
                    changes=[] if detail else changes,
                )
            )
    return sorted(entries + standalone, key=lambda e: (e.at, e.seq is None, e.seq or 0))
