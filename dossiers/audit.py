"""The append-only audit trail: writing events into each dossier's hash chain, and verifying it.

Each event's hash is SHA-256 over a canonical JSON of its content plus the previous event's hash,
so editing, deleting or reordering any event breaks the chain from that point on. The dossier row
keeps the chain head (`event_seq`, `audit_head`), written in the same transaction as the event, so
removing the newest events is detected too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction

from . import sealing
from .models import Dossier, DossierEvent

canonical_time = sealing.canonical_time


def event_hash(event: DossierEvent) -> str:
    """SHA-256 over the event's content and the previous event's hash. `event` may be a model
    instance or any object with the same attribute names (a row read with values_list)."""
    content = {
        "dossier": event.dossier_id,
        "seq": event.seq,
        "event_type": event.event_type,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "role": event.role,
        "agency": event.agency_id,
        "created_at": canonical_time(event.created_at),
        "ip": event.ip or "",
        "note": event.note,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    return event_content_hash(content)


def event_content_hash(content: dict) -> str:
    """The chain hash of an event's content (plain values; bench/seed.py calls it directly)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def history_fingerprint(row) -> str:
    """SHA-256 over every column of a django-simple-history row, as stored."""
    content = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    return history_values_fingerprint(content)


def history_values_fingerprint(content: dict) -> str:
    """The same over a row given as {attname: value} (read with values_list)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


fingerprint_of = history_values_fingerprint  # the name bench/seed.py knows it by


def history_reference(dossier: Dossier) -> dict:
    """The history row the dossier's last save wrote, for the event that caused it. Read back
    from the database, so the fingerprint is computed from stored values, as verify does."""
    row = Dossier.history.filter(id=dossier.pk).order_by("-history_id").first()
    return {"id": row.history_id, "sha256": history_fingerprint(row)}


def append_event(
    dossier: Dossier,
    *,
    event_type: str,
    at: dt.datetime,
    actor=None,
    role: str = "",
    agency=None,
    ip: str | None = None,
    note: str = "",
    data: dict | None = None,
    from_status: str = "",
    to_status: str = "",
) -> DossierEvent:
    """Append one event to the dossier's chain; the caller holds the dossier row lock and saves
    the dossier afterwards (its `event_seq` and `audit_head` are advanced here)."""
    event = DossierEvent(
        dossier=dossier,
        seq=dossier.event_seq + 1,
        event_type=event_type,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_name=display_name(actor),
        role=role,
        agency=agency,
        # Microseconds survive every backend, so the hash recomputes exactly after a round-trip.
        created_at=at.astimezone(dt.UTC),
        ip=ip or None,
        note=note,
        data=_json_safe(data or {}),
        prev_hash=dossier.audit_head,
    )
    event.hash = event_hash(event)
    event.key_id, event.signature = sealing.seal(event.hash)
    event.save()
    dossier.event_seq = event.seq
    dossier.audit_head = event.hash
    return event


def store_head(dossier: Dossier) -> None:
    """Write only the chain head: no version bump and no history row (for reads and creation)."""
    Dossier.objects.filter(pk=dossier.pk).update(
        event_seq=dossier.event_seq, audit_head=dossier.audit_head
    )


def append_event_locked(dossier_id: int, **kwargs) -> DossierEvent:
    """Append an event that is not an action (a slip): lock, append, store the head."""
    with transaction.atomic():
        dossier = Dossier.objects.select_for_update().get(pk=dossier_id)
        event = append_event(dossier, **kwargs)
        store_head(dossier)
    return event


def display_name(user) -> str:
    if user is None:
        return ""
    profile = getattr(user, "citizen_profile", None) if hasattr(user, "citizen_profile") else None
    return (profile.full_name if profile else "") or user.get_full_name() or user.get_username()


def _json_safe(value):
    """Round-trip through JSON so the stored value and the hashed value are identical."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@dataclass(frozen=True)
class ChainProblem:
    dossier_id: int
    dossier_code: str | None
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self):
        where = self.dossier_code or f"#{self.dossier_id}"
        at = f" event #{self.event_id} (seq {self.seq})" if self.event_id else ""
        return f"dossier {where}{at}: {self.reason}"


@dataclass(frozen=True)
class ChainHead:
    """What the dossier row records about its chain."""

    dossier_id: int
    code: str | None
    event_seq: int
    audit_head: str

    @classmethod
    def of(cls, dossier: Dossier) -> ChainHead:
        return cls(dossier.pk, dossier.code, dossier.event_seq, dossier.audit_head)


def every_seal(position: int, last: bool) -> bool:
    """The seal policy of a full check: every record's signature is verified."""
    return True


