"""What flows out to other systems: the change feed (the outbox, in commit order), webhook
subscriptions and the record of every delivery attempt."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory
from .agencies import Agency
from .audit import AppendOnly, DossierEvent
from .catalogue import Procedure
from .dossier import Dossier


class FeedEntry(AppendOnly):
    """One dossier event as other systems see it. Written in the action's transaction, numbered
    in commit order (`position`), never changed: the change feed serves these rows and the
    webhooks deliver them, so both say the same thing, once."""

    position = models.PositiveBigIntegerField(_("vị trí"), unique=True)
    event = models.OneToOneField(DossierEvent, on_delete=models.PROTECT, related_name="feed_entry")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(_("sự kiện"), max_length=64)
    receiving_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    competent_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("thời điểm"))
    # The body's `data`, without personal data; `personal` holds the applicant's identification,
    # added only for subscribers and readers allowed to see it.
    payload = models.JSONField(_("dữ liệu"))
    personal = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("sự kiện chia sẻ")
        verbose_name_plural = _("dòng sự kiện chia sẻ")
        ordering = ["position"]
        indexes = [
            models.Index(fields=["receiving_agency", "position"]),
            models.Index(fields=["competent_agency", "position"]),
        ]

    def __str__(self):
        return f"#{self.position} {self.event_type} {self.dossier_id}"


class WebhookSubscription(models.Model):
    """An outside system's endpoint and what it wants: event types, agencies and procedures
    (empty = all it may see), in a payload profile. Deliveries follow the feed in order."""

    class Profile(models.TextChoices):
        STANDARD = "standard", _("Chuẩn onestop")
        NATIONAL_PORTAL = "national_portal", _("Đồng bộ trạng thái Cổng Dịch vụ công quốc gia")

    class State(models.TextChoices):
        ACTIVE = "active", _("Đang gửi")
        PAUSED = "paused", _("Tạm dừng")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        verbose_name=_("tài khoản đăng ký"),
    )
    url = models.URLField(_("địa chỉ nhận"), max_length=500)
    secret = models.CharField(_("khóa ký"), max_length=100, editable=False)
    event_types = models.JSONField(_("loại sự kiện"), default=list, blank=True)
    agencies = models.ManyToManyField(
        Agency, blank=True, related_name="+", verbose_name=_("cơ quan")
    )
    procedures = models.ManyToManyField(
        Procedure, blank=True, related_name="+", verbose_name=_("thủ tục")
    )
    profile = models.CharField(
        _("mẫu dữ liệu"), max_length=32, choices=Profile.choices, default=Profile.STANDARD
    )
    include_personal_data = models.BooleanField(
        _("gửi thông tin định danh người nộp"), default=False
    )
    state = models.CharField(
        _("trạng thái"), max_length=16, choices=State.choices, default=State.ACTIVE
    )
    paused_reason = models.CharField(_("lý do tạm dừng"), max_length=255, blank=True)
    # Delivery progress: the last feed position handled (delivered or not for this subscriber).
    cursor = models.PositiveBigIntegerField(_("đã gửi đến vị trí"), default=0)
    failing_since = models.DateTimeField(_("lỗi từ lúc"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("thử lại lúc"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("số lần lỗi liên tiếp"), default=0)
    # Which worker is delivering, until when (see webhooks.deliver_pending).
    lease = models.CharField(max_length=32, blank=True, editable=False)
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("tạo lúc"))
    # Delivery progress is not a change of settings; the secret is kept out of the history,
    # which is append-only and would keep it after the subscription is deleted.
    history = HistoricalRecords(
        bases=[SealedHistory],
        excluded_fields=[
            "cursor",
            "failing_since",
            "next_attempt_at",
            "failures",
            "lease",
            "leased_until",
            "secret",
        ],
    )

    class Meta:
        verbose_name = _("đăng ký nhận sự kiện")
        verbose_name_plural = _("đăng ký nhận sự kiện")
        ordering = ["id"]

    def __str__(self):
        return f"#{self.pk} {self.url}"


class DeliveryAttempt(models.Model):
    """One POST of one feed entry to one subscription, as it went."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="attempts"
    )
    entry = models.ForeignKey(FeedEntry, on_delete=models.PROTECT, related_name="+")
    webhook_id = models.CharField(max_length=64)
    attempted_at = models.DateTimeField(_("thời điểm"))
    duration_ms = models.PositiveIntegerField(_("thời gian (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("mã phản hồi"), null=True, blank=True)
    succeeded = models.BooleanField(_("thành công"), default=False)
    error = models.TextField(_("lỗi"), blank=True)
    response_head = models.TextField(_("phần đầu phản hồi"), blank=True)

    class Meta:
        verbose_name = _("lần gửi")
        verbose_name_plural = _("các lần gửi")
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-attempted_at"])]

    def __str__(self):
        return f"{self.webhook_id} -> {self.subscription_id}: {self.status_code or self.error[:40]}"
