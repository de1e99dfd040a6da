"""Anchors: every few minutes, a signed summary of every sealed record stored since the last one.

Seals stop anyone without the key from forging or editing records, but not from *removing* the
newest ones (and putting the dossier's head back): what is gone leaves no seal to check. An
anchor closes that gap. Anchor N covers a window of storage time (`recorded_at`, set by the
database on insert) from anchor N-1's end to now minus a lag (so transactions still running
can commit into it): for every sealed source (the dossiers' events, the access log, each history
table) it records how many records were stored in the window and the sum, modulo 2^256, of
their hashes. It chains onto the previous anchor, is signed, and is written both into the
database and, outside it, as one line appended to a file (ONESTOP_AUDIT_ANCHOR_FILE).

Verification recomputes each window's count and sum from the records now present and compares
them with the anchors read from the file (the copy an intruder in the database cannot reach):
a record removed, added or moved into an anchored window is seen from the next anchor on. The
sum is order-free, so an anchor costs one indexed range scan per source, whatever the number of
dossiers, and verification folds every record into its window in the same single pass.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import sealing
from .audit import canonical_time
from .models import AccessLogEntry, AuditAnchor, DossierEvent

MODULUS = 1 << 256
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# The advisory lock of anchor making (any constant unique to this use).
ANCHOR_LOCK = 0x6F6E65_0002


def sources() -> dict[str, tuple]:
    """Source name -> (model, hash column)."""
    found = {"events": (DossierEvent, "hash"), "access_log": (AccessLogEntry, "hash")}
    for model in sealing.sealed_history_models():
        found[f"history:{model._meta.label_lower}"] = (model, "seal_hash")
    return found


def _fold(total: int, digest: str) -> int:
    return (total + int(digest, 16)) % MODULUS


def window_summary(start: dt.datetime, end: dt.datetime) -> dict[str, dict]:
    """Per source, the count and hash sum of records stored in (start, end]."""
    summary = {}
    for name, (model, column) in sources().items():
        count, total = 0, 0
        rows = model._base_manager.filter(recorded_at__gt=start, recorded_at__lte=end)
        for digest in rows.values_list(column, flat=True).iterator(chunk_size=5000):
            count, total = count + 1, _fold(total, digest)
        summary[name] = {"count": count, "sum": f"{total:064x}"}
    return summary


def anchor_hash(fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _signed_fields(anchor: AuditAnchor) -> dict:
    return {
        "seq": anchor.seq,
        "created_at": canonical_time(anchor.created_at),
        "window_start": canonical_time(anchor.window_start),
        "window_end": canonical_time(anchor.window_end),
        "content": anchor.content,
        "prev_hash": anchor.prev_hash,
    }


def as_line(anchor: AuditAnchor) -> str:
    record = {**_signed_fields(anchor), "hash": anchor.hash}
    record.update(key_id=anchor.key_id, signature=anchor.signature)
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _append_outside(anchor: AuditAnchor) -> None:
    path = settings.ONESTOP_AUDIT_ANCHOR_FILE
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: each anchor is one line added at the end; fsync before the database commits.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (as_line(anchor) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def make_anchor(now: dt.datetime | None = None) -> AuditAnchor | None:
    """Sign and store the next anchor; None when there is no new window yet."""
    now = now or timezone.now()
    end = now - dt.timedelta(seconds=settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ANCHOR_LOCK])
        last = AuditAnchor.objects.order_by("-seq").first()
        start = last.window_end if last else EPOCH
        if end <= start:
            return None
        anchor = AuditAnchor(
            seq=last.seq + 1 if last else 1,
            created_at=now,
            window_start=start,
            window_end=end,
            content=window_summary(start, end),
            prev_hash=last.hash if last else "",
        )
        # Round-trip the times as the database stores them (microseconds), so hashes agree.
        anchor.hash = anchor_hash(_signed_fields(anchor))
        anchor.key_id, anchor.signature = sealing.seal(anchor.hash)
        anchor.save()
        _append_outside(anchor)
    return anchor


def anchor_if_due(now: dt.datetime | None = None) -> AuditAnchor | None:
    """The worker's schedule: a new anchor once the last is ONESTOP_AUDIT_ANCHOR_MINUTES old."""
    now = now or timezone.now()
    last = AuditAnchor.objects.order_by("-seq").values_list("created_at", flat=True).first()
    every = dt.timedelta(minutes=settings.ONESTOP_AUDIT_ANCHOR_MINUTES)
    if last and now - last < every:
        return None
    return make_anchor(now)


