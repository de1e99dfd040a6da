"""The electronic results and documents store (kho giấy tờ, kết quả điện tử): what is kept and
when (docs/workflow.md, "Kho giấy tờ, kết quả điện tử").

- A result is kept when the leader approves it (`record_result`, inside the approve action's
  transaction): that is when it is issued. A file that replaces it afterwards (the signed PDF)
  is recorded with `record_result_file`, which appends an entry replacing the earlier one, so
  the store always ends with the hash of the result's final file.
- A paper digitised at counter intake is kept with the intake (`record_scan`, inside the intake's
  transaction), under the applicant's ID number.

Entries reference the attachment's stored file (the same name in storage), never a copy. Who
may reuse what is `permissions.reusable_documents`; attaching one is
`services.attachments.attachment_reuse_stored`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from .models import (
    Attachment,
    Dossier,
    IndicatorChange,
    ProcedureDocument,
    StoredDocument,
    is_electronic_original,
)
from .worktime import VN_TZ

# The attachments that are papers of the dossier (not its result).
PAPER_PURPOSES = (Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT)


def _owner(dossier: Dossier) -> str:
    return (dossier.applicant or {}).get("id_number", "") or ""


def record_result(*, dossier: Dossier, user, now: dt.datetime) -> StoredDocument | None:
    """Keep the dossier's result (its newest result file) as issued now. Within the approve
    action's transaction. A granted result takes the procedure's result document type (a denial
    is kept, and counted, but offered to no one). None when there is no file or no owner ID."""
    attachment = (
        dossier.attachments.filter(purpose=Attachment.Purpose.RESULT)
        .exclude(file="")
        .order_by("-created_at", "-id")
        .first()
    )
    if attachment is None or not _owner(dossier):
        return None
    return _append_result(dossier, attachment, user, now)


def record_result_file(*, attachment: Attachment, user, now: dt.datetime) -> StoredDocument | None:
    """The result's file changed after approval (e.g. signed): keep the new file, replacing the
    current entry of that result. Idempotent: the same file again changes nothing. For the
    signing step; it marks the dossier for the indicators itself."""
    dossier = attachment.dossier
    if dossier.resolved_at is None or not attachment.file or not _owner(dossier):
        return None
    entry = _append_result(dossier, attachment, user, now)
    # The supervisors' figures of its day are recomputed (indicators.mark_changed's row).
    IndicatorChange.objects.create(dossier_id=dossier.pk)
    return entry


def _append_result(dossier, attachment, user, now) -> StoredDocument:
    same = StoredDocument.objects.filter(source_attachment=attachment, sha256=attachment.sha256)
    if same.exists():
        return same.get()
    current = StoredDocument.objects.filter(
        source_dossier=dossier, kind=StoredDocument.Kind.RESULT, replaced_by__isnull=True
    ).first()
    granted = dossier.outcome == Dossier.Outcome.GRANTED
    procedure = dossier.procedure
    entry = StoredDocument(
        kind=StoredDocument.Kind.RESULT,
        owner_id_number=_owner(dossier),
        document_type_id=procedure.result_document_type_id if granted else None,
        title=(
            procedure.result_document_type.name
            if granted and procedure.result_document_type_id
            else _result_title(dossier)
        )[:512],
        issuing_agency=dossier.competent_agency,
        issuer_name=dossier.authority_name[:255],
        # The register's reference of the result: the dossier code (the decision's own number
        # is not recorded by onestop).
        number=dossier.code or "",
        issued_on=(dossier.resolved_at or now).astimezone(VN_TZ).date(),
        electronic=is_electronic_original(attachment),
        file=attachment.file.name,
        sha256=attachment.sha256,
        size=attachment.size,
        content_type=attachment.content_type,
        source_dossier=dossier,
        source_attachment=attachment,
        replaces=current,
        created_by=user,
        created_at=now,
    )
    entry._history_user = user
    entry.save()
    return entry


def _result_title(dossier: Dossier) -> str:
    return f"{dossier.get_outcome_display()}: {dossier.procedure.name}"


def record_scan(
    *,
    attachment: Attachment,
    document: ProcedureDocument,
    user,
    now: dt.datetime,
    number: str = "",
    issued_on: dt.date | None = None,
    issuer: str = "",
) -> StoredDocument | None:
    """Keep a paper the official scanned at counter intake, under the applicant's ID number
    (None without one). Within the intake's transaction."""
    dossier = attachment.dossier
    if not _owner(dossier) or not attachment.file:
        return None
    entry = StoredDocument(
        kind=StoredDocument.Kind.DIGITISED,
        owner_id_number=_owner(dossier),
        document_type=document.document_type,
        title=(document.document_type.name if document.document_type_id else document.name)[:512],
        issuer_name=issuer[:255],
        number=number[:64],
        issued_on=issued_on,
        electronic=False,
        file=attachment.file.name,
        sha256=attachment.sha256,
        size=attachment.size,
        content_type=attachment.content_type,
        source_dossier=dossier,
        source_attachment=attachment,
        created_by=user,
        created_at=now,
    )
    entry._history_user = user
    entry.save()
    return entry


# --- the Decision 766 figures' conditions (dossiers/indicators.py) ---------------------------


def result_electronic_q() -> Q:
    """A dossier whose result is in the store as an electronic original."""
    return Q(
        Exists(
            StoredDocument.objects.filter(
                source_dossier=OuterRef("pk"), kind=StoredDocument.Kind.RESULT, electronic=True
            )
        )
    )


def digitised_q() -> Q:
    """A dossier whose every paper is electronic: no paper handed in is kept on paper only
    (every one was uploaded online, scanned at intake, or reused from the store). Papers only
    shown at the counter (kind "present", an ID card) are not handed in and do not count."""
    on_paper = Attachment.objects.filter(
        dossier=OuterRef("pk"), purpose__in=PAPER_PURPOSES, file=""
    ).exclude(document__kind=ProcedureDocument.Kind.PRESENT)  # shown, not handed in
    return ~Q(Exists(on_paper))


def describe(entry: StoredDocument) -> dict:
    """What the apply form says of an entry: type, number, date, issuer."""
    return {
        "title": entry.title,
        "number": entry.number,
        "issued_on": entry.issued_on,
        "issuer": entry.issuer_name
        or (entry.issuing_agency.authority_name if entry.issuing_agency_id else ""),
    }
