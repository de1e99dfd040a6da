"""Slips (phiếu): rendered once from the event they document, stored, hashed into the audit chain.

`slip_for()` returns the stored slip or renders it; `render_after_commit()` renders eagerly once an
action commits, so the slip shows the dossier as it was then. A failed eager rendering is
logged and retried lazily on the first download.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from . import clock
from .audit import append_event_locked
from .errors import NotFound
from .models import Attachment, Dossier, DossierEvent, Slip
from .pdf import qr_data_uri, render_pdf
from .workflow import EventType

log = logging.getLogger(__name__)

# Which event each slip documents (the newest of these types).
SOURCE_EVENTS: dict[str, tuple[str, ...]] = {
    Slip.Kind.ACKNOWLEDGEMENT: (EventType.SUBMITTED,),
    Slip.Kind.RECEIPT: (EventType.RECEIVED, EventType.INTAKE),
    Slip.Kind.SUPPLEMENT: (EventType.SUPPLEMENT_REQUESTED,),
    Slip.Kind.REFUSAL: (EventType.REFUSED,),
    Slip.Kind.APOLOGY: (EventType.RESCHEDULED,),
    Slip.Kind.STOP: (EventType.STOPPED,),
}
# Slips rendered as soon as the action that calls for them commits.
EAGER = {event: kind for kind, events in SOURCE_EVENTS.items() for event in events}

TEMPLATES = {
    Slip.Kind.ACKNOWLEDGEMENT: "pdf/receipt.html",
    Slip.Kind.RECEIPT: "pdf/receipt.html",
}


def public_status_url(dossier: Dossier) -> str:
    query = urlencode({"code": dossier.code, "key": dossier.lookup_key})
    return f"{settings.ONESTOP_PUBLIC_URL.rstrip('/')}/lookup/?{query}"


def available_kinds(dossier: Dossier) -> list[str]:
    """The slips this dossier has events for (and a template exists)."""
    types = set(dossier.events.values_list("event_type", flat=True))
    return [
        kind
        for kind, events in SOURCE_EVENTS.items()
        if kind in TEMPLATES and types.intersection(events)
    ]


def _source_event(dossier: Dossier, kind: str) -> DossierEvent:
    event = (
        dossier.events.filter(event_type__in=SOURCE_EVENTS.get(kind, ())).order_by("-seq").first()
    )
    if event is None or kind not in TEMPLATES:
        raise NotFound()
    return event


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
        "qr": qr_data_uri(public_status_url(dossier)),
        "lookup_url": f"{settings.ONESTOP_PUBLIC_URL.rstrip('/')}/lookup/",
        "officer": event.actor_name,
    }


def slip_for(dossier: Dossier, kind: str) -> Slip:
    """The stored slip documenting the newest relevant event, rendered now if it is not yet."""
    event = _source_event(dossier, kind)
    existing = Slip.objects.filter(dossier=dossier, kind=kind, source_seq=event.seq).first()
    if existing:
        return existing
    content = render_pdf(TEMPLATES[kind], _context(dossier, kind, event))
    digest = hashlib.sha256(content).hexdigest()
    try:
        with transaction.atomic():
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
        # Rendered concurrently by another request: keep theirs (the one in the audit trail).
        return Slip.objects.get(dossier=dossier, kind=kind, source_seq=event.seq)
    return slip


def render_after_commit(dossier_id: int, event_type: str) -> None:
    """Called via transaction.on_commit by the write path; never raises."""
    kind = EAGER.get(event_type)
    if kind not in TEMPLATES:
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
