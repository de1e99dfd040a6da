"""What verification checks beyond the dossiers' event chains (audit.py) and the access log
(access.py): every history row's chain and seal, the current rows against their last sealed
history row (the state is bound to the trail), and the stored files against their hashes.

Each check yields problems as readable lines; verify_audit and the background verification run
report them.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

from django.core.files.storage import default_storage

from . import sealing

BATCH = 2000


def _tracked_attnames(history_model) -> list[str]:
    """Columns that the history row copies from the current row."""
    current = {f.attname for f in history_model.instance_type._meta.concrete_fields}
    return [
        f.attname
        for f in history_model._meta.concrete_fields
        if f.attname in current and f.attname not in sealing.NOT_SEALED
    ]


def _label(history_model) -> str:
    return str(history_model.instance_type._meta.verbose_name)


def verify_history_model(history_model, keys=None) -> Iterator[str]:
    """One history table: each object's rows chain (seq, previous hash), each row's content
    matches its hash and seal, and the object's current row equals its newest history row."""
    keys = keys if keys is not None else sealing.trusted_keys()
    model = history_model.instance_type
    key = sealing.object_key(history_model)
    label = _label(history_model)
    fields = {f.attname: f for f in model._meta.concrete_fields}
    tracked = _tracked_attnames(history_model)
    rows = history_model.objects.order_by(key, "seal_seq", "history_id").iterator(chunk_size=BATCH)
    current_rows = model._base_manager.order_by("pk").iterator(chunk_size=BATCH)
    pending_current = next(current_rows, None)

    def current_of(object_id):
        """Advance the stream of current rows to `object_id`; yield rows with no history."""
        nonlocal pending_current
        orphans = []
        while pending_current is not None and pending_current.pk < object_id:
            orphans.append(pending_current)
            pending_current = next(current_rows, None)
        found = None
        if pending_current is not None and pending_current.pk == object_id:
            found, pending_current = pending_current, next(current_rows, None)
        return found, orphans

    def compare(newest, current) -> Iterator[str]:
        where = f"{label} #{getattr(newest, key)}"
        if newest.history_type == "-":
            if current is not None:
                yield f"{where}: its history says it was deleted, yet the row exists"
            return
        if current is None:
            yield f"{where}: the row was removed without a trace in its history"
            return
        differing = [
            name
            for name in tracked
            if sealing.canonical_value(fields[name], getattr(current, name))
            != sealing.canonical_value(fields[name], getattr(newest, name))
        ]
        if differing:
            yield (
                f"{where}: the current row differs from its last sealed history row in "
                f"{', '.join(sorted(differing))} (changed outside the application)"
            )

    def unbound(orphans) -> Iterator[str]:
        for orphan in orphans:
            yield f"{label} #{orphan.pk}: the row has no history (written outside the application)"

    object_id, expected_seq, prev_hash, newest = None, 1, "", None
    for row in rows:
        row_object = getattr(row, key)
        if row_object != object_id:
            if newest is not None:
                current, orphans = current_of(object_id)
                yield from unbound(orphans)
                yield from compare(newest, current)
            object_id, expected_seq, prev_hash = row_object, 1, ""
        where = f"{label} #{row_object}, history row {row.history_id}"
        if row.seal_seq != expected_seq:
            yield f"{where}: sequence jumps from {expected_seq - 1} to {row.seal_seq}"
        elif row.seal_prev != prev_hash:
            yield f"{where}: previous-hash link broken (a row was removed or inserted)"
        elif sealing.history_row_hash(row) != row.seal_hash:
            yield f"{where}: content does not match its hash (edited)"
        else:
            unsealed = sealing.seal_problem(row.key_id, row.signature, row.seal_hash, keys)
            if unsealed:
                yield f"{where}: seal: {unsealed}"
        expected_seq, prev_hash, newest = row.seal_seq + 1, row.seal_hash, row
    if newest is not None:
        current, orphans = current_of(object_id)
        yield from unbound(orphans)
        yield from compare(newest, current)
    remaining = [] if pending_current is None else [pending_current, *current_rows]
    yield from unbound(remaining)


def verify_history(keys=None) -> Iterator[str]:
    keys = keys if keys is not None else sealing.trusted_keys()
    for history_model in sealing.sealed_history_models():
        yield from verify_history_model(history_model, keys)


def _sealed_slip_hashes() -> dict[tuple[int, str, int], str]:
    """(dossier, kind, source event) -> the SHA-256 the sealed `slip.rendered` event records."""
    from .models import DossierEvent
    from .workflow import EventType

    events = DossierEvent.objects.filter(event_type=EventType.SLIP_RENDERED).values_list(
        "dossier_id", "data"
    )
    return {
        (dossier_id, data.get("kind"), data.get("source_seq")): data.get("sha256")
        for dossier_id, data in events.iterator(chunk_size=BATCH)
    }


def verify_stored_hashes() -> Iterator[str]:
    """Each slip row's hash is the one its sealed event recorded (an attachment's hash is in
    its sealed history rows, checked by verify_history)."""
    from .models import Slip

    sealed = _sealed_slip_hashes()
    rows = Slip.objects.values_list("pk", "dossier_id", "kind", "source_seq", "sha256")
    for pk, dossier_id, kind, source_seq, sha256 in rows.iterator(chunk_size=BATCH):
        recorded = sealed.get((dossier_id, kind, source_seq))
        if recorded is None:
            yield f"slip #{pk}: no sealed event records it (written outside the application)"
        elif recorded != sha256:
            yield f"slip #{pk}: its hash differs from the one its sealed event records"


def _file_digest(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files() -> Iterator[str]:
    """Re-hash every stored document and slip against the hash sealed when it was stored: a
    file replaced on disk is seen."""
    from .models import Attachment, Slip

    sealed_slips = _sealed_slip_hashes()
    documents = Attachment.objects.exclude(file="").values_list("pk", "file", "sha256")
    slips = Slip.objects.values_list("pk", "file", "dossier_id", "kind", "source_seq")
    stored = itertools.chain(
        (("document", pk, name, sha) for pk, name, sha in documents.iterator(BATCH)),
        (
            ("slip", pk, name, sealed_slips.get((dossier_id, kind, seq)))
            for pk, name, dossier_id, kind, seq in slips.iterator(BATCH)
        ),
    )
    for label, pk, name, expected in stored:
        try:
            actual = _file_digest(name)
        except OSError:
            yield f"{label} #{pk} ({name}): the stored file is missing"
            continue
        if actual != expected:
            yield (
                f"{label} #{pk} ({name}): the stored file does not match the hash sealed when "
                "it was stored (replaced)"
            )