def verify_chain(
    head: ChainHead,
    events: Iterable[DossierEvent],
    history: dict | None = None,
    keys=None,
    *,
    check_signature=every_seal,
    fingerprint=history_fingerprint,
) -> ChainProblem | None:
    """The first problem in one dossier's chain, or None when it verifies: order, links,
    hashes and each event's seal. With `history` (history_id -> row), the history rows the
    events name must exist unchanged (`fingerprint(row)` as recorded).

    `check_signature(position, is_last)` says whose signature is verified; the others' seals
    are checked for form only (sealing.seal_form_problem). The bulk verification verifies the
    newest event's, which vouches for the whole chain (docs/integrity.md)."""
    keys = keys if keys is not None else sealing.trusted_keys()
    if check_signature is not every_seal:
        events = list(events)
    last = len(events) - 1 if isinstance(events, list) else -1

    def problem(reason, event=None):
        return ChainProblem(
            head.dossier_id,
            head.code,
            event.seq if event else None,
            event.pk if event else None,
            reason,
        )

    prev_hash, expected_seq = "", 1
    for position, event in enumerate(events):
        if event.seq != expected_seq:
            return problem(f"sequence jumps from {expected_seq - 1} to {event.seq}", event)
        if event.prev_hash != prev_hash:
            return problem("previous-hash link broken", event)
        if event_hash(event) != event.hash:
            return problem("content does not match its hash (edited)", event)
        if check_signature(position, position == last):
            unsealed = sealing.seal_problem(event.key_id, event.signature, event.hash, keys)
        else:
            unsealed = sealing.seal_form_problem(event.key_id, event.signature, keys)
        if unsealed:
            return problem(f"seal: {unsealed}", event)
        reference = event.data.get("history") if history is not None else None
        if reference:
            row = history.get(reference["id"])
            if row is None:
                return problem(f"history row {reference['id']} it names was removed", event)
            if fingerprint(row) != reference["sha256"]:
                return problem(f"history row {reference['id']} it names was edited", event)
        prev_hash, expected_seq = event.hash, expected_seq + 1
    if expected_seq - 1 != head.event_seq or prev_hash != head.audit_head:
        return problem(
            f"chain ends at seq {expected_seq - 1} but the dossier records head seq "
            f"{head.event_seq} (events removed or head altered)"
        )
    return None


def verify_dossier(dossier: Dossier) -> ChainProblem | None:
    history = {row.history_id: row for row in Dossier.history.filter(id=dossier.pk)}
    return verify_chain(ChainHead.of(dossier), dossier.events.order_by("seq"), history)


# --- the daily digest of chain heads -------------------------------------------------------------


def heads_digest(day_end: dt.datetime) -> tuple[str, int]:
    """(SHA-256 over every dossier's chain head as it stood at `day_end`, dossiers counted).

    Printed or exported each day, it makes a later rewrite of past events detectable even if
    the rewriter recomputed every hash of the chain.
    """
    from django.db.models import OuterRef, Subquery

    last_hash = (
        DossierEvent.objects.filter(dossier=OuterRef("pk"), created_at__lt=day_end)
        .order_by("-seq")
        .values("hash")[:1]
    )
    heads = (
        Dossier.objects.annotate(head=Subquery(last_hash))
        .exclude(head=None)
        .order_by("pk")
        .values_list("pk", "head")
        .iterator(chunk_size=5000)
    )
    digest, count = hashlib.sha256(), 0
    for pk, head in heads:
        digest.update(f"{pk}:{head}\n".encode())
        count += 1
    return digest.hexdigest(), count


def day_end(day: dt.date) -> dt.datetime:
    from .worktime import day_start

    return day_start(day + dt.timedelta(days=1))


def access_log_head(moment: dt.datetime) -> tuple[int, str]:
    """(seq, hash) of the access log's last entry before `moment`; (0, "") when empty."""
    from .models import AccessLogEntry

    head = (
        AccessLogEntry.objects.filter(created_at__lt=moment)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    return head or (0, "")


def record_digest(day: dt.date):
    """Store the digest of `day` (Vietnam date) once; an existing one is never overwritten."""
    from . import clock
    from .models import AuditDigest

    existing = AuditDigest.objects.filter(day=day).first()
    if existing:
        return existing
    digest, count = heads_digest(day_end(day))
    access_seq, access_head = access_log_head(day_end(day))
    return AuditDigest.objects.create(
        day=day,
        digest=digest,
        dossiers=count,
        access_seq=access_seq,
        access_head=access_head,
        created_at=clock.now(),
    )


def verify_digests() -> Iterator[str]:
    """Stored digests whose recomputation differs: past events (or past access-log entries)
    were rewritten or removed since."""
    from .models import AuditDigest

    for stored in AuditDigest.objects.order_by("day"):
        digest, _count = heads_digest(day_end(stored.day))
        if digest != stored.digest:
            yield (
                f"digest of {stored.day:%d/%m/%Y} was {stored.digest[:16]}… and is now "
                f"{digest[:16]}…: events up to that day were rewritten"
            )
        if (stored.access_seq, stored.access_head) != access_log_head(day_end(stored.day)):
            yield (
                f"access log head of {stored.day:%d/%m/%Y} was entry {stored.access_seq} "
                f"({stored.access_head[:16]}…): entries up to that day were rewritten or removed"
            )
