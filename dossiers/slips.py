"""Slips (phiếu): rendered once from the event they document, stored, hashed into the audit chain.

`slip_for()` returns the stored slip or renders it; `render_for_event()`, a worker job the
action enqueues, renders it eagerly just after the action commits. A failed eager rendering is
logged and retried lazily on the first download.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django_tasks import task

from . import clock
from .audit import append_event_locked
from .errors import NotFound
from .models import Attachment, Dossier, DossierEvent, Slip
from .pdf import qr_svg, render_pdf
from .workflow import EventType
from .worktime import VN_TZ, WorkCalendar

log = logging.getLogger(__name__)

# Which event each slip documents (the newest of these types).
SOURCE_EVENTS: dict[str, tuple[str, ...]] = {
    Slip.Kind.ACKNOWLEDGEMENT: (EventType.SUBMITTED,),
    Slip.Kind.RECEIPT: (EventType.RECEIVED, EventType.INTAKE),
    Slip.Kind.SUPPLEMENT: (EventType.SUPPLEMENT_REQUESTED,),
    Slip.Kind.REFUSAL: (EventType.REFUSED,),
    Slip.Kind.APOLOGY: (EventType.RESCHEDULED,),
    Slip.Kind.STOP: (EventType.STOPPED,),
    # The process-control slip shows every hand-over so far: its source is the newest one.
    Slip.Kind.CONTROL: (
        EventType.SUBMITTED,
        EventType.INTAKE,
        EventType.RECEIVED,
        EventType.SUPPLEMENT_REQUESTED,
        EventType.SUPPLEMENTED,
        EventType.ASSIGNED,
        EventType.PROPOSED,
        EventType.SENT_BACK,
        EventType.APPROVED,
        EventType.RETURNED,
    ),
}
# Slips the applicant receives; the control slip is the office's own record.
PUBLIC_KINDS = (
    Slip.Kind.ACKNOWLEDGEMENT,
    Slip.Kind.RECEIPT,
    Slip.Kind.SUPPLEMENT,
    Slip.Kind.REFUSAL,
    Slip.Kind.APOLOGY,
    Slip.Kind.STOP,
)
# Slips rendered as soon as the action that calls for them commits (the applicant's ones).
EAGER = {event: kind for kind in PUBLIC_KINDS for event in SOURCE_EVENTS[kind]}

TEMPLATES = {
    Slip.Kind.ACKNOWLEDGEMENT: "pdf/receipt.html",
    Slip.Kind.RECEIPT: "pdf/receipt.html",
    Slip.Kind.SUPPLEMENT: "pdf/supplement.html",
    Slip.Kind.REFUSAL: "pdf/refusal.html",
    Slip.Kind.APOLOGY: "pdf/apology.html",
    Slip.Kind.STOP: "pdf/stop.html",
    Slip.Kind.CONTROL: "pdf/control.html",
}


def public_status_url(dossier: Dossier) -> str:
    query = urlencode({"code": dossier.code, "key": dossier.lookup_key})
    return f"{settings.ONESTOP_PUBLIC_URL.rstrip('/')}/lookup/?{query}"


def available_kinds(dossier: Dossier, *, staff: bool = False) -> list[str]:
    """The slips this dossier has events for: the applicant's, plus the office's for staff."""
    types = set(dossier.events.values_list("event_type", flat=True))
    kinds = SOURCE_EVENTS if staff else PUBLIC_KINDS
    return [kind for kind in kinds if types.intersection(SOURCE_EVENTS[kind])]


def _source_event(dossier: Dossier, kind: str) -> DossierEvent:
    event = (
        dossier.events.filter(event_type__in=SOURCE_EVENTS.get(kind, ())).order_by("-seq").first()
    )
    if event is None:
        raise NotFound()
    return event


def _late(seconds: int | None, calendar: WorkCalendar) -> str:
    if not seconds:
        return "—"
    days, rest = divmod(int(seconds), calendar.seconds_per_day)
    hours = round(rest / 3600)
    parts = [f"{days} ngày làm việc"] if days else []
    if hours:
        parts.append(f"{hours} giờ làm việc")
    return " ".join(parts) or "dưới 1 giờ làm việc"


def _timing(moment, due) -> str:
    if due is None:
        return "—"
    if moment > due:
        return "Quá hạn"
    same_day = moment.astimezone(VN_TZ).date() == due.astimezone(VN_TZ).date()
    return "Đúng hạn" if same_day else "Trước hạn"


HANDOVER_UNITS = {
    EventType.SUBMITTED: ("{applicant}", "Bộ phận một cửa"),
    EventType.INTAKE: ("{applicant}", "{actor} (Bộ phận một cửa)"),
    EventType.RECEIVED: ("Bộ phận một cửa", "{actor} (Bộ phận một cửa)"),
    EventType.SUPPLEMENT_REQUESTED: ("{actor}", "{applicant}"),
    EventType.SUPPLEMENTED: ("{applicant}", "Bộ phận một cửa"),
    EventType.ASSIGNED: ("{actor}", "{assignee} (chuyên viên xử lý)"),
    EventType.PROPOSED: ("{actor} (chuyên viên)", "Lãnh đạo"),
    EventType.SENT_BACK: ("{actor} (lãnh đạo)", "{assignee} (chuyên viên xử lý)"),
    EventType.APPROVED: ("{actor} (lãnh đạo)", "Bộ phận một cửa"),
    EventType.RETURNED: ("{actor} (Bộ phận một cửa)", "{applicant}"),
}


def handovers(dossier: Dossier) -> list[dict]:
    """One row per hand-over, from the event log (for the process-control slip)."""
    from django.contrib.auth import get_user_model

    events = list(dossier.events.filter(event_type__in=HANDOVER_UNITS).order_by("seq"))
    usernames = {e.data.get("assignee") for e in events if e.data.get("assignee")}
    names = {
        u.username: (u.get_full_name() or u.username)
        for u in get_user_model().objects.filter(username__in=usernames)
    }
    rows, assignee = [], ""
    for event in events:
        assignee = names.get(event.data.get("assignee"), assignee)
        giver, taker = HANDOVER_UNITS[event.event_type]
        values = {
            "applicant": dossier.applicant_name or "Người nộp",
            "actor": event.actor_name or "—",
            "assignee": assignee or "—",
        }
        rows.append(
            {
                "giver": giver.format(**values),
                "taker": taker.format(**values),
                "at": event.created_at,
                "timing": _timing(event.created_at, dossier.original_due_at),
                "note": event.note if event.event_type != EventType.PROPOSED else "",
            }
        )
    return rows


def _context(dossier: Dossier, kind: str, event: DossierEvent) -> dict:
    application = (
        Attachment.objects.filter(dossier=dossier, purpose=Attachment.Purpose.APPLICATION)
        .select_related("document")
        .order_by("document__order", "id")
    )
    documents = {}
    for attachment in application:
        if attachment.document_id:
            documents.setdefault(attachment.document_id, attachment.document)
    return {
        "dossier": dossier,
        "kind": kind,
        "title": Slip.Kind(kind).label,
        "event": event,
        "agency": dossier.receiving_agency,
        "procedure": dossier.procedure,
        "applicant": dossier.applicant,
        "documents": list(documents.values()),
        "qr": qr_svg(public_status_url(dossier)),
        "lookup_url": f"{settings.ONESTOP_PUBLIC_URL.rstrip('/')}/lookup/",
        "officer": event.actor_name,
        "late": _late(event.data.get("late_working_seconds"), WorkCalendar.current())
        if kind == Slip.Kind.APOLOGY
        else "",
        "handovers": handovers(dossier) if kind == Slip.Kind.CONTROL else [],
    }


def render_content(dossier: Dossier, kind: str, event: DossierEvent | None = None) -> bytes:
    """The PDF of `kind` for `dossier`, documenting `event` (by default the newest relevant one);
    not stored. What the worker's job renders (through slip_for)."""
    if event is None:
        event = _source_event(dossier, kind)
    return render_pdf(TEMPLATES[kind], _context(dossier, kind, event))


