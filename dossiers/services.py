"""Every write to a dossier. Views, the API, commands and tests call these functions only.

Each action runs `_perform`: inside one transaction it locks the dossier row, checks that the
caller saw the current version, checks visibility and permission, applies the action's guards
and field changes, fires the django-fsm transition, appends the audit event and saves. Work that
must not roll an action back (e-mail, PDFs) is scheduled with `transaction.on_commit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from . import clock, notify
from .audit import append_event, append_event_locked
from .errors import ChangedMeanwhile, Forbidden, InvalidTransition, NotFound, ValidationFailed
from .models import (
    Agency,
    Attachment,
    Channel,
    ClockPause,
    Dossier,
    DossierCodeSequence,
    Procedure,
    ProcedureDocument,
    ProcedureField,
)
from .permissions import (
    agency_ids_with_role,
    can_see,
    memberships_of,
    official_roles_for,
    roles_at,
)
from .workflow import (
    ACTION_EVENT,
    EDGES,
    SAME,
    TERMINAL_STATUSES,
    Action,
    EventType,
    Role,
    Status,
    edge_for,
    sources_of,
)
from .worktime import WorkCalendar

User = get_user_model()


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (the IP goes into the audit event)."""

    user: Any
    ip: str | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls(user=request.user, ip=request.META.get("REMOTE_ADDR"))


# --- form data ------------------------------------------------------------------------------

_PHONE_RE = re.compile(r"^(\+84|0)\d{9,10}$")
_ID_RE = re.compile(r"^\d{12}$")


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
        if not _PHONE_RE.match(str(value)):
            raise DjangoValidationError(_("Số điện thoại không hợp lệ."))
        return str(value)
    if field.type == kind.ID_NUMBER:
        if not _ID_RE.match(str(value)):
            raise DjangoValidationError(_("Số định danh cá nhân gồm đúng 12 chữ số."))
        return str(value)
    raise DjangoValidationError(_("Kiểu trường không được hỗ trợ."))


# --- applicant snapshot ---------------------------------------------------------------------

APPLICANT_FIELDS = ("full_name", "id_number", "date_of_birth", "phone", "email", "address")


def clean_applicant(data: dict) -> dict:
    """Validate a walk-in applicant typed in at the counter."""
    errors: dict[str, list[str]] = {}
    cleaned = {name: str(data.get(name) or "").strip() for name in APPLICANT_FIELDS}
    if not cleaned["full_name"]:
        errors["full_name"] = [_("Vui lòng nhập họ và tên.")]
    if cleaned["id_number"] and not _ID_RE.match(cleaned["id_number"]):
        errors["id_number"] = [_("Số định danh cá nhân gồm đúng 12 chữ số.")]
    if cleaned["phone"] and not _PHONE_RE.match(cleaned["phone"]):
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


def _profile_snapshot(user) -> dict:
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        raise ValidationFailed(
            _("Vui lòng hoàn thiện hồ sơ cá nhân trước khi nộp."),
            fields={"applicant": [_("Chưa có hồ sơ cá nhân.")]},
        )
    return profile.snapshot()


# --- dossier codes --------------------------------------------------------------------------

MAX_DAILY_SEQUENCE = 9999


def next_dossier_code(agency: Agency, at: dt.datetime) -> str:
    """`<agency code>-<YYMMDD>-<NNNN>`: a per-agency, per-day (Vietnam date) sequence.

    One atomic UPSERT ... RETURNING, so simultaneous submissions each get their own number
    and a number is never handed out twice (the counter only goes up, even on rollback gaps).
    """
    day = at.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    table = DossierCodeSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (agency_id, day, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [agency.pk, day],
        )
        (number,) = cursor.fetchone()
    if number > MAX_DAILY_SEQUENCE:
        raise ValidationFailed(_("Đã hết số hồ sơ trong ngày của cơ quan này."))
    return f"{agency.code}-{day:%y%m%d}-{number:04d}"


# --- attachments ----------------------------------------------------------------------------

DEFAULT_ALLOWED_TYPES = ("pdf", "jpg", "png")
# What a document's allowed type names accept, by sniffed extension.
TYPE_ALIASES = {"jpg": {"jpg", "jpeg"}, "jpeg": {"jpg", "jpeg"}}


def _limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "ONESTOP_MAX_FILE_BYTES", 10 * 1024 * 1024),
        getattr(settings, "ONESTOP_MAX_DOSSIER_BYTES", 50 * 1024 * 1024),
        getattr(settings, "ONESTOP_MAX_FILES_PER_DOSSIER", 40),
    )


