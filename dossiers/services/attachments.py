"""Uploaded documents: checked by content, size and count, hashed, stored under generated names."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .. import clock, filecheck
from ..errors import NotFound, ValidationFailed
from ..filecheck import DEFAULT_ALLOWED_TYPES, CheckedFile
from ..models import Attachment, Dossier, ProcedureDocument
from ..permissions import (
    ATTACH_ACTIONS,
    FileAction,
    authorize,
    authorize_attach_role,
    result_visible_q,
    reusable_documents,
)
from .base import Actor, lock_dossier


def _limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "ONESTOP_MAX_FILE_BYTES", 10 * 1024 * 1024),
        getattr(settings, "ONESTOP_MAX_DOSSIER_BYTES", 50 * 1024 * 1024),
        getattr(settings, "ONESTOP_MAX_FILES_PER_DOSSIER", 40),
    )


def check_upload(upload, allowed: Iterable[str] = DEFAULT_ALLOWED_TYPES) -> CheckedFile:
    """The file's size, then its content (dossiers/filecheck.py): what would be stored. A
    caller storing several files in one transaction checks them all first, then hands the
    checked files to `attachment_add` (no file is written for a transaction that rolls back)."""
    max_file = _limits()[0]
    if isinstance(upload, CheckedFile):
        names, accepted = filecheck.accepted_extensions(allowed)
        if upload.extension not in accepted:
            raise filecheck.wrong_type(names)
        return upload
    if upload.size > max_file:
        raise ValidationFailed(
            fields={"file": [_("Tệp vượt quá %(mb)d MB.") % {"mb": max_file // (1024 * 1024)}]}
        )
    return filecheck.check_upload(upload, allowed)


def attachment_add(
    *,
    actor: Actor,
    dossier: Dossier,
    upload,
    purpose: str = Attachment.Purpose.APPLICATION,
    document: ProcedureDocument | None = None,
) -> Attachment:
    """Store an uploaded file (or a file `check_upload` passed) for a dossier after checking its
    content, size and count."""
    authorize_attach_role(actor.user, dossier, purpose)
    if purpose not in Attachment.Purpose.values:
        raise ValidationFailed(fields={"purpose": [_("Mục đích không hợp lệ.")]})
    if document is not None and document.procedure_id != dossier.procedure_id:
        raise ValidationFailed(fields={"document_type": [_("Giấy tờ không thuộc thủ tục này.")]})
    if purpose != Attachment.Purpose.RESULT and document is None:
        raise ValidationFailed(fields={"document_type": [_("Vui lòng chọn loại giấy tờ.")]})
    _max_file, max_total, max_count = _limits()
    # Checked before the lock is taken; what is stored (and hashed) is the checked content: a
    # PDF as it came, an image re-encoded without its metadata.
    checked = check_upload(upload, document.allowed_types if document else DEFAULT_ALLOWED_TYPES)

    with transaction.atomic():
        locked = lock_dossier(dossier.pk, actor.user)
        authorize(actor.user, locked, ATTACH_ACTIONS[purpose])
        existing = locked.attachments.exclude(file="")
        if existing.count() >= max_count:
            raise ValidationFailed(
                fields={"file": [_("Hồ sơ đã có tối đa %(n)d tệp.") % {"n": max_count}]}
            )
        total = sum(existing.values_list("size", flat=True))
        if total + checked.size > max_total:
            raise ValidationFailed(
                fields={
                    "file": [
                        _("Tổng dung lượng hồ sơ vượt quá %(mb)d MB.")
                        % {"mb": max_total // (1024 * 1024)}
                    ]
                }
            )
        attachment = Attachment(
            dossier=locked,
            document=document,
            purpose=purpose,
            original_name=checked.name[:255],
            size=checked.size,
            sha256=checked.sha256,
            content_type=checked.content_type,
            uploaded_by=actor.user,
            created_at=clock.now(),
        )
        attachment.file.save("file", ContentFile(checked.content), save=False)
        try:
            attachment._history_user = actor.user
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)  # no orphan file for a row that was not written
            raise
    return attachment


def documents_on_file(user):
    """Files the citizen can attach again: their earlier uploads, and results of their earlier
    dossiers once those were decided. Newest first, one per stored file."""
    return (
        Attachment.objects.filter(dossier__applicant_user=user)
        .exclude(file="")
        .filter(
            Q(purpose__in=[Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT])
            | (Q(purpose=Attachment.Purpose.RESULT) & result_visible_q("dossier__"))
        )
        .select_related("document", "dossier", "dossier__procedure")
        .order_by("-created_at")
    )


def attachment_reuse(
    *,
    actor: Actor,
    dossier: Dossier,
    source: Attachment,
    document: ProcedureDocument,
    purpose: str = Attachment.Purpose.APPLICATION,
) -> Attachment:
    """Attach a document already on file without uploading it again (same stored file)."""
    authorize_attach_role(actor.user, dossier, purpose)
    if purpose not in ATTACH_ACTIONS:
        raise ValidationFailed(fields={"purpose": [_("Mục đích không hợp lệ.")]})
    if not documents_on_file(actor.user).filter(pk=source.pk).exists():
        raise NotFound()
    if document.procedure_id != dossier.procedure_id:
        raise ValidationFailed(fields={"document_type": [_("Giấy tờ không thuộc thủ tục này.")]})
    # The stored file passes today's check for this document, like a new upload would (it may
    # predate the check). A PDF comes out unchanged and the stored file is shared; an image
    # whose re-encoding differs is stored again, re-encoded.
    try:
        with source.file.open("rb") as stored:
            data = stored.read()
    except OSError:
        raise ValidationFailed(
            fields={"file": [_("Không đọc được tài liệu đã lưu; vui lòng tải tệp lên lại.")]}
        ) from None
    checked = filecheck.check_bytes(data, document.allowed_types)
    with transaction.atomic():
        locked = lock_dossier(dossier.pk, actor.user)
        authorize(actor.user, locked, ATTACH_ACTIONS[purpose])
        copy = Attachment(
            dossier=locked,
            document=document,
            purpose=purpose,
            file=source.file.name,
            original_name=source.original_name,
            size=checked.size,
            sha256=checked.sha256,
            content_type=checked.content_type,
            uploaded_by=actor.user,
            created_at=clock.now(),
        )
        if checked.content != data:
            copy.file.save("file", ContentFile(checked.content), save=False)
        copy._history_user = actor.user
        try:
            copy.save()
        except Exception:
            if copy.file.name != source.file.name:
                copy.file.delete(save=False)
            raise
    return copy


def attachment_reuse_stored(
    *,
    actor: Actor,
    dossier: Dossier,
    stored_id,
    document: ProcedureDocument,
    purpose: str = Attachment.Purpose.APPLICATION,
) -> Attachment:
    """Attach the applicant's own document from the store for one paper of the procedure, not
    uploaded again: the attachment points to the store entry and to its stored file (same
    SHA-256). An entry that is not the actor's (`permissions.reusable_documents`), or not of
    this paper's document type, is a field error: never someone else's document."""
    authorize_attach_role(actor.user, dossier, purpose)
    if purpose not in (Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT):
        raise ValidationFailed(fields={"purpose": [_("Mục đích không hợp lệ.")]})
    if document.procedure_id != dossier.procedure_id:
        raise ValidationFailed(fields={"document_type": [_("Giấy tờ không thuộc thủ tục này.")]})
    stored = None
    if str(stored_id).isdecimal() and str(stored_id).isascii():
        stored = reusable_documents(actor.user).filter(pk=int(stored_id)).first()
    if stored is None:
        raise ValidationFailed(
            fields={"stored": [_("Không tìm thấy giấy tờ đã chọn trong kho giấy tờ của bạn.")]}
        )
    if document.document_type_id is None or stored.document_type_id != document.document_type_id:
        raise ValidationFailed(
            fields={"stored": [_("Giấy tờ đã chọn không phải loại giấy tờ này.")]}
        )
    max_count = _limits()[2]
    with transaction.atomic():
        locked = lock_dossier(dossier.pk, actor.user)
        authorize(actor.user, locked, ATTACH_ACTIONS[purpose])
        existing = locked.attachments.exclude(file="")
        if existing.count() >= max_count:
            raise ValidationFailed(
                fields={"file": [_("Hồ sơ đã có tối đa %(n)d tệp.") % {"n": max_count}]}
            )
        attachment = Attachment(
            dossier=locked,
            document=document,
            purpose=purpose,
            file=stored.file.name,
            original_name=f"{stored.title} {stored.number}".strip()[:255],
            size=stored.size,
            sha256=stored.sha256,
            content_type=stored.content_type,
            reused_from=stored,
            uploaded_by=actor.user,
            created_at=clock.now(),
        )
        attachment._history_user = actor.user
        attachment.save()
    return attachment


def attachment_detach(*, actor: Actor, dossier: Dossier, attachment: Attachment) -> None:
    """Take a file out of a draft before submission. The stored file stays (another draft may
    reuse it) and the removal is kept in the attachment's history."""
    with transaction.atomic():
        locked = lock_dossier(dossier.pk, actor.user)
        authorize(actor.user, locked, FileAction.DETACH)
        row = locked.attachments.filter(pk=attachment.pk).first()
        if row is None:
            raise NotFound()
        row._history_user = actor.user
        row.delete()


def attach_requested(*, actor: Actor, dossier: Dossier, uploads) -> list[str]:
    """Store the files answering a supplement request; `uploads` maps `doc_<id>` to files (a
    request's FILES). Returns the problems, one line per refused file, and stores the others."""
    problems = []
    for document in ProcedureDocument.objects.filter(pk__in=dossier.requested_documents):
        upload = uploads.get(f"doc_{document.pk}")
        if not upload:
            continue
        try:
            attachment_add(
                actor=actor,
                dossier=dossier,
                upload=upload,
                document=document,
                purpose=Attachment.Purpose.SUPPLEMENT,
            )
        except ValidationFailed as error:
            problems += [f"{document.name}: {p}" for ps in error.fields.values() for p in ps]
    return problems
