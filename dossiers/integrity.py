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

BATCH = 2000


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


def _sealed_signatures() -> dict[str, str]:
    """Verification code -> the signed file's SHA-256, as the sealed events record them (the
    approval's `signed_results`, a slip's `slip.rendered`)."""
    from .models import DossierEvent
    from .workflow import EventType

    events = DossierEvent.objects.filter(
        event_type__in=[EventType.APPROVED, EventType.SLIP_RENDERED]
    ).values_list("data", flat=True)
    recorded = {}
    for data in events.iterator(chunk_size=BATCH):
        for signed in data.get("signed_results") or ():
            recorded[signed.get("code")] = signed.get("sha256")
        if data.get("signature_code"):
            recorded[data["signature_code"]] = data.get("sha256")
    return recorded


def verify_signed_documents() -> Iterator[str]:
    """Each verification code leads to the file its sealed event recorded: a register row
    rewritten to vouch for another file is seen."""
    from .models import SignedDocument

    sealed = _sealed_signatures()
    rows = SignedDocument.objects.values_list("pk", "code", "sha256")
    for pk, code, sha256 in rows.iterator(chunk_size=BATCH):
        recorded = sealed.get(code)
        if recorded is None:
            yield f"signed document #{pk}: no sealed event records its code"
        elif recorded != sha256:
            yield f"signed document #{pk}: its hash differs from the one its sealed event records"


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