def sniff_upload(upload, allowed: Iterable[str]) -> tuple[str, str]:
    """(extension, content type) from the file's bytes, refusing types not in `allowed`."""
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    allowed = {a.lower() for a in allowed} or set(DEFAULT_ALLOWED_TYPES)
    accepted = set().union(*(TYPE_ALIASES.get(a, {a}) for a in allowed))
    if kind is None or kind.extension not in accepted:
        raise ValidationFailed(
            fields={
                "file": [
                    _("Tệp không đúng định dạng cho phép (%(types)s).")
                    % {"types": ", ".join(sorted(allowed)).upper()}
                ]
            }
        )
    return kind.extension, kind.mime


def attachment_add(
    *,
    actor: Actor,
    dossier: Dossier,
    upload,
    purpose: str = Attachment.Purpose.APPLICATION,
    document: ProcedureDocument | None = None,
) -> Attachment:
    """Store an uploaded file for a dossier after checking its content, size and count."""
    if purpose not in Attachment.Purpose.values:
        raise ValidationFailed(fields={"purpose": [_("Mục đích không hợp lệ.")]})
    if document is not None and document.procedure_id != dossier.procedure_id:
        raise ValidationFailed(fields={"document_type": [_("Giấy tờ không thuộc thủ tục này.")]})
    if purpose != Attachment.Purpose.RESULT and document is None:
        raise ValidationFailed(fields={"document_type": [_("Vui lòng chọn loại giấy tờ.")]})
    max_file, max_total, max_count = _limits()
    if upload.size > max_file:
        raise ValidationFailed(
            fields={"file": [_("Tệp vượt quá %(mb)d MB.") % {"mb": max_file // (1024 * 1024)}]}
        )
    _ext, content_type = sniff_upload(
        upload, document.allowed_types if document else DEFAULT_ALLOWED_TYPES
    )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)

    with transaction.atomic():
        locked = _lock(dossier.pk, actor.user)
        _check_attachment_permission(actor.user, locked, purpose)
        existing = locked.attachments.exclude(file="")
        if existing.count() >= max_count:
            raise ValidationFailed(
                fields={"file": [_("Hồ sơ đã có tối đa %(n)d tệp.") % {"n": max_count}]}
            )
        total = sum(existing.values_list("size", flat=True))
        if total + upload.size > max_total:
            raise ValidationFailed(
                fields={
                    "file": [
                        _("Tổng dung lượng hồ sơ vượt quá %(mb)d MB.")
                        % {"mb": max_total // (1024 * 1024)}
                    ]
                }
            )
        attachment = Attachment(
            dossier=locked,
            document=document,
            purpose=purpose,
            original_name=(getattr(upload, "name", "") or "")[:255],
            size=upload.size,
            sha256=digest.hexdigest(),
            content_type=content_type,
            uploaded_by=actor.user,
            created_at=clock.now(),
        )
        attachment.file.save(attachment.original_name or "file", upload, save=False)
        try:
            attachment._history_user = actor.user
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)  # no orphan file for a row that was not written
            raise
    return attachment


def _check_attachment_permission(user, dossier: Dossier, purpose: str) -> None:
    if dossier.status in TERMINAL_STATUSES:
        raise InvalidTransition(_("Hồ sơ đã kết thúc, không thể thêm tài liệu."))
    if purpose == Attachment.Purpose.RESULT:
        if dossier.status != Status.PROCESSING or not official_roles_for(
            user, dossier, Action.PROPOSE
        ):
            raise Forbidden(_("Chỉ chuyên viên xử lý được tải lên kết quả khi hồ sơ đang xử lý."))
        return
    if dossier.applicant_user_id == user.pk:
        allowed = {
            Attachment.Purpose.APPLICATION: {Status.DRAFT},
            Attachment.Purpose.SUPPLEMENT: {Status.SUPPLEMENT_REQUESTED},
        }[purpose]
        if dossier.status not in allowed:
            raise InvalidTransition(_("Không thể thêm tài liệu ở trạng thái hiện tại của hồ sơ."))
        return
    if purpose == Attachment.Purpose.SUPPLEMENT and official_roles_for(
        user, dossier, Action.SUPPLEMENT
    ):
        if dossier.status != Status.SUPPLEMENT_REQUESTED:
            raise InvalidTransition(_("Hồ sơ không ở trạng thái chờ bổ sung."))
        return
    raise Forbidden(_("Bạn không có quyền thêm tài liệu vào hồ sơ này."))


# --- the one write path ---------------------------------------------------------------------


def _lock(dossier_id: int, user) -> Dossier:
    """Lock the dossier row; unknown and invisible answer the same NotFound."""
    try:
        locked = (
            Dossier.objects.select_for_update()
            .select_related("procedure", "receiving_agency", "competent_agency")
            .get(pk=dossier_id)
        )
    except Dossier.DoesNotExist:
        raise NotFound() from None
    if not can_see(user, locked):
        raise NotFound()
    return locked


def _authorize(user, dossier: Dossier, action: str) -> tuple[str, Agency | None]:
    """The role through which `user` fires `action` now, and the agency it acts for.

    Raises Forbidden (with the reason) when no role of the user may fire it in any status, and
    InvalidTransition when the action exists for the user but not in the current status.
    """
    edge = edge_for(action, dossier.status)
    possible_roles = {role for e in _edges_of(action) for role in e.roles}
    is_owner = dossier.applicant_user_id is not None and dossier.applicant_user_id == user.pk
    held: list[str] = []
    if Role.CITIZEN in possible_roles and is_owner:
        held.append(Role.CITIZEN)
    official = official_roles_for(user, dossier, action)
    held.extend(role for role in official if role in possible_roles)
    if not held:
        needed = ", ".join(str(Role(r).label) for r in sorted(possible_roles))
        raise Forbidden(
            _("Thao tác “%(action)s” chỉ dành cho: %(roles)s.")
            % {"action": Action(action).label, "roles": needed}
        )
    if edge is None:
        raise InvalidTransition(
            _("Không thể “%(action)s” khi hồ sơ đang ở trạng thái “%(status)s”.")
            % {"action": Action(action).label, "status": Status(dossier.status).label}
        )
    for role in held:
        if role in edge.roles:
            agency = None
            if role != Role.CITIZEN:
                agency = _acting_agency(user, dossier, role)
            return role, agency
    needed = ", ".join(str(Role(r).label) for r in sorted(edge.roles))
    raise Forbidden(
        _("Ở trạng thái “%(status)s”, thao tác “%(action)s” chỉ dành cho: %(roles)s.")
        % {
            "status": Status(dossier.status).label,
            "action": Action(action).label,
            "roles": needed,
        }
    )


def _edges_of(action: str):
    return [e for e in EDGES if e.action == action]


def _acting_agency(user, dossier: Dossier, role: str) -> Agency:
    ids = agency_ids_with_role(user, role)
    # Prefer the receiving agency for reception work, the competent one otherwise.
    order = (
        [dossier.receiving_agency, dossier.competent_agency]
        if role == Role.RECEPTION
        else [dossier.competent_agency, dossier.receiving_agency]
    )
    return next(a for a in order if a.pk in ids)


Mutation = Callable[[Dossier, "Context"], "dict | None"]


@dataclass
class Context:
    actor: Actor
    role: str
    agency: Agency | None
    now: dt.datetime
    _calendar: WorkCalendar | None = None

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = WorkCalendar.current()
        return self._calendar


def _perform(
    *,
    actor: Actor,
    dossier: Dossier,
    action: str,
    expected_version: int | None = None,
    note: str = "",
    mutate: Mutation | None = None,
) -> Dossier:
    """Run one action in one transaction. `mutate` applies the action's guards and fields and
    returns the event's structured data."""
    if expected_version is None:
        expected_version = dossier.version
    try:
        with transaction.atomic():
            locked = _lock(dossier.pk, actor.user)
            if locked.version != expected_version:
                raise ChangedMeanwhile()
            role, agency = _authorize(actor.user, locked, action)
            context = Context(actor=actor, role=role, agency=agency, now=clock.now())
            from_status = locked.status
            data = (mutate(locked, context) if mutate else None) or {}
            edge = edge_for(action, from_status)
            if edge.target != SAME:
                getattr(locked, action)()
            locked.version += 1
            event = append_event(
                locked,
                event_type=ACTION_EVENT[action],
                at=context.now,
                actor=actor.user,
                role=role,
                agency=agency,
                ip=actor.ip,
                note=note,
                data=data,
                from_status=from_status,
                to_status=locked.status,
            )
            locked._history_user = actor.user
            locked.save()
            notify.queue(locked, event)  # sent by transaction.on_commit
    except (ConcurrentTransition, TransitionNotAllowed):
        # The row lock makes this rare (SQLite has no row locks); the meaning is the same.
        raise ChangedMeanwhile() from None
    return locked


def _require_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, fields={field: [message]})
    return value


# --- actions --------------------------------------------------------------------------------


def dossier_create_draft(
    *,
    actor: Actor,
    procedure: Procedure,
    receiving_agency: Agency,
    form_data: dict | None = None,
    channel: int = Channel.ONLINE,
) -> Dossier:
    """A citizen starts an application (a draft only they can see)."""
    if not actor.user.is_authenticated:
        raise Forbidden()
    if not procedure.active:
        raise ValidationFailed(fields={"procedure": [_("Thủ tục không còn áp dụng.")]})
    if not procedure.accepts(channel):
        raise ValidationFailed(
            fields={"procedure": [_("Thủ tục này không tiếp nhận hồ sơ qua kênh đã chọn.")]}
        )
    if receiving_agency.level != Agency.Level.COMMUNE and procedure.competent_level == "commune":
        raise ValidationFailed(fields={"agency": [_("Vui lòng chọn nơi tiếp nhận cấp xã.")]})
    cleaned = validate_form_data(procedure, form_data or {}, partial=True)
    now = clock.now()
    with transaction.atomic():
        dossier = Dossier(
            procedure=procedure,
            receiving_agency=receiving_agency,
            competent_agency=_competent_agency(procedure, receiving_agency),
            applicant_user=actor.user,
            form_data=cleaned,
            channel=channel,
            created_at=now,
        )
        dossier._history_user = actor.user
        dossier.save()
        append_event(
            dossier,
            event_type=EventType.CREATED,
            at=now,
            actor=actor.user,
            role=Role.CITIZEN,
            ip=actor.ip,
            to_status=Status.DRAFT,
        )
        Dossier.objects.filter(pk=dossier.pk).update(
            event_seq=dossier.event_seq, audit_head=dossier.audit_head
        )
    return dossier


def dossier_update_draft(
    *, actor: Actor, dossier: Dossier, form_data: dict, expected_version: int | None = None
) -> Dossier:
    """Save answers of a draft (partial answers are fine until submission)."""
    cleaned = validate_form_data(dossier.procedure, form_data, partial=True)
    with transaction.atomic():
        locked = _lock(dossier.pk, actor.user)
        if locked.applicant_user_id != actor.user.pk:
            raise Forbidden()
        if locked.status != Status.DRAFT:
            raise InvalidTransition(_("Chỉ sửa được hồ sơ nháp."))
        if expected_version is not None and locked.version != expected_version:
            raise ChangedMeanwhile()
        locked.form_data = cleaned
        locked.version += 1
        locked._history_user = actor.user
        locked.save(update_fields=["form_data", "version"])
    return locked


def _competent_agency(procedure: Procedure, receiving: Agency) -> Agency:
    if procedure.competent_level == Agency.Level.PROVINCE and receiving.parent_id:
        return receiving.parent
    return receiving


def _missing_documents(dossier: Dossier) -> list[ProcedureDocument]:
    present = set(
        dossier.attachments.filter(
            purpose__in=[Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT]
        ).values_list("document_id", flat=True)
    )
    return [
        doc
        for doc in dossier.procedure.documents.all()
        if doc.must_be_uploaded(dossier.channel) and doc.pk not in present
    ]


def _require_documents(dossier: Dossier) -> None:
    missing = _missing_documents(dossier)
    if missing:
        raise ValidationFailed(
            _("Hồ sơ còn thiếu giấy tờ bắt buộc."),
            fields={"documents": [doc.name for doc in missing]},
        )


def dossier_submit(
    *, actor: Actor, dossier: Dossier, expected_version: int | None = None
) -> Dossier:
    """The citizen files the draft: it gets its code and waits for intake."""

    def mutate(d: Dossier, ctx: Context):
        d.form_data = validate_form_data(d.procedure, d.form_data)
        _require_documents(d)
        d.applicant = _profile_snapshot(ctx.actor.user)
        d.code = next_dossier_code(d.receiving_agency, ctx.now)
        d.submitted_at = ctx.now
        return {"code": d.code}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.SUBMIT,
        expected_version=expected_version,
        mutate=mutate,
    )


