"""Slips (phiếu): rendered once from the event they document, stored, hashed into the audit chain.

`slip_for()` returns the stored slip or renders it; `render_for_event()`, a worker job the
action enqueues in its own transaction, renders the event's slips just after the action commits.
A failed eager rendering is logged and retried lazily on the first download.

The receipt-and-appointment slip is issued again, as a new dated version, for every event that
changes the appointment (`appointment.CHANGES`: the clock paused, resumed or restarted, a new
date with an apology); the older versions stay listed, marked superseded (`listing()`).
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import translation
from django_tasks import task

from . import appointment, clock, links, signatures
from .audit import append_event_locked
from .errors import NotFound
from .formatting import place_and_date
from .models import Attachment, Dossier, DossierEvent, Payment, Slip
from .models.catalogue import ONLINE_CHANNELS
from .pdf import qr_svg, render_pdf
from .workflow import EventType, Status
from .worktime import VN_TZ, WorkCalendar

log = logging.getLogger(__name__)

# Which event each slip documents (the newest of these types).
SOURCE_EVENTS: dict[str, tuple[str, ...]] = {
    Slip.Kind.ACKNOWLEDGEMENT: (EventType.SUBMITTED,),
    # The first appointment, then each change of it (appointment.is_change says which count).
    Slip.Kind.RECEIPT: (*appointment.FIRST, *appointment.CHANGES),
    Slip.Kind.SUPPLEMENT: (EventType.SUPPLEMENT_REQUESTED,),
    Slip.Kind.REFUSAL: (EventType.REFUSED,),
    Slip.Kind.APOLOGY: (EventType.RESCHEDULED,),
    Slip.Kind.STOP: (EventType.STOPPED,),
    # The electronic fee receipt: one for each payment recorded (every version stays valid).
    Slip.Kind.FEE_RECEIPT: (EventType.PAYMENT_RECORDED, EventType.FILING_FEE_PAID),
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
    Slip.Kind.FEE_RECEIPT,
)
# Slips the office issues as the receiving centre (Bộ phận Một cửa, where the citizen deals);
# the others are the competent authority's (it decides, and its head signs).
RECEPTION_KINDS = (
    Slip.Kind.ACKNOWLEDGEMENT,
    Slip.Kind.RECEIPT,
    Slip.Kind.SUPPLEMENT,
    Slip.Kind.REFUSAL,
    Slip.Kind.CONTROL,
    Slip.Kind.FEE_RECEIPT,
)
# Kinds whose every version stays listed (a newer one supersedes the older ones); of the other
# kinds the newest is what counts.
VERSIONED_KINDS = (Slip.Kind.RECEIPT,)

TEMPLATES = {
    Slip.Kind.ACKNOWLEDGEMENT: "pdf/receipt.html",
    Slip.Kind.RECEIPT: "pdf/receipt.html",
    Slip.Kind.SUPPLEMENT: "pdf/supplement.html",
    Slip.Kind.REFUSAL: "pdf/refusal.html",
    Slip.Kind.APOLOGY: "pdf/apology.html",
    Slip.Kind.STOP: "pdf/stop.html",
    Slip.Kind.CONTROL: "pdf/control.html",
    Slip.Kind.FEE_RECEIPT: "pdf/fee_receipt.html",
}


def public_status_url(dossier: Dossier, base: str | None = None) -> str:
    query = urlencode({"code": dossier.code, "key": dossier.lookup_key})
    return f"{base or links.public_base_url()}/lookup/?{query}"


def is_source(kind: str, event_type: str, from_status: str, to_status: str) -> bool:
    """Whether an event (type and statuses) is one a slip of `kind` documents."""
    if event_type not in SOURCE_EVENTS.get(kind, ()):
        return False
    if kind == Slip.Kind.RECEIPT:
        return appointment.is_change(event_type, from_status, to_status)
    return True


def _sources(kind: str) -> Q:
    """`is_source()` as a query condition on the dossier's events."""
    condition = Q(event_type__in=SOURCE_EVENTS.get(kind, ()))
    if kind == Slip.Kind.RECEIPT:
        condition &= Q(event_type__in=appointment.FIRST) | (
            ~Q(from_status=Status.SUBMITTED) & ~Q(to_status=Status.SUBMITTED)
        )
    return condition


def kinds_for_event(event: DossierEvent) -> list[str]:
    """The applicant's slips `event` calls for (rendered by the worker once it commits)."""
    return [
        kind
        for kind in PUBLIC_KINDS
        if is_source(kind, event.event_type, event.from_status, event.to_status)
    ]


