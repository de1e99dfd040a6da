"""The register of documents the agencies signed (dossiers/integrations/signing.py): what the
verification code printed in a signature block leads to, and the signature's facts."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .agencies import Agency
from .dossier import Attachment, Dossier, Slip


class SignedDocument(models.Model):
    """One signed PDF: its verification code, fingerprint and signer. The signed file itself is
    the result attachment (replaced by its signed version at approval) or the slip."""

    class Kind(models.TextChoices):
        RESULT = "result", _("Kết quả giải quyết thủ tục hành chính")
        SLIP = "slip", _("Phiếu")

    code = models.CharField(_("mã xác thực"), max_length=14, unique=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    unsigned_sha256 = models.CharField(max_length=64, blank=True)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    # The slip kind (Slip.Kind) for a slip; "" for a result.
    title = models.CharField(_("tên văn bản"), max_length=255)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="signatures")
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="signatures"
    )
    slip = models.OneToOneField(
        Slip, null=True, blank=True, on_delete=models.PROTECT, related_name="signature"
    )
    signer_name = models.CharField(_("người ký"), max_length=255, blank=True)
    certificate_subject = models.CharField(_("chứng thư số"), max_length=500)
    level = models.CharField(_("mức chữ ký"), max_length=8)  # B-B or B-T
    signed_at = models.DateTimeField(_("thời điểm ký"))

    class Meta:
        verbose_name = _("văn bản đã ký số")
        verbose_name_plural = _("văn bản đã ký số")
        ordering = ["signed_at", "id"]

    def __str__(self):
        return f"{self.code} {self.title}"