def _start_clock(d: Dossier, ctx: Context) -> None:
    start = ctx.calendar.clock_start(ctx.now)
    d.clock_started_at = start
    d.original_due_at = ctx.calendar.due_at(
        start, d.procedure.time_limit_value, d.procedure.time_limit_unit
    )
    d.due_at = d.original_due_at


def _due_data(d: Dossier) -> dict:
    return {
        "clock_started_at": d.clock_started_at.isoformat(),
        "due_at": d.due_at.isoformat(),
    }


def dossier_intake(
    *,
    actor: Actor,
    procedure: Procedure,
    agency: Agency,
    applicant: dict,
    form_data: dict,
    papers_seen: Iterable[int] = (),
    channel: int = Channel.COUNTER,
    note: str = "",
) -> Dossier:
    """Reception records a walk-in dossier, received at once (no citizen account needed).

    `papers_seen` lists the procedure documents whose paper originals the officer checked; scans
    can be added afterwards with `attachment_add`.
    """
    if channel not in (Channel.COUNTER, Channel.POSTAL) or not procedure.accepts(channel):
        raise ValidationFailed(fields={"channel": [_("Kênh nộp không hợp lệ cho thủ tục này.")]})
    if Role.RECEPTION not in roles_at(actor.user, {agency.pk}):
        raise Forbidden(_("Chỉ cán bộ một cửa của cơ quan này được tiếp nhận hồ sơ tại quầy."))
    snapshot = clean_applicant(applicant)
    cleaned = validate_form_data(procedure, form_data)
    documents = {d.pk: d for d in procedure.documents.all()}
    seen = set(papers_seen)
    unknown = seen - set(documents)
    if unknown:
        raise ValidationFailed(fields={"papers_seen": [_("Giấy tờ không thuộc thủ tục này.")]})
    missing = [
        d.name for d in documents.values() if d.must_be_uploaded(channel) and d.pk not in seen
    ]
    if missing:
        raise ValidationFailed(
            _("Hồ sơ còn thiếu giấy tờ bắt buộc."), fields={"documents": missing}
        )
    now = clock.now()
    with transaction.atomic():
        dossier = Dossier(
            procedure=procedure,
            receiving_agency=agency,
            competent_agency=_competent_agency(procedure, agency),
            applicant=snapshot,
            form_data=cleaned,
            channel=channel,
            created_at=now,
        )
        ctx = Context(actor=actor, role=Role.RECEPTION, agency=agency, now=now)
        dossier.intake()
        dossier.code = next_dossier_code(agency, now)
        dossier.submitted_at = dossier.received_at = now
        _start_clock(dossier, ctx)
        dossier._history_user = actor.user
        dossier.save()
        for doc_id in sorted(seen):
            Attachment.objects.create(
                dossier=dossier,
                document=documents[doc_id],
                purpose=Attachment.Purpose.APPLICATION,
                paper_original_seen=True,
                uploaded_by=actor.user,
                created_at=now,
            )
        event = append_event(
            dossier,
            event_type=EventType.INTAKE,
            at=now,
            actor=actor.user,
            role=Role.RECEPTION,
            agency=agency,
            ip=actor.ip,
            note=note,
            data={"code": dossier.code, "papers_seen": sorted(seen), **_due_data(dossier)},
            from_status="",
            to_status=dossier.status,
        )
        Dossier.objects.filter(pk=dossier.pk).update(
            event_seq=dossier.event_seq, audit_head=dossier.audit_head
        )
        notify.queue(dossier, event)
    return dossier


