"""The working calendar's data: time-limit units and the admin's extra days off and make-up days."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory


class TimeUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("ngày làm việc")
    WORKING_HOURS = "working_hours", _("giờ làm việc")
    CALENDAR_DAYS = "calendar_days", _("ngày")


class CalendarDay(models.Model):
    """An admin-announced exception to the usual Monday-Friday + public holiday calendar."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Ngày nghỉ bổ sung")
        WORKING_DAY = "working_day", _("Ngày làm bù")

    date = models.DateField(_("ngày"), unique=True)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("lý do / văn bản"), max_length=255)
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("ngày nghỉ / làm bù")
        verbose_name_plural = _("lịch làm việc")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date:%d/%m/%Y} {self.get_kind_display()}"
