"""The audit trail's storage: the append-only event log and the daily digests of chain heads."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..workflow import EventType
from .agencies import Agency
from .dossier import Dossier


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class DossierEvent(models.Model):
    """One audited action on a dossier. Append-only; chained by hash per dossier (see audit.py)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("số thứ tự"))
    event_type = models.CharField(_("sự kiện"), max_length=64, choices=EventType.choices)
    from_status = models.CharField(_("từ trạng thái"), max_length=32, blank=True)
    to_status = models.CharField(_("sang trạng thái"), max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(_("người thực hiện"), max_length=255, blank=True)
    # One role for an action; a read records every role the reader holds there.
    role = models.CharField(_("vai trò"), max_length=64, blank=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("thời điểm"))
    ip = models.GenericIPAddressField(_("địa chỉ IP"), null=True, blank=True)
    note = models.TextField(_("ghi chú"), blank=True)
    data = models.JSONField(_("dữ liệu"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("nhật ký hồ sơ")
        verbose_name_plural = _("nhật ký hồ sơ")
        ordering = ["dossier_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["dossier", "seq"], name="unique_event_seq")]
        indexes = [
            models.Index(fields=["created_at", "id"]),
            models.Index(fields=["event_type", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["agency", "created_at"]),
        ]

    def __str__(self):
        return f"{self.dossier_id}#{self.seq} {self.event_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")


class AuditDigest(models.Model):
    """The day's digest of every dossier's chain head (see audit.heads_digest)."""

    day = models.DateField(_("ngày"), unique=True)
    digest = models.CharField(max_length=64)
    dossiers = models.PositiveIntegerField(_("số hồ sơ"))
    created_at = models.DateTimeField(_("lập lúc"))

    class Meta:
        verbose_name = _("mã tổng hợp nhật ký")
        verbose_name_plural = _("mã tổng hợp nhật ký")
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day:%d/%m/%Y} {self.digest[:16]}"