def dossier_receive(
    *, actor: Actor, dossier: Dossier, expected_version: int | None = None, note: str = ""
) -> Dossier:
    """Reception accepts an online dossier; the clock starts."""

    def mutate(d: Dossier, ctx: Context):
        d.received_at = ctx.now
        _start_clock(d, ctx)
        return _due_data(d)

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.RECEIVE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_refuse(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = _require_text(reason, "reason", _("Vui lòng nêu rõ lý do từ chối."))

    def mutate(d: Dossier, ctx: Context):
        d.closed_at = ctx.now
        return {"reason": reason}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.REFUSE,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def dossier_request_supplement(
    *,
    actor: Actor,
    dossier: Dossier,
    documents: Iterable[int],
    reason: str,
    expected_version: int | None = None,
) -> Dossier:
    """Ask for missing papers, listed from the procedure's own documents only."""
    reason = _require_text(reason, "reason", _("Vui lòng nêu rõ lý do yêu cầu bổ sung."))
    requested = sorted(set(documents))
    if not requested:
        raise ValidationFailed(
            _("Vui lòng chọn giấy tờ cần bổ sung."),
            fields={"documents": [_("Chọn ít nhất một giấy tờ.")]},
        )

    def mutate(d: Dossier, ctx: Context):
        known = dict(d.procedure.documents.filter(pk__in=requested).values_list("pk", "name"))
        if set(known) != set(requested):
            raise ValidationFailed(
                _("Chỉ được yêu cầu giấy tờ có trong danh mục của thủ tục."),
                fields={"documents": [_("Có giấy tờ không thuộc thủ tục này.")]},
            )
        d.supplement_return_status = d.status
        d.requested_documents = requested
        d.supplement_requests += 1
        if d.status == Status.PROCESSING:
            ClockPause.objects.create(
                dossier=d, reason=ClockPause.Reason.SUPPLEMENT, started_at=ctx.now
            )
        return {"documents": requested, "document_names": [known[i] for i in requested]}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.REQUEST_SUPPLEMENT,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def _close_pause(d: Dossier, ctx: Context, reason: str) -> dict:
    """End the open pause; push the legal due date by the office time it lasted (pause policy)
    or restart the whole time limit (restart policy, supplements only)."""
    pause = d.pauses.filter(ended_at__isnull=True, reason=reason).first()
    if pause is None:
        return {}
    pause.ended_at = ctx.now
    pause.working_seconds = int(ctx.calendar.working_seconds_between(pause.started_at, ctx.now))
    pause.save()
    restart = (
        reason == ClockPause.Reason.SUPPLEMENT
        and d.procedure.supplement_policy == Procedure.SupplementPolicy.RESTART
    )
    if restart:
        _start_clock(d, ctx)
    else:
        d.original_due_at = ctx.calendar.add_working_seconds(
            d.original_due_at, pause.working_seconds
        )
        d.due_at = ctx.calendar.add_working_seconds(d.due_at, pause.working_seconds)
    return {
        "paused_working_seconds": pause.working_seconds,
        "clock": "restarted" if restart else "resumed",
        **_due_data(d),
    }


def dossier_supplement(
    *, actor: Actor, dossier: Dossier, note: str = "", expected_version: int | None = None
) -> Dossier:
    """The requested papers are in (uploaded as supplement attachments); back to work."""

    def mutate(d: Dossier, ctx: Context):
        requested_at = (
            d.events.filter(event_type=EventType.SUPPLEMENT_REQUESTED)
            .order_by("-seq")
            .values_list("created_at", flat=True)
            .first()
        )
        provided = set(
            d.attachments.filter(
                purpose=Attachment.Purpose.SUPPLEMENT, created_at__gte=requested_at
            ).values_list("document_id", flat=True)
        )
        missing = [i for i in d.requested_documents if i not in provided]
        if missing:
            names = list(
                d.procedure.documents.filter(pk__in=missing).values_list("name", flat=True)
            )
            raise ValidationFailed(
                _("Vui lòng tải lên đủ các giấy tờ được yêu cầu bổ sung."),
                fields={"documents": names},
            )
        data = {"documents": d.requested_documents}
        if d.supplement_return_status == Status.PROCESSING:
            data.update(_close_pause(d, ctx, ClockPause.Reason.SUPPLEMENT))
        d.requested_documents = []
        return data

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.SUPPLEMENT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_assign(
    *, actor: Actor, dossier: Dossier, assignee, note: str = "", expected_version: int | None = None
) -> Dossier:
    """Hand the dossier to a specialist of the competent agency (assign or reassign)."""

    def mutate(d: Dossier, ctx: Context):
        if (
            assignee is None
            or not assignee.memberships.filter(
                agency=d.competent_agency, role=Role.SPECIALIST
            ).exists()
        ):
            raise ValidationFailed(
                fields={
                    "assignee": [
                        _("Người được phân công phải là chuyên viên của cơ quan giải quyết.")
                    ]
                }
            )
        if d.assignee_id == assignee.pk:
            raise ValidationFailed(fields={"assignee": [_("Hồ sơ đang do chuyên viên này xử lý.")]})
        previous = d.assignee
        d.assignee = assignee
        return {
            "assignee": assignee.get_username(),
            "previous_assignee": previous.get_username() if previous else None,
        }

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.ASSIGN,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_propose(
    *,
    actor: Actor,
    dossier: Dossier,
    outcome: str,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    """The assigned specialist proposes the result (its document uploaded first)."""

    def mutate(d: Dossier, ctx: Context):
        if ctx.role == Role.SPECIALIST and d.assignee_id != ctx.actor.user.pk:
            raise Forbidden(_("Chỉ chuyên viên được phân công mới được trình kết quả."))
        if outcome not in Dossier.Outcome.values:
            raise ValidationFailed(
                fields={"outcome": [_("Kết quả phải là giải quyết hoặc từ chối.")]}
            )
        if outcome == Dossier.Outcome.DENIED and not note.strip():
            raise ValidationFailed(fields={"note": [_("Vui lòng nêu lý do từ chối giải quyết.")]})
        results = list(
            d.attachments.filter(purpose=Attachment.Purpose.RESULT).values_list("pk", "sha256")
        )
        if not results:
            raise ValidationFailed(
                fields={"result": [_("Vui lòng tải lên văn bản kết quả trước khi trình.")]}
            )
        d.outcome = outcome
        return {
            "outcome": outcome,
            "result_attachments": [{"id": i, "sha256": h} for i, h in results],
        }

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.PROPOSE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_send_back(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = _require_text(reason, "reason", _("Vui lòng ghi rõ nội dung cần xử lý lại."))

    def mutate(d: Dossier, ctx: Context):
        previous = d.outcome
        d.outcome = ""
        return {"proposed_outcome": previous}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.SEND_BACK,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def dossier_approve(
    *, actor: Actor, dossier: Dossier, note: str = "", expected_version: int | None = None
) -> Dossier:
    def mutate(d: Dossier, ctx: Context):
        d.resolved_at = ctx.now
        on_time = d.original_due_at is None or ctx.now <= d.original_due_at
        return {"outcome": d.outcome, "on_time": on_time}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.APPROVE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_request_payment(
    *,
    actor: Actor,
    dossier: Dossier,
    amount_vnd: int,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    """Financial obligations due before the result; the clock pauses meanwhile."""
    if not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise ValidationFailed(fields={"amount_vnd": [_("Số tiền phải là số nguyên dương.")]})

    def mutate(d: Dossier, ctx: Context):
        if not d.procedure.fee_due_later:
            raise ValidationFailed(_("Thủ tục này không có nghĩa vụ tài chính nộp sau."))
        ClockPause.objects.create(dossier=d, reason=ClockPause.Reason.PAYMENT, started_at=ctx.now)
        return {"amount_vnd": amount_vnd}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.REQUEST_PAYMENT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_record_payment(
    *, actor: Actor, dossier: Dossier, receipt_number: str, expected_version: int | None = None
) -> Dossier:
    receipt_number = _require_text(
        receipt_number, "receipt_number", _("Vui lòng nhập số biên lai.")
    )

    def mutate(d: Dossier, ctx: Context):
        return {"receipt_number": receipt_number, **_close_pause(d, ctx, ClockPause.Reason.PAYMENT)}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.RECORD_PAYMENT,
        expected_version=expected_version,
        mutate=mutate,
    )


def dossier_return_result(
    *,
    actor: Actor,
    dossier: Dossier,
    delivery: str,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    if delivery not in Dossier.Delivery.values:
        raise ValidationFailed(fields={"delivery": [_("Hình thức trả kết quả không hợp lệ.")]})

    def mutate(d: Dossier, ctx: Context):
        d.result_delivery = delivery
        d.returned_at = d.closed_at = ctx.now
        return {"delivery": delivery}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.RETURN_RESULT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


def dossier_withdraw(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = _require_text(reason, "reason", _("Vui lòng cho biết lý do rút hồ sơ."))

    def mutate(d: Dossier, ctx: Context):
        if ctx.role == Role.RECEPTION and d.applicant_user_id is not None:
            raise Forbidden(_("Hồ sơ nộp bằng tài khoản: chỉ người nộp được rút hồ sơ."))
        d.closed_at = ctx.now
        _end_pauses(d, ctx)
        return {"reason": reason}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.WITHDRAW,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def _end_pauses(d: Dossier, ctx: Context) -> None:
    for pause in d.pauses.filter(ended_at__isnull=True):
        pause.ended_at = ctx.now
        pause.working_seconds = int(ctx.calendar.working_seconds_between(pause.started_at, ctx.now))
        pause.save()


def dossier_stop(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = _require_text(reason, "reason", _("Vui lòng nêu rõ lý do dừng xử lý."))

    def mutate(d: Dossier, ctx: Context):
        d.closed_at = ctx.now
        _end_pauses(d, ctx)
        return {"reason": reason}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.STOP,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def dossier_reschedule(
    *,
    actor: Actor,
    dossier: Dossier,
    new_due_at: dt.datetime,
    reason: str,
    expected_version: int | None = None,
) -> Dossier:
    """Apologise with a new appointment: once per dossier, at least one working day before the
    current due date. Not a status change; on-time is still judged on the original due date."""
    reason = _require_text(reason, "reason", _("Vui lòng nêu rõ lý do hẹn lại."))
    if not isinstance(new_due_at, dt.datetime) or new_due_at.tzinfo is None:
        raise ValidationFailed(fields={"due_at": [_("Ngày hẹn mới không hợp lệ.")]})

    def mutate(d: Dossier, ctx: Context):
        if d.rescheduled_at is not None:
            raise InvalidTransition(_("Hồ sơ đã được xin lỗi và hẹn lại một lần."))
        cal = ctx.calendar
        if cal.working_seconds_between(ctx.now, d.due_at) < cal.seconds_per_day:
            raise InvalidTransition(
                _("Phải xin lỗi và hẹn lại chậm nhất một ngày làm việc trước hạn trả kết quả.")
            )
        if new_due_at <= d.due_at:
            raise ValidationFailed(fields={"due_at": [_("Ngày hẹn mới phải sau ngày hẹn cũ.")]})
        if not cal.is_within_office_hours(new_due_at):
            raise ValidationFailed(
                fields={"due_at": [_("Ngày hẹn mới phải vào giờ làm việc của một ngày làm việc.")]}
            )
        previous = d.due_at
        d.due_at = new_due_at
        d.rescheduled_at = ctx.now
        return {
            "previous_due_at": previous.isoformat(),
            "due_at": new_due_at.isoformat(),
            "late_working_seconds": int(cal.working_seconds_between(previous, new_due_at)),
        }

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.RESCHEDULE,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


def dossier_rate(
    *,
    actor: Actor,
    dossier: Dossier,
    rating: str,
    comment: str = "",
    expected_version: int | None = None,
) -> Dossier:
    if rating not in Dossier.Rating.values:
        raise ValidationFailed(fields={"rating": [_("Mức đánh giá không hợp lệ.")]})
    comment = (comment or "").strip()[:2000]

    def mutate(d: Dossier, ctx: Context):
        if d.rating:
            raise InvalidTransition(_("Hồ sơ đã được đánh giá."))
        d.rating, d.rating_comment, d.rated_at = rating, comment, ctx.now
        return {"rating": rating}

    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.RATE,
        expected_version=expected_version,
        note=comment,
        mutate=mutate,
    )


def dossier_add_note(
    *, actor: Actor, dossier: Dossier, text: str, expected_version: int | None = None
) -> Dossier:
    """An internal note (never shown to the citizen)."""
    text = _require_text(text, "text", _("Vui lòng nhập nội dung ghi chú."))
    return _perform(
        actor=actor,
        dossier=dossier,
        action=Action.NOTE,
        expected_version=expected_version,
        note=text,
        mutate=lambda d, ctx: {"internal": True},
    )


def dossier_record_view(*, actor: Actor, dossier: Dossier, what: str = "personal_data") -> None:
    """Log a staff read of the dossier's personal data (dossier.viewed)."""
    roles = sorted({m.role for m in memberships_of(actor.user)})
    append_event_locked(
        dossier.pk,
        event_type=EventType.VIEWED,
        at=clock.now(),
        actor=actor.user,
        role=",".join(roles),
        ip=actor.ip,
        data={"what": what},
    )


# Every action's service, by action name: the API and generic views dispatch through this.
ACTION_SERVICES: dict[str, Callable[..., Dossier]] = {
    Action.SUBMIT: dossier_submit,
    Action.RECEIVE: dossier_receive,
    Action.REFUSE: dossier_refuse,
    Action.REQUEST_SUPPLEMENT: dossier_request_supplement,
    Action.SUPPLEMENT: dossier_supplement,
    Action.ASSIGN: dossier_assign,
    Action.PROPOSE: dossier_propose,
    Action.SEND_BACK: dossier_send_back,
    Action.APPROVE: dossier_approve,
    Action.REQUEST_PAYMENT: dossier_request_payment,
    Action.RECORD_PAYMENT: dossier_record_payment,
    Action.RETURN_RESULT: dossier_return_result,
    Action.WITHDRAW: dossier_withdraw,
    Action.STOP: dossier_stop,
    Action.RESCHEDULE: dossier_reschedule,
    Action.RATE: dossier_rate,
    Action.NOTE: dossier_add_note,
}
assert set(ACTION_SERVICES) | {Action.INTAKE} == set(Action.values)
assert all(sources_of(a) for a in ACTION_SERVICES)
