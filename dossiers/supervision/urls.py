from django.urls import path

from . import integrations
from . import views as supervision

app_name = "supervision"

urlpatterns = [
    path("", supervision.dashboard, name="dashboard"),
    path("charts.css", supervision.chart_stylesheet, name="charts_css"),
    path("dossiers/", supervision.drill_down, name="dossiers"),
    path("dossiers/<int:pk>/", supervision.dossier_trail, name="trail"),
    path("audit/", supervision.audit_log, name="audit"),
    path("access/", supervision.access_log, name="access"),
    path("integrity/", supervision.integrity, name="integrity"),
    path("integrity/keys.pem", supervision.integrity_keys, name="integrity_keys"),
    path("integrity/verify/", supervision.start_verification, name="integrity_verify"),
    path("integrations/", integrations.integrations, name="integrations"),
    path("integrations/<int:pk>/pause/", integrations.pause, name="integrations_pause"),
    path("integrations/<int:pk>/resume/", integrations.resume, name="integrations_resume"),
    path("integrations/<int:pk>/replay/", integrations.replay, name="integrations_replay"),
    path("export/indicators.<str:fmt>", supervision.export_indicators, name="export_indicators"),
    path("export/register.<str:fmt>", supervision.export_register, name="export_register"),
    path("exports/", supervision.export_jobs, name="exports"),
    path("exports/<int:pk>/download/", supervision.export_download, name="export_download"),
]
