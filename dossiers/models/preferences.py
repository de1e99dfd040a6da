"""Officials' own settings: named queue filters."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedFilter(models.Model):
    """An official's named queue filter (the query string of the queue page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(_("tên bộ lọc"), max_length=80)
    query = models.CharField(max_length=1000)

    class Meta:
        verbose_name = _("bộ lọc đã lưu")
        verbose_name_plural = _("bộ lọc đã lưu")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_saved_filter_name")
        ]

    def __str__(self):
        return self.name
