"""The change feed: every event that matters outside, as a FeedEntry written in the action's own
transaction and numbered in commit order.

Commit order, not insert order: on PostgreSQL two transactions can take ids in one order and
commit in the other, and a reader following ids would skip the later-committing one for good.
So the position is taken under a transaction-level advisory lock, held until commit: the
transaction that takes position N commits before anyone can take N + 1. (SQLite writes one
transaction at a time anyway.) The lock is taken last, just before commit, so it is held for
microseconds, not for the action.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, Q

from ..models import Dossier, DossierEvent, FeedEntry
from ..workflow import ACTION_EVENT, NATIONAL_STATUS_CODE, EventType

# What other systems are told: every action's event but internal notes (a draft's creation is
# not an action, and drafts are their applicant's alone).
FED_EVENTS = frozenset(ACTION_EVENT.values()) - {EventType.NOTE_ADDED}

FEED_LOCK = 0x6F6E65_0002  # the advisory lock key of the feed's head

# The applicant's identification, sent only to those allowed to see personal data.
PERSONAL_FIELDS = ("full_name", "id_number", "date_of_birth")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def event_payload(dossier: Dossier, event: DossierEvent) -> dict:
    """The `data` of the message for `event`, from the dossier as the event left it."""
    return {
        "dossier": {
            "code": dossier.code,
            "procedure": dossier.procedure.code,
            "receiving_agency": dossier.receiving_agency.code,
            "competent_agency": dossier.competent_agency.code,
            "channel": dossier.channel,
            "status": dossier.status,
            "national_status_code": NATIONAL_STATUS_CODE[dossier.status],
            "submitted_at": _iso(dossier.submitted_at),
            "received_at": _iso(dossier.received_at),
            "due_at": _iso(dossier.due_at),
            "original_due_at": _iso(dossier.original_due_at),
            "resolved_at": _iso(dossier.resolved_at),
            "finished_at": _iso(dossier.closed_at),
            "outcome": dossier.outcome or None,
            "rating": dossier.rating or None,
        },
        "step": {
            "seq": event.seq,
            "event": event.event_type,
            "at": _iso(event.created_at),
            "role": event.role,
            "actor_name": event.actor_name,
            "agency": event.agency.code if event.agency_id else None,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "note": event.note,
            "details": {k: v for k, v in event.data.items() if k != "history"},
        },
    }


def append(dossier: Dossier, event: DossierEvent) -> FeedEntry | None:
    """Inside the action's transaction: the feed entry of `event`, or None if it is not fed."""
    if event.event_type not in FED_EVENTS or not dossier.code:
        return None
    payload = event_payload(dossier, event)
    applicant = dossier.applicant or {}
    personal = {"applicant": {k: applicant.get(k, "") for k in PERSONAL_FIELDS}}
    _take_the_head()
    last = FeedEntry.objects.aggregate(last=Max("position"))["last"] or 0
    return FeedEntry.objects.create(
        position=last + 1,
        event=event,
        dossier=dossier,
        event_type=event.event_type,
        receiving_agency_id=dossier.receiving_agency_id,
        competent_agency_id=dossier.competent_agency_id,
        procedure_id=dossier.procedure_id,
        created_at=event.created_at,
        payload=payload,
        personal=personal,
    )


def _take_the_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])


def message(entry: FeedEntry, *, personal: bool) -> dict:
    """The message body of an entry: type, timestamp and data (plus the applicant's
    identification when `personal`)."""
    data = dict(entry.payload)
    if personal:
        data.update(entry.personal)
    return {"type": entry.event_type, "timestamp": _iso(entry.created_at), "data": data}


def webhook_id(entry: FeedEntry) -> str:
    """The message id: the same for every delivery and redelivery of the entry."""
    return f"evt_{entry.position}"


def entries_for_agencies(agency_ids) -> Q:
    return Q(receiving_agency_id__in=agency_ids) | Q(competent_agency_id__in=agency_ids)
