"""The log of staff reads of personal data, apart from the dossiers' audit chains.

A read is not an action: it must neither lock nor change the dossier (its version, `event_seq`
and `audit_head` stay as they are, so open forms stay valid and the trail a supervisor reads is
not flooded with views). Every read goes into one global, append-only hash chain instead: each
entry's hash is SHA-256 over a canonical JSON of its content plus the previous entry's hash, and
`seq` is unique, so an edited, removed or reordered entry breaks the chain from that point on.

Concurrency: a writer reads the last entry and inserts seq + 1 inside a savepoint; on
PostgreSQL writers take turns on an advisory lock (no row is locked), and anywhere a concurrent
writer that took the same seq first makes the unique constraint fail, and the writer retries on
top of the new last entry. Seq is not a database sequence, so a rolled-back read leaves no gap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q

from . import clock, queries, sealing
from .audit import canonical_time, display_name
from .models import AccessLogEntry, Dossier
from .permissions import is_staff_reader, memberships_of
from .workflow import Role

if TYPE_CHECKING:
    from .services import Actor

Purpose = AccessLogEntry.Purpose
What = AccessLogEntry.What

# Each failed attempt means another writer appended meanwhile, so a few are plenty.
APPEND_ATTEMPTS = 8
# The advisory lock key of the log's head (any constant unique to this use).
ACCESS_LOG_LOCK = 0x6F6E65_0001


def entry_hash(entry: AccessLogEntry) -> str:
    content = {
        "seq": entry.seq,
        "created_at": canonical_time(entry.created_at),
        "actor": entry.actor_id,
        "actor_name": entry.actor_name,
        "roles": entry.roles,
        "agency": entry.agency_id,
        "dossier": entry.dossier_id,
        "subject_user": entry.subject_user_id,
        "subject_name": entry.subject_name,
        "ip": entry.ip or "",
        "purpose": entry.purpose,
        "what": entry.what,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reading_memberships(user, dossier: Dossier) -> list:
    """The memberships a staff member reads the dossier through: their roles at its agencies,
    else their supervision of the province."""
    memberships = memberships_of(user)
    agency_ids = {dossier.receiving_agency_id, dossier.competent_agency_id}
    held = [m for m in memberships if m.agency_id in agency_ids]
    return held or [m for m in memberships if m.role == Role.SUPERVISOR]


def _stored_ip(ip: str | None) -> str | None:
    """The IP as the database will return it (IPv6 normalised), so the hash recomputes."""
    try:
        return AccessLogEntry._meta.get_field("ip").to_python(ip or None)
    except ValidationError:
        return None


def record_access(
    *, actor: Actor, dossier: Dossier, purpose: str, what: str = What.PERSONAL_DATA
) -> AccessLogEntry:
    """Append one read of `dossier`'s personal data by `actor` (who, from which IP) to the log."""
    through = _reading_memberships(actor.user, dossier)
    entry = AccessLogEntry(
        # Microseconds survive every backend, so the hash recomputes exactly after a round-trip.
        created_at=clock.now().astimezone(dt.UTC),
        actor=actor.user,
        actor_name=display_name(actor.user)[:255],
        roles=",".join(sorted({m.role for m in through})),
        agency=through[0].agency if through else None,
        dossier=dossier,
        subject_user_id=dossier.applicant_user_id,
        subject_name=dossier.applicant_name[:255],
        ip=_stored_ip(actor.ip),
        purpose=purpose,
        what=what,
    )
    attempts_left = APPEND_ATTEMPTS
    while True:
        try:
            with transaction.atomic():
                _queue_for_the_head()
                last = _last_entry()
                entry.seq = last["seq"] + 1 if last else 1
                entry.prev_hash = last["hash"] if last else ""
                entry.hash = entry_hash(entry)
                entry.key_id, entry.signature = sealing.seal(entry.hash)
                entry.save(force_insert=True)
            return entry
        except IntegrityError:
            # A concurrent reader took this seq first: chain onto theirs.
            attempts_left -= 1
            if not attempts_left:
                raise


def _last_entry() -> dict | None:
    return AccessLogEntry.objects.order_by("-seq").values("seq", "hash").first()


def _queue_for_the_head() -> None:
    """On PostgreSQL, writers of the log take turns (a transaction-level advisory lock, not a
    lock on any row), so a burst of reads queues instead of retrying. Elsewhere the unique seq
    and the retry above keep the chain straight (SQLite writes one at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ACCESS_LOG_LOCK])


def record_staff_read(
    *, actor: Actor, dossier: Dossier, purpose: str, what: str = What.PERSONAL_DATA
) -> AccessLogEntry | None:
    """Log the read when the reader sees the dossier as staff (an official or a supervisor);
    an applicant reading their own dossier (even one who is staff) is not logged."""
    if dossier.applicant_user_id == actor.user.pk:
        return None
    if not is_staff_reader(actor.user):
        return None
    return record_access(actor=actor, dossier=dossier, purpose=purpose, what=what)


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessLogProblem:
    seq: int
    entry_id: int
    reason: str

    def __str__(self):
        return f"access log entry #{self.entry_id} (seq {self.seq}): {self.reason}"


# --- reading the log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadsSummary:
    """A dossier's reads folded into one line of its trail."""

    count: int
    last_actor_name: str
    last_at: dt.datetime


def reads_summary(dossier: Dossier) -> ReadsSummary | None:
    """How many times staff read the dossier, and the last read (None when never read)."""
    entries = AccessLogEntry.objects.filter(dossier=dossier)
    totals = entries.aggregate(count=Count("id"), last_seq=Max("seq"))
    if not totals["count"]:
        return None
    last = entries.get(seq=totals["last_seq"])
    return ReadsSummary(totals["count"], last.actor_name, last.created_at)


def supervised_entries(
    *,
    agency_ids: set[int],
    actor_username: str = "",
    dossier_code: str = "",
    agency_id: str = "",
    purpose: str = "",
    date_from: str = "",
    date_to: str = "",
):
    """Entries about dossiers of `agency_ids` (receiving or competent), newest first, filtered;
    unknown or malformed filter values are ignored, never an error."""
    entries = AccessLogEntry.objects.filter(
        Q(dossier__receiving_agency_id__in=agency_ids)
        | Q(dossier__competent_agency_id__in=agency_ids)
    )
    # Looked up first (a sub-query run once): the entries are then read newest first from
    # the (actor, created_at) or (dossier, created_at) index.
    if actor_username.strip():
        entries = entries.filter(actor_id=queries.user_id_named(actor_username.strip()))
    if dossier_code.strip():
        entries = entries.filter(dossier_id=queries.dossier_id_coded(dossier_code.strip()))
    if str(agency_id).isdigit():
        entries = entries.filter(agency_id=int(agency_id))
    if purpose in Purpose.values:
        entries = entries.filter(purpose=purpose)
    entries = queries.in_date_range(entries, "created_at", date_from, date_to)
    return entries.order_by("-created_at", "-id")
