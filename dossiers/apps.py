from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = _("Hồ sơ thủ tục hành chính")

    def ready(self):
        from django.contrib.auth import get_user_model
        from simple_history.signals import pre_create_historical_record

        from . import checks  # noqa: F401  (registers the system checks)
        from .groups import sync_role_groups
        from .sealing import seal_history_row
        from .tokens import revoke_on_credential_change

        post_migrate.connect(sync_role_groups, sender=self)
        # Every history row is chained and signed as it is written (sealing.py).
        pre_create_historical_record.connect(seal_history_row, dispatch_uid="onestop-seal")
        pre_save.connect(
            revoke_on_credential_change,
            sender=get_user_model(),
            dispatch_uid="onestop_revoke_tokens_on_credential_change",
        )

        from django.apps import apps

        if apps.is_installed("django.contrib.admin"):
            # The admin has loaded every app's admin module (its app comes first): other apps'
            # admins that do not scope their rows to an agency become superusers-only.
            from .admin import restrict_unscoped

            restrict_unscoped()
