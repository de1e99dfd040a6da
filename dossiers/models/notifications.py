"""E-mails to applicants, written in the action's transaction and sent after commit."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .audit import DossierEvent
from .dossier import Dossier


class OutgoingEmail(models.Model):
    """An e-mail to the applicant, written in the action's transaction, sent after commit.

    A mail server that is down never fails or rolls back the action: the row stays pending and
    `send_notifications` retries it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENT = "sent", _("Đã gửi")
        FAILED = "failed", _("Gửi lỗi (bỏ qua)")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="emails")
    event = models.ForeignKey(DossierEvent, on_delete=models.PROTECT, related_name="+")
    to = models.EmailField(_("người nhận"))
    subject = models.CharField(_("tiêu đề"), max_length=255)
    body = models.TextField(_("nội dung"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("thư thông báo")
        verbose_name_plural = _("thư thông báo")
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.to}: {self.subject}"
