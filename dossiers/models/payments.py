"""Payments received for dossiers, and the payment notifications refused.

Both are append-only (like the audit trail; PostgreSQL triggers refuse UPDATE, DELETE and
TRUNCATE too): a payment is a fact, recorded once; a mistake is corrected by a new record, never
by editing one. A payment is recorded at most once per (method, transaction id), the provider's
own id: the gateway's transaction, the bank's reference on the statement line; at the counter the
receipt number is not unique across the agency's books, so it is not constrained.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .audit import AppendOnly
from .dossier import Dossier


class PaymentMethod(models.TextChoices):
    GATEWAY = "gateway", _("Cổng thanh toán trực tuyến")
    BANK_STATEMENT = "bank_statement", _("Chuyển khoản (sao kê ngân hàng)")
    COUNTER = "counter", _("Nộp tại quầy")


class Payment(AppendOnly):
    """One confirmed payment of what a dossier owed."""

    class Outcome(models.TextChoices):
        # The dossier waited for this payment: record_payment fired, its clock restarted.
        RECORDED = "recorded", _("Đã ghi nhận cho hồ sơ")
        # Money arrived for a dossier no longer waiting (paid twice, withdrawn, stopped): kept for
        # the agency's reconciliation (a refund or a manual decision), the dossier unchanged.
        RECONCILE = "reconcile", _("Cần đối soát")
        # The fee of a procedure that charges at filing, paid online after an online filing
        # (no action: the event dossier.filing_fee_paid; reception sees it paid).
        FILING_FEE = "filing_fee", _("Phí, lệ phí khi nộp hồ sơ")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payments")
    amount_vnd = models.PositiveBigIntegerField(_("số tiền (đồng)"))
    method = models.CharField(_("hình thức"), max_length=16, choices=PaymentMethod.choices)
    transaction_id = models.CharField(_("mã giao dịch"), max_length=100)
    paid_at = models.DateTimeField(_("thời điểm nộp"))
    recorded_at = models.DateTimeField(_("thời điểm ghi nhận"))
    outcome = models.CharField(_("kết quả"), max_length=16, choices=Outcome.choices)
    payer_name = models.CharField(_("người nộp"), max_length=255, blank=True)
    # Who confirmed it: the official (counter, statement import) or the payment account.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # What confirmed it: the gateway's notification id, the statement file's SHA-256 and line.
    source = models.CharField(_("nguồn xác nhận"), max_length=255, blank=True)
    # The electronic receipt's number (biên lai điện tử), also in the record_payment event.
    receipt_number = models.CharField(_("số biên lai"), max_length=64)

    class Meta:
        verbose_name = _("khoản thanh toán")
        verbose_name_plural = _("khoản thanh toán")
        constraints = [
            models.UniqueConstraint(
                fields=["method", "transaction_id"],
                condition=~Q(method="counter"),
                name="unique_payment_transaction",
            )
        ]
        indexes = [models.Index(fields=["dossier", "recorded_at"], name="payment_dossier_idx")]

    def __str__(self):
        return f"{self.receipt_number} · {self.amount_vnd} đ"


class PaymentRefusal(AppendOnly):
    """A payment notification or statement line refused: what arrived, why, when, from where."""

    class Reason(models.TextChoices):
        SIGNATURE = "signature", _("Chữ ký không hợp lệ")
        MALFORMED = "malformed", _("Nội dung không hợp lệ")
        MERCHANT = "merchant", _("Sai mã đơn vị chấp nhận thanh toán")
        REFERENCE = "reference", _("Không tìm thấy hồ sơ")
        AMOUNT = "amount", _("Sai số tiền")

    method = models.CharField(_("hình thức"), max_length=16, choices=PaymentMethod.choices)
    reason = models.CharField(_("lý do"), max_length=16, choices=Reason.choices)
    detail = models.CharField(_("chi tiết"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("thời điểm nhận"))
    ip = models.GenericIPAddressField(_("địa chỉ IP"), null=True, blank=True)
    # The notification as it arrived (headers that matter and the body, cut at 8 KB).
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("thông báo thanh toán bị từ chối")
        verbose_name_plural = _("thông báo thanh toán bị từ chối")
        indexes = [models.Index(fields=["received_at"], name="payment_refusal_time_idx")]

    def __str__(self):
        return f"{self.received_at:%Y-%m-%d %H:%M} · {self.get_reason_display()}"
