"""The electronic results and documents store (kho giấy tờ, kết quả điện tử): the types of
papers, and every result issued and every paper digitised at the counter, kept once with its
owner's ID number, so that the owner's later dossiers reuse it instead of asking for it again
(dossiers/document_store.py; docs/workflow.md, "Kho giấy tờ, kết quả điện tử")."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory
from .agencies import Agency
from .audit import AppendOnly
from .dossier import Attachment, Dossier


class DocumentType(models.Model):
    """A kind of paper that recurs between procedures: issued as the result of one, asked for
    by others (a birth certificate, a marriage certificate, a land-use right certificate...).
    `code` is stable: the national result code (mã kết quả, e.g. KQ.G15.000031) where the paper
    is a procedure's result, else a short code of ours (prefixed GT.)."""

    code = models.CharField(_("mã loại giấy tờ"), max_length=32, unique=True)
    name = models.CharField(_("tên loại giấy tờ"), max_length=255)

    class Meta:
        verbose_name = _("loại giấy tờ")
        verbose_name_plural = _("loại giấy tờ")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.code})"


def is_electronic_original(attachment) -> bool:
    """Whether a result file is issued as an electronic document: a PDF carrying the issuing
    agency's digital signature on this very file (dossiers/signatures.py), which is what gives an
    electronic result its legal value. Not a scan of a result signed on paper (an image), nor an
    unsigned PDF (an agency without a signing certificate)."""
    if attachment.content_type != "application/pdf" or not attachment.sha256:
        return False
    return attachment.signatures.filter(sha256=attachment.sha256).exists()


class StoredDocument(AppendOnly):
    """One document kept in the store: a result issued (at the leader's approval) or a paper
    digitised at counter intake. Append-only and sealed: never edited; a result's file that
    changes afterwards (signed after approval) is a new entry that `replaces` the earlier one.
    The file is the dossier attachment's own stored file (the same name in storage, not a copy)."""

    class Kind(models.TextChoices):
        RESULT = "result", _("Kết quả giải quyết")
        DIGITISED = "digitised", _("Giấy tờ số hóa tại quầy")

    kind = models.CharField(_("nguồn"), max_length=16, choices=Kind.choices)
    owner_id_number = models.CharField(_("số định danh của chủ giấy tờ"), max_length=12)
    document_type = models.ForeignKey(
        DocumentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loại giấy tờ"),
    )
    title = models.CharField(_("tên giấy tờ"), max_length=512)
    issuing_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cơ quan cấp"),
    )
    issuer_name = models.CharField(_("nơi cấp"), max_length=255, blank=True)
    number = models.CharField(_("số"), max_length=64, blank=True)
    issued_on = models.DateField(_("ngày cấp"), null=True, blank=True)
    # The electronic original (a result issued as a PDF), not a scan of paper.
    electronic = models.BooleanField(_("bản điện tử gốc"), default=False)
    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=128, blank=True)
    source_dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="stored_documents"
    )
    source_attachment = models.ForeignKey(
        Attachment, on_delete=models.PROTECT, related_name="stored_as"
    )
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("giấy tờ trong kho")
        verbose_name_plural = _("kho giấy tờ, kết quả điện tử")
        ordering = ["-created_at", "-id"]
        indexes = [
            # What a citizen may reuse: their own, of the types a procedure asks for.
            models.Index(fields=["owner_id_number", "document_type"], name="store_owner_type"),
        ]
        constraints = [
            # Kept once: an attachment's file is stored once (a new file, a new entry).
            models.UniqueConstraint(
                fields=["source_attachment", "sha256"], name="store_once_per_file"
            )
        ]

    def __str__(self):
        return f"{self.title} {self.number}".strip()
