from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = _("Hồ sơ thủ tục hành chính")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .groups import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self)
