"""API tokens: named, expiring, revocable; only a hash of each key is stored."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """One key a user (or another system) sends as `Authorization: Token <key>`.

    The key itself is shown once, when issued; the table keeps its SHA-256, so a copy of the
    database is no list of working keys. A token ends at `expires_at`, when revoked (by its
    holder, or when the password changes or the account is deactivated: `dossiers.tokens`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("tên"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, to tell one's tokens apart on the page.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("khoá API")
        verbose_name_plural = _("khoá API")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_user_live")]

    def __str__(self):
        return f"{self.name or self.prefix} ({self.user})"