def available_kinds(dossier: Dossier, *, staff: bool = False) -> list[str]:
    """The slips this dossier has events for: the applicant's, plus the office's for staff."""
    events = set(dossier.events.values_list("event_type", "from_status", "to_status"))
    kinds = SOURCE_EVENTS if staff else PUBLIC_KINDS
    return [kind for kind in kinds if any(is_source(kind, *e) for e in events)]


def listing(dossier: Dossier, *, staff: bool = False) -> list[dict]:
    """The slips a page lists, in the order of SOURCE_EVENTS: each kind's newest, and for a
    versioned kind (the appointment) every version, newest first, the older ones marked
    superseded. `seq` names the version (the event it documents); `issued_at` is its date."""
    kinds = available_kinds(dossier, staff=staff)
    versioned = [kind for kind in kinds if kind in VERSIONED_KINDS]
    by_kind: dict[str, list[DossierEvent]] = {kind: [] for kind in versioned}
    if versioned:
        condition = Q(pk__in=[])
        for kind in versioned:
            condition |= _sources(kind)
        for event in dossier.events.filter(condition).order_by("-seq"):
            for kind in versioned:
                if is_source(kind, event.event_type, event.from_status, event.to_status):
                    by_kind[kind].append(event)
    rows = []
    for kind in kinds:
        label = Slip.Kind(kind).label
        if kind not in by_kind:
            rows.append({"kind": kind, "label": label, "seq": None, "superseded": False})
            continue
        events = by_kind[kind]
        for number, event in enumerate(events):
            rows.append(
                {
                    "kind": kind,
                    "label": label,
                    "seq": event.seq,
                    "issued_at": event.created_at,
                    "version": len(events) - number,
                    "superseded": number > 0,
                    "superseded_at": events[number - 1].created_at if number else None,
                }
            )
    return rows


def _source_event(dossier: Dossier, kind: str, seq: int | None = None) -> DossierEvent:
    """The event a slip of `kind` documents: the newest, or the one numbered `seq`."""
    events = dossier.events.filter(_sources(kind))
    if seq is not None:
        events = events.filter(seq=seq)
    event = events.order_by("-seq").first()
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


def _previous_version(dossier: Dossier, kind: str, event: DossierEvent) -> DossierEvent | None:
    if kind not in VERSIONED_KINDS:
        return None
    return dossier.events.filter(_sources(kind), seq__lt=event.seq).order_by("-seq").first()


def _receiving_officer(dossier: Dossier, event: DossierEvent) -> str:
    """Who received the dossier (a later version of the appointment slip is still theirs)."""
    if event.event_type in appointment.FIRST:
        return event.actor_name
    first = dossier.events.filter(event_type__in=appointment.FIRST).order_by("seq").first()
    return first.actor_name if first else ""


def _context(dossier: Dossier, kind: str, event: DossierEvent, base: str | None = None) -> dict:
    base = base or links.public_base_url()
    application = (
        Attachment.objects.filter(
            dossier=dossier,
            purpose__in=(Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT),
        )
        .select_related("document")
        .order_by("document__order", "id")
    )
    documents = {}
    for attachment in application:
        if attachment.document_id:
            documents.setdefault(attachment.document_id, attachment.document)
    reception = kind in RECEPTION_KINDS
    # The receiving centre issues and is the place of the reception's slips; the competent
    # authority those of its decisions.
    issuer = dossier.receiving_agency if reception else dossier.competent_agency
    return {
        "dossier": dossier,
        "kind": kind,
        "title": Slip.Kind(kind).label,
        "event": event,
        "agency": dossier.receiving_agency,
        "reception_side": reception,
        "reception": dossier.reception_name,
        "authority": dossier.authority_name,
        "heading_top": issuer.authority_name,
        "heading_unit": dossier.reception_name if reception else "",
        "place_and_date": place_and_date(issuer.place, event.created_at),
        "procedure": dossier.procedure,
        "applicant": dossier.applicant,
        "documents": list(documents.values()),
        "fee": dossier.fee_vnd,
        "online_fee": dossier.channel in ONLINE_CHANNELS,
        "appointment": appointment.at_event(event, dossier) if kind == Slip.Kind.RECEIPT else None,
        "replaces": _previous_version(dossier, kind, event),
        "qr": qr_svg(public_status_url(dossier, base)),
        "lookup_url": f"{base}/lookup/",
        "officer": _receiving_officer(dossier, event)
        if kind == Slip.Kind.RECEIPT
        else event.actor_name,
        "late": _late(event.data.get("late_working_seconds"), WorkCalendar.current())
        if kind == Slip.Kind.APOLOGY
        else "",
        "handovers": handovers(dossier) if kind == Slip.Kind.CONTROL else [],
        "payment": _payment(event) if kind == Slip.Kind.FEE_RECEIPT else None,
    }


