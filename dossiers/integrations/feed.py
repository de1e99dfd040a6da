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

from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Max, Q

from ..models import Dossier, DossierEvent, FeedEntry
from ..permissions import (
    integration_agency_ids,
    official_agency_ids,
    reader_agency_ids,
    visible_dossiers,
)
from ..timeline import HIDDEN
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


# What an applicant reading their own dossier's feed may see of a step, as their timeline does:
# the reason of a refusal, a withdrawal, a stop, a reschedule or a supplement request, and the
# details that concern them; never who handled it or internal notes.
PUBLIC_NOTES = frozenset(
    {
        EventType.REFUSED,
        EventType.WITHDRAWN,
        EventType.STOPPED,
        EventType.RESCHEDULED,
        EventType.SUPPLEMENT_REQUESTED,
    }
)
PUBLIC_DETAILS = frozenset(
    {"code", "due_at", "previous_due_at", "documents", "document_names", "amount_vnd", "delivery"}
)


def public_step(step: dict) -> dict:
    """A step as its applicant may read it (see timeline.HIDDEN for the steps they never see)."""
    return {
        **step,
        "actor_name": "",
        "note": step["note"] if step["event"] in PUBLIC_NOTES else "",
        "details": {k: v for k, v in step["details"].items() if k in PUBLIC_DETAILS},
    }


def message(entry: FeedEntry, *, personal: bool, applicant_view: bool = False) -> dict:
    """The message body of an entry: type, timestamp and data (plus the applicant's
    identification when `personal`; only what the applicant's own timeline shows when
    `applicant_view`)."""
    data = dict(entry.payload)
    if applicant_view:
        data["step"] = public_step(data["step"])
    if personal:
        data.update(entry.personal)
    return {"type": entry.event_type, "timestamp": _iso(entry.created_at), "data": data}


def webhook_id(entry: FeedEntry) -> str:
    """The message id: the same for every delivery and redelivery of the entry."""
    return f"evt_{entry.position}"


def entries_for_agencies(agency_ids) -> Q:
    return Q(receiving_agency_id__in=agency_ids) | Q(competent_agency_id__in=agency_ids)


# --- reading the feed ----------------------------------------------------------------------------
#
# A reader follows the feed by position: "the entries after the last one I have". Positions are
# given in commit order without gaps, so an entry becomes visible only after every entry before
# it is: a reader that asks for `position > cursor` misses nothing and gets nothing twice, even
# while actions commit between its pages. The cursor is the position of the last entry returned
# (the one asked for when a page is empty), never the head: the head read in another statement
# could be past an entry that this page's statement did not see yet.

MAX_PAGE = 500


@dataclass(frozen=True)
class FeedPage:
    """A page of the feed for one reader: its entries in position order, each with whether the
    reader may see the applicant's identification; `next` is the position to read after."""

    entries: list[tuple[FeedEntry, bool, bool]]  # (entry, personal, applicant view)
    next: int
    has_more: bool

    def messages(self) -> list[dict]:
        """The webhook bodies of the entries (`message`), with their id and position."""
        return [
            {
                "id": webhook_id(entry),
                "position": entry.position,
                **message(entry, personal=p, applicant_view=a),
            }
            for entry, p, a in self.entries
        ]


def entries_for(user, after: int = 0, limit: int = 100) -> FeedPage:
    """The entries after position `after` of the dossiers `user` sees (the one visibility rule),
    at most `limit` (1 to MAX_PAGE), in position order."""
    if after < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValueError("after must be >= 0 and limit within 1..MAX_PAGE")
    staff_agencies = reader_agency_ids(user) if user.is_authenticated else set()
    # As staff: every fed step of their agencies' dossiers. As an applicant: the steps of their
    # own dossiers that their timeline shows.
    seen = entries_for_agencies(staff_agencies) | (
        Q(dossier__applicant_user=user.pk or 0) & ~Q(event_type__in=HIDDEN)
    )
    rows = list(
        FeedEntry.objects.filter(position__gt=after, dossier__in=visible_dossiers(user))
        .filter(seen)
        .annotate(applicant_user_id=F("dossier__applicant_user_id"))
        .order_by("position")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    personal = _personal_reader(user)

    def applicant_view(entry: FeedEntry) -> bool:
        mine = entry.receiving_agency_id in staff_agencies
        return not (mine or entry.competent_agency_id in staff_agencies)

    return FeedPage(
        entries=[(entry, personal(entry), applicant_view(entry)) for entry in rows],
        next=rows[-1].position if rows else after,
        has_more=has_more,
    )


def _personal_reader(user):
    """Whether `user` may read an entry's applicant identification: an administrator; an
    integration account or an official of one of the dossier's agencies (who handle or carry
    the dossier); the applicant, whose own data it is. Not a supervisor: the feed is a bulk
    stream, and supervision needs the steps, not the people."""
    if user.is_superuser:
        return lambda entry: True
    agencies = integration_agency_ids(user) | official_agency_ids(user)

    def may(entry: FeedEntry) -> bool:
        if entry.applicant_user_id is not None and entry.applicant_user_id == user.pk:
            return True
        return entry.receiving_agency_id in agencies or entry.competent_agency_id in agencies

    return may
