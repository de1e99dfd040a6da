from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = _("Hồ sơ thủ tục hành chính")

    def ready(self):
        from .groups import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self)

        from django.apps import apps

        if apps.is_installed("django.contrib.admin"):
            # The admin has loaded every app's admin module (its app comes first): other apps'
            # admins that do not scope their rows to an agency become superusers-only.
            from .admin import restrict_unscoped

            restrict_unscoped()
