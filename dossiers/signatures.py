"""What the agencies sign and when (the signatures themselves: integrations/signing.py).

- **Results**: the leader's approval signs every PDF result document with the competent
  agency's certificate (`prepare_results` before the approval's transaction, `store_results`
  inside it). The signed file replaces the result attachment's file (same row, new stored file,
  new SHA-256; the unsigned file stays in storage, named by the attachment's older history
  rows), the approval's event records both hashes, and a `SignedDocument` row keeps the
  verification code. A result that is not a PDF, or an agency without a certificate, is
  approved unsigned and shown "not signed" (the event says why).
- **Slips** that carry legal weight (`SIGNED_SLIPS`) are signed when rendered
  (slips.slip_for), with the certificate of the agency that issues them.
- **Verification** (`verify`): the file's signature (pyHanko's validator, the configured trust
  roots) and, when a verification code is given, whether the file is the one registered under
  it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from .errors import ChangedMeanwhile, ValidationFailed
from .integrations import signing
from .models import Attachment, Dossier, SignedDocument, Slip

log = logging.getLogger(__name__)

SIGNED_SLIPS = (
    Slip.Kind.ACKNOWLEDGEMENT,
    Slip.Kind.RECEIPT,
    Slip.Kind.SUPPLEMENT,
    Slip.Kind.REFUSAL,
    Slip.Kind.APOLOGY,
    Slip.Kind.STOP,
)


class Unsigned:
    """Why a result was approved unsigned (recorded in the approval's event)."""

    NO_CERTIFICATE = "no_certificate"
    NOT_PDF = "not_pdf"


def display_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


@dataclass
class PreparedResults:
    """The results as they were signed before the approval's transaction."""

    signed: list[tuple[int, str, signing.Signed]] = field(default_factory=list)
    unsigned: list[tuple[int, str]] = field(default_factory=list)
    key_subject: str = ""


def prepare_results(dossier: Dossier, user) -> PreparedResults:
    """Sign the dossier's result PDFs with its competent agency's key, outside any transaction
    (the timestamp authority is a network call: no lock is held meanwhile). Raises
    ValidationFailed when the agency's key is unusable or a PDF cannot be signed."""
    agency = dossier.competent_agency
    results = list(
        Attachment.objects.filter(dossier=dossier, purpose=Attachment.Purpose.RESULT)
        .exclude(file="")
        .order_by("id")
    )
    prepared = PreparedResults()
    try:
        key = signing.key_for(agency)
    except signing.SigningUnavailable as error:
        raise ValidationFailed(str(error)) from None
    if key is None:
        prepared.unsigned = [(a.pk, Unsigned.NO_CERTIFICATE) for a in results]
        return prepared
    prepared.key_subject = key.subject
    for attachment in results:
        if attachment.content_type != "application/pdf":
            prepared.unsigned.append((attachment.pk, Unsigned.NOT_PDF))
            continue
        with attachment.file.open("rb") as handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise ValidationFailed(
                _("Tệp kết quả đã lưu không khớp với mã băm đã ghi; không ký số được.")
            )
        try:
            signed = signing.sign_pdf(
                data,
                agency=agency,
                key=key,
                signer_name=display_name(user),
                reason=_("Phê duyệt kết quả giải quyết hồ sơ %(code)s") % {"code": dossier.code},
            )
        except signing.NotSignable as error:
            raise ValidationFailed(
                str(error),
                fields={
                    "result": [
                        _("%(name)s: %(problem)s")
                        % {"name": attachment.original_name, "problem": error}
                    ]
                },
            ) from None
        prepared.signed.append((attachment.pk, attachment.sha256, signed))
    return prepared


def store_results(dossier: Dossier, prepared: PreparedResults, user) -> dict:
    """Inside the approval's transaction (the dossier locked): the signed files replace the
    results they were made from, unless the results changed since (ChangedMeanwhile). Returns
    the event's data."""
    current = dict(
        Attachment.objects.filter(dossier=dossier, purpose=Attachment.Purpose.RESULT)
        .exclude(file="")
        .values_list("pk", "sha256")
    )
    planned = {pk: sha for pk, sha, _signed in prepared.signed}
    planned.update({pk: current.get(pk) for pk, _reason in prepared.unsigned})
    if planned != current:
        raise ChangedMeanwhile()
    written, data = [], {"signed_results": [], "unsigned_results": []}
    try:
        for pk, unsigned_sha, signed in prepared.signed:
            attachment = Attachment.objects.get(pk=pk)
            attachment.file.save("file", ContentFile(signed.content), save=False)
            written.append(attachment.file.name)
            attachment.sha256 = signed.sha256
            attachment.size = len(signed.content)
            attachment._history_user = user
            attachment.save(update_fields=["file", "sha256", "size"])
            SignedDocument.objects.create(
                code=signed.code,
                sha256=signed.sha256,
                unsigned_sha256=unsigned_sha,
                kind=SignedDocument.Kind.RESULT,
                title=str(SignedDocument.Kind.RESULT.label),
                agency=dossier.competent_agency,
                dossier=dossier,
                attachment=attachment,
                signer_name=display_name(user),
                certificate_subject=signed.subject,
                level=signed.level,
                signed_at=signed.signed_at,
            )
            data["signed_results"].append(
                {
                    "id": pk,
                    "sha256": signed.sha256,
                    "unsigned_sha256": unsigned_sha,
                    "code": signed.code,
                    "level": signed.level,
                }
            )
    except Exception:
        from django.core.files.storage import default_storage

        for name in written:  # no orphan signed file for a transaction that did not commit
            default_storage.delete(name)
        raise
    data["unsigned_results"] = [{"id": pk, "reason": r} for pk, r in prepared.unsigned]
    return data


def sign_slip(dossier: Dossier, kind: str, content: bytes, issuer, officer: str):
    """A slip's PDF signed with its issuing agency's key: (content, register row to save once
    the slip is stored) — or the content unchanged and None when the slip kind is not signed,
    the agency has no certificate, or its key is unusable (logged: the slip is still issued)."""
    if kind not in SIGNED_SLIPS:
        return content, None
    try:
        key = signing.key_for(issuer)
        if key is None:
            return content, None
        signed = signing.sign_pdf(
            content,
            agency=issuer,
            key=key,
            signer_name=officer,
            reason=str(Slip.Kind(kind).label),
        )
    except (signing.SigningUnavailable, signing.NotSignable) as error:
        log.error("the %s slip of dossier %s was not signed: %s", kind, dossier.pk, error)
        return content, None
    row = SignedDocument(
        code=signed.code,
        sha256=signed.sha256,
        unsigned_sha256=hashlib.sha256(content).hexdigest(),
        kind=SignedDocument.Kind.SLIP,
        title=str(Slip.Kind(kind).label),
        agency=issuer,
        dossier=dossier,
        signer_name=officer,
        certificate_subject=signed.subject,
        level=signed.level,
        signed_at=signed.signed_at,
    )
    return signed.content, row


def find_code(text: str) -> SignedDocument | None:
    code = signing.normalise_code(text)
    if not code:
        return None
    return SignedDocument.objects.select_related("agency").filter(code=code).first()


@dataclass
class Check:
    """A verification's answer: the signature's verdict, and what the code says."""

    verdict: signing.Verdict | None
    registered: SignedDocument | None = None
    matches_code: bool | None = None  # None: no code given, or no file given


def verify(data: bytes | None, code: str = "") -> Check:
    """A file (and optionally a verification code): the signature's verdict, the register's
    row for the code (or for the file's fingerprint), and whether the file is the one the code
    names."""
    registered = find_code(code) if code else None
    if data is None:
        return Check(verdict=None, registered=registered)
    verdict = signing.verify_pdf(data)
    matches = None
    if registered is not None:
        matches = registered.sha256 == verdict.sha256
    elif not code:
        registered = (
            SignedDocument.objects.select_related("agency").filter(sha256=verdict.sha256).first()
        )
    return Check(verdict=verdict, registered=registered, matches_code=matches)


def signatures_of(attachments) -> dict[int, SignedDocument]:
    """The newest register row of each attachment (one query), for the dossier pages."""
    rows = SignedDocument.objects.filter(attachment__in=list(attachments)).order_by("signed_at")
    return {row.attachment_id: row for row in rows}


def agency_signs(agency) -> bool:
    """Whether the agency has a signing certificate configured (the approval form says so)."""
    return signing.is_configured(agency)