def slip_for(dossier: Dossier, kind: str) -> Slip:
    """The stored slip documenting the newest relevant event, rendered now if it is not yet.

    Rendered once: on PostgreSQL a second request for the same slip waits for the first
    rendering (an advisory lock on the dossier and kind, no row lock) and then finds it stored;
    on SQLite, which has one writer at a time anyway, the unique constraint keeps the first one
    stored."""
    event = _source_event(dossier, kind)
    existing = Slip.objects.filter(dossier=dossier, kind=kind, source_seq=event.seq).first()
    if existing:
        return existing
    content = None
    if connection.vendor != "postgresql":
        # SQLite's transactions hold the one write lock from their start: render first.
        content = render_content(dossier, kind, event)
    try:
        with transaction.atomic():
            _one_rendering_at_a_time(dossier.pk, kind)
            existing = Slip.objects.filter(dossier=dossier, kind=kind, source_seq=event.seq)
            if existing.exists():
                return existing.get()
            if content is None:
                content = render_content(dossier, kind, event)
            digest = hashlib.sha256(content).hexdigest()
            slip = Slip(
                dossier=dossier,
                kind=kind,
                source_seq=event.seq,
                sha256=digest,
                size=len(content),
                created_at=clock.now(),
            )
            slip.file.save(f"{dossier.pk}-{kind}-{event.seq}.pdf", ContentFile(content), save=False)
            slip.save()
            append_event_locked(
                dossier.pk,
                event_type=EventType.SLIP_RENDERED,
                at=slip.created_at,
                data={"kind": kind, "sha256": digest, "source_seq": event.seq},
            )
    except IntegrityError:
        # Rendered concurrently by another process: keep theirs (the one in the audit trail).
        return Slip.objects.get(dossier=dossier, kind=kind, source_seq=event.seq)
    return slip


def _one_rendering_at_a_time(dossier_id: int, kind: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [dossier_id, list(Slip.Kind.values).index(kind)],
            )


def render_for_event(dossier_id: int, event_type: str) -> None:
    """The slip `event_type` calls for, rendered by the worker after the action (tasks.render_slip);
    a failure is logged, and the first download renders it instead."""
    kind = EAGER.get(event_type)
    if kind is None:
        return
    try:
        slip_for(
            Dossier.objects.select_related("procedure", "receiving_agency", "competent_agency").get(
                pk=dossier_id
            ),
            kind,
        )
    except Exception:  # the download will try again; the action itself stands
        log.exception("rendering the %s slip of dossier %s failed", kind, dossier_id)


@task()
def render_slip(dossier_id: int, event_type: str) -> None:
    """The worker's job: the slip an event calls for (see render_for_event)."""
    render_for_event(dossier_id, event_type)
