"""E-mails to applicants, written in the action's transaction and sent after commit."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .audit import DossierEvent
from .dossier import Dossier


class OutgoingEmail(models.Model):
    """An e-mail to the applicant, written in the action's transaction, sent after commit.

    A mail server that is down never fails or rolls back the action: the row stays pending and
    the worker tries again with growing delays (notify.send) for ONESTOP_EMAIL_RETRY_DAYS from
    `retry_since`; then it is failed for good, shown on the official's dossier page and in the
    admin, where an administrator may retry it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENT = "sent", _("Đã gửi")
        FAILED = "failed", _("Không gửi được (đã thôi thử)")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="emails")
    event = models.ForeignKey(DossierEvent, on_delete=models.PROTECT, related_name="+")
    to = models.EmailField(_("người nhận"))
    subject = models.CharField(_("tiêu đề"), max_length=255)
    body = models.TextField(_("nội dung"))
    state = models.CharField(
        _("trạng thái"), max_length=16, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("số lần thử"), default=0)
    last_error = models.TextField(_("lỗi lần cuối"), blank=True)
    created_at = models.DateTimeField(_("tạo lúc"))
    sent_at = models.DateTimeField(_("gửi lúc"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("thử lần cuối lúc"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("thử lại lúc"), null=True, blank=True)
    # The start of the retry period (its creation; an administrator's retry starts a new one).
    retry_since = models.DateTimeField(_("thử từ lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("thư thông báo")
        verbose_name_plural = _("thư thông báo")
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.to}: {self.subject}"
