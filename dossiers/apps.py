from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = _("Hồ sơ thủ tục hành chính")

    def ready(self):
        from simple_history.signals import pre_create_historical_record

        from . import checks  # noqa: F401  (registers the system checks)
        from .groups import sync_role_groups
        from .sealing import seal_history_row

        post_migrate.connect(sync_role_groups, sender=self)
        # Every history row is chained and signed as it is written (sealing.py).
        pre_create_historical_record.connect(seal_history_row, dispatch_uid="onestop-seal")