# --- verification --------------------------------------------------------------------------------


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def _outside_records() -> list[dict] | None:
    path = settings.ONESTOP_AUDIT_ANCHOR_FILE
    if not path or not Path(path).exists():
        return None
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _stored_records() -> list[dict]:
    return [json.loads(as_line(a)) for a in AuditAnchor.objects.order_by("seq")]


def trusted_anchors(keys=None) -> tuple[list[dict], list[str]]:
    """(anchors to check the records against, problems with the anchors themselves).

    The file outside the database is the reference when configured; the database's copy must
    match it. Each anchor's hash, seal and link to the previous are checked."""
    keys = keys if keys is not None else sealing.trusted_keys()
    problems = []
    stored = _stored_records()
    outside = _outside_records()
    if settings.ONESTOP_AUDIT_ANCHOR_FILE and outside is None and stored:
        problems.append("the anchor file outside the database is missing")
    reference = outside if outside is not None else stored
    if outside is not None:
        by_seq = {record["seq"]: record for record in stored}
        for record in outside:
            copy = by_seq.pop(record["seq"], None)
            if copy is None:
                problems.append(f"anchor {record['seq']} is missing from the database")
            elif copy != record:
                problems.append(f"anchor {record['seq']} in the database differs from the file")
        problems += [f"anchor {seq} in the database is not in the file" for seq in by_seq]
    prev = ""
    for record in reference:
        fields = {k: record[k] for k in _SIGNED}
        if anchor_hash(fields) != record["hash"]:
            problems.append(f"anchor {record['seq']}: content does not match its hash")
        elif record["prev_hash"] != prev:
            problems.append(f"anchor {record['seq']}: link to the previous anchor broken")
        unsealed = sealing.seal_problem(record["key_id"], record["signature"], record["hash"], keys)
        if unsealed:
            problems.append(f"anchor {record['seq']}: seal: {unsealed}")
        prev = record["hash"]
    return reference, problems


_SIGNED = ("seq", "created_at", "window_start", "window_end", "content", "prev_hash")


def verify_anchors(keys=None) -> Iterator[str]:
    """Recompute every anchored window from the records present and compare."""
    anchors, problems = trusted_anchors(keys)
    yield from problems
    if not anchors:
        return
    ends = [_parse_time(a["window_end"]) for a in anchors]
    starts = [_parse_time(a["window_start"]) for a in anchors]
    last_end = ends[-1]
    for name, (model, column) in sources().items():
        counts = [0] * len(anchors)
        sums = [0] * len(anchors)
        rows = model._base_manager.filter(recorded_at__lte=last_end).values_list(
            "recorded_at", column
        )
        for recorded_at, digest in rows.iterator(chunk_size=5000):
            index = bisect.bisect_left(ends, recorded_at)
            if index < len(anchors) and recorded_at > starts[index]:
                counts[index] += 1
                sums[index] = _fold(sums[index], digest)
        for index, anchor in enumerate(anchors):
            expected = anchor["content"].get(name, {"count": 0, "sum": f"{0:064x}"})
            if (counts[index], f"{sums[index]:064x}") != (expected["count"], expected["sum"]):
                yield (
                    f"{name}: records stored between {anchor['window_start']} and "
                    f"{anchor['window_end']} do not match anchor {anchor['seq']} "
                    f"({expected['count']} anchored, {counts[index]} now): records were "
                    "removed, added or rewritten"
                )
