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
from django.db import connection, models, transaction
from django.utils import timezone

from . import sealing
from .audit import canonical_time
from .models import AccessLogEntry, AuditAnchor, DossierEvent

MODULUS = 1 << 256
# Clocks of the database and of the verifying process may differ by this much.
STORAGE_SKEW = dt.timedelta(minutes=2)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# The advisory lock of anchor making (any constant unique to this use).
ANCHOR_LOCK = 0x6F6E65_0003  # not 0002: the change feed's lock (integrations/feed.py)


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


# What an anchor's hash covers (a line of the file holds these, the hash and the seal).
_SIGNED = ("seq", "created_at", "window_start", "window_end", "content", "prev_hash")


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


def _last_seq_outside(path: Path) -> int:
    """The seq of the file's last complete line (0 for an empty or missing file)."""
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 65536))
        lines = [line for line in handle.read().split(b"\n") if line.strip()]
    for line in reversed(lines):
        try:
            return int(json.loads(line)["seq"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line (a crash while writing): the line before it counts
    return 0


def write_outside() -> None:
    """Append to the file every anchor the database has and the file has not yet (normally
    the one just committed; after a crash, the ones missed). Runs after the commit, so the
    file never holds an anchor the database rolled back."""
    path = settings.ONESTOP_AUDIT_ANCHOR_FILE
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = AuditAnchor.objects.filter(seq__gt=_last_seq_outside(path)).order_by("seq")
    lines = "".join(as_line(anchor) + "\n" for anchor in missing)
    if not lines:
        return
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                lines = "\n" + lines  # after a torn line, start a line of our own
    # O_APPEND: lines are only ever added at the end; fsync before reporting success.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, lines.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def make_anchor(now: dt.datetime | None = None) -> AuditAnchor | None:
    """Sign and store the next anchor; None when there is no new window yet."""
    now = now or timezone.now()
    end = now - dt.timedelta(seconds=settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Another process is making one: skip this turn rather than wait (a session
            # holding the lock must not stall the worker's sweep).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ANCHOR_LOCK])
                if not cursor.fetchone()[0]:
                    return None
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
        transaction.on_commit(write_outside)
    return anchor


def anchor_if_due(now: dt.datetime | None = None) -> AuditAnchor | None:
    """The worker's schedule: a new anchor once the last is ONESTOP_AUDIT_ANCHOR_MINUTES old.
    Only on hosts with ONESTOP_AUDIT_ANCHORING on: with workers on several machines, one host
    anchors and keeps the file, so the file is whole on that host (docs/scaling.md)."""
    if not settings.ONESTOP_AUDIT_ANCHORING:
        return None
    now = now or timezone.now()
    last = AuditAnchor.objects.order_by("-seq").values_list("created_at", flat=True).first()
    every = dt.timedelta(minutes=settings.ONESTOP_AUDIT_ANCHOR_MINUTES)
    if last and now - last < every:
        return None
    return make_anchor(now)


# --- verification --------------------------------------------------------------------------------


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def _outside_records(problems: list[str]) -> list[dict] | None:
    path = settings.ONESTOP_AUDIT_ANCHOR_FILE
    if not path or not Path(path).exists():
        return None
    records = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                problems.append(f"anchor file line {number} is not a complete anchor (torn?)")
    return records


def _stored_records() -> list[dict]:
    return [json.loads(as_line(a)) for a in AuditAnchor.objects.order_by("seq")]


def trusted_anchors(keys=None) -> tuple[list[dict], list[str]]:
    """(anchors to check the records against, problems with the anchors themselves).

    The file outside the database is the reference when configured; the database's copy must
    match it. Each anchor's hash, seal and link to the previous are checked."""
    keys = keys if keys is not None else sealing.trusted_keys()
    problems = []
    stored = _stored_records()
    outside = _outside_records(problems)
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


def _freshness_slack() -> dt.timedelta:
    """How old the newest anchor may be before anchoring counts as stopped."""
    return dt.timedelta(
        minutes=settings.ONESTOP_AUDIT_ANCHOR_MINUTES + 10,
        seconds=settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS,
    )


class Windows:
    """The anchored windows of storage time, to place each record in its window."""

    def __init__(self, anchors: list[dict]):
        self.ends = [_parse_time(a["window_end"]) for a in anchors]
        self.starts = [_parse_time(a["window_start"]) for a in anchors]

    def index(self, recorded_at: dt.datetime) -> int | None:
        """The window holding a record stored at `recorded_at`, or None."""
        index = bisect.bisect_left(self.ends, recorded_at)
        if index < len(self.ends) and recorded_at > self.starts[index]:
            return index
        return None


def tally(model, column: str, windows: Windows) -> dict[int, list[int]]:
    """Window index -> [count, sum of hashes] of one source's records (one pass)."""
    found: dict[int, list[int]] = {}
    rows = model._base_manager.filter(recorded_at__lte=windows.ends[-1]).values_list(
        "recorded_at", column
    )
    for recorded_at, digest in rows.iterator(chunk_size=5000):
        index = windows.index(recorded_at)
        if index is not None:
            window = found.setdefault(index, [0, 0])
            window[0] += 1
            window[1] += int(digest, 16)
    return found


def verify_anchors(
    keys=None,
    now: dt.datetime | None = None,
    *,
    trusted: tuple[list[dict], list[str]] | None = None,
    tallies: dict[str, dict[int, list[int]]] | None = None,
) -> Iterator[str]:
    """Recompute every anchored window from the records present and compare; and see that
    anchoring goes on and that no record was moved out of the anchors' reach.

    `trusted` is what trusted_anchors() returned, and `tallies` the windows' counts and sums
    per source, when the bulk verification already read them in its pass over the records
    (a source missing from `tallies` is read here)."""
    now = now or timezone.now()
    anchors, problems = trusted if trusted is not None else trusted_anchors(keys)
    tallies = tallies or {}
    yield from problems
    for name, (model, _column) in sources().items():
        # `recorded_at` is not sealed (the database sets it): a record moved before the first
        # window or into the future would never be anchored, so its removal would go unseen.
        stray = model._base_manager.filter(
            models.Q(recorded_at__lte=EPOCH) | models.Q(recorded_at__gt=now + STORAGE_SKEW)
        ).count()
        if stray:
            yield (
                f"{name}: {stray} records carry a storage time no anchor can cover (before "
                f"{EPOCH:%Y} or in the future): moved out of the anchors' reach"
            )
    if anchors:
        newest = _parse_time(anchors[-1]["created_at"])
        if now - newest > _freshness_slack():
            yield (
                f"no anchor since {anchors[-1]['created_at']}: anchoring has stopped, so records "
                "stored since are not protected against removal (is the worker running?)"
            )
    elif settings.ONESTOP_AUDIT_ANCHOR_FILE:
        oldest = DossierEvent.objects.order_by("recorded_at").values_list("recorded_at", flat=True)
        first = oldest.first()
        if first is not None and now - first > _freshness_slack():
            yield "no anchor was ever made, though records are stored (is the worker running?)"
    if not anchors:
        return
    windows = Windows(anchors)
    for name, (model, column) in sources().items():
        found = tallies[name] if name in tallies else tally(model, column, windows)
        for index, anchor in enumerate(anchors):
            count, total = found.get(index, (0, 0))
            expected = anchor["content"].get(name, {"count": 0, "sum": f"{0:064x}"})
            if (count, f"{total % MODULUS:064x}") != (expected["count"], expected["sum"]):
                yield (
                    f"{name}: records stored between {anchor['window_start']} and "
                    f"{anchor['window_end']} do not match anchor {anchor['seq']} "
                    f"({expected['count']} anchored, {count} now): records were "
                    "removed, added or rewritten"
                )