def _payment(event: DossierEvent) -> Payment | None:
    """The payment a record_payment event recorded (None for one recorded before payments
    were kept: its receipt shows the event's receipt number)."""
    pk = event.data.get("payment")
    return Payment.objects.filter(pk=pk).select_related("confirmed_by").first() if pk else None


def render_content(
    dossier: Dossier, kind: str, event: DossierEvent | None = None, *, base: str | None = None
) -> bytes:
    """The PDF of `kind` for `dossier`, documenting `event` (by default the newest relevant one);
    not stored. What the worker's job renders (through slip_for). `base` is the public address
    its links and QR code point at (links.public_base_url() by default)."""
    if event is None:
        event = _source_event(dossier, kind)
    # The national forms are Vietnamese, whatever language the person who acted reads.
    with translation.override(settings.LANGUAGE_CODE):
        context = _context(dossier, kind, event, base)
        return render_pdf(TEMPLATES[kind], context)


def slip_for(
    dossier: Dossier, kind: str, seq: int | None = None, *, base: str | None = None
) -> Slip:
    """The stored slip documenting the newest relevant event (or the version documenting event
    `seq`), rendered now if it is not yet.

    Rendered once: on PostgreSQL a second request for the same slip waits for the first
    rendering (an advisory lock on the dossier and kind, no row lock) and then finds it stored;
    on SQLite, which has one writer at a time anyway, the unique constraint keeps the first one
    stored."""
    event = _source_event(dossier, kind, seq)
    existing = Slip.objects.filter(dossier=dossier, kind=kind, source_seq=event.seq).first()
    if existing:
        return existing
    content = signature = None
    if connection.vendor != "postgresql":
        # SQLite's transactions hold the one write lock from their start: render first.
        content, signature = _signed_content(dossier, kind, event, base)
    try:
        with transaction.atomic():
            _one_rendering_at_a_time(dossier.pk, kind)
            existing = Slip.objects.filter(dossier=dossier, kind=kind, source_seq=event.seq)
            if existing.exists():
                return existing.get()
            if content is None:
                content, signature = _signed_content(dossier, kind, event, base)
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
            data = {"kind": kind, "sha256": digest, "source_seq": event.seq}
            if signature is not None:
                signature.slip = slip
                signature.save()
                data |= {"signature_code": signature.code, "signature_level": signature.level}
            append_event_locked(
                dossier.pk, event_type=EventType.SLIP_RENDERED, at=slip.created_at, data=data
            )
    except IntegrityError:
        # Rendered concurrently by another process: keep theirs (the one in the audit trail).
        return Slip.objects.get(dossier=dossier, kind=kind, source_seq=event.seq)
    return slip


def _signed_content(dossier: Dossier, kind: str, event: DossierEvent, base: str | None):
    """The slip rendered, then signed by the agency that issues it (signatures.SIGNED_SLIPS)
    in the name of the official who acted: (content, the signature's register row or None)."""
    content = render_content(dossier, kind, event, base=base)
    issuer = dossier.receiving_agency if kind in RECEPTION_KINDS else dossier.competent_agency
    officer = _receiving_officer(dossier, event) if kind == Slip.Kind.RECEIPT else event.actor_name
    return signatures.sign_slip(dossier, kind, content, issuer, officer)


def _one_rendering_at_a_time(dossier_id: int, kind: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [dossier_id, list(Slip.Kind.values).index(kind)],
            )


def render_for_event(
    dossier_id: int, event_type: str, seq: int | None = None, base: str | None = None
) -> None:
    """The slips event `seq` (a job written before seqs were passed: the newest event of
    `event_type`) calls for, rendered by the worker after the action (render_slip), with links to
    `base`; a failure is logged, and the first download renders it instead."""
    dossier = Dossier.objects.select_related(
        "procedure", "receiving_agency", "competent_agency"
    ).get(pk=dossier_id)
    events = dossier.events.filter(event_type=event_type)
    event = (events.filter(seq=seq) if seq is not None else events.order_by("-seq")).first()
    if event is None:
        return
    for kind in kinds_for_event(event):
        try:
            slip_for(dossier, kind, event.seq, base=base)
        except Exception:  # the download will try again; the action itself stands
            log.exception("rendering the %s slip of dossier %s failed", kind, dossier_id)


def issue_slips(dossier: Dossier, event: DossierEvent) -> None:
    """Inside the action's transaction (outbox.record): the job that renders the slips `event`
    calls for once the action commits, with the public address of the request that acted."""
    if kinds_for_event(event):
        render_slip.enqueue(dossier.pk, event.event_type, event.seq, links.public_base_url())


@task()
def render_slip(
    dossier_id: int, event_type: str, seq: int | None = None, base: str | None = None
) -> None:
    """The worker's job: the slips an event calls for (see render_for_event)."""
    render_for_event(dossier_id, event_type, seq, base)
