from django.urls import path

from . import assisted, payments, views

app_name = "office"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("filters/", views.save_filter, name="save_filter"),
    path("filters/<int:pk>/delete/", views.delete_filter, name="delete_filter"),
    path("bulk/", views.bulk, name="bulk"),
    path("intake/", views.intake_choose, name="intake_choose"),
    path("intake/<str:code>/", views.intake, name="intake"),
    path("assisted/", assisted.assisted_choose, name="assisted_choose"),
    path("assisted/<str:code>/", assisted.assisted, name="assisted"),
    path("register/", views.register, name="register"),
    path("payments/import/", payments.statement_import, name="statement_import"),
    path(
        "dossiers/<int:pk>/filing-fee/",
        payments.filing_fee_counter,
        name="filing_fee_counter",
    ),
    path("exports/", views.exports, name="exports"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("dossiers/<int:pk>/", views.dossier_page, name="dossier"),
    path("dossiers/<int:pk>/act/<str:action>/", views.act, name="act"),
    path(
        "dossiers/<int:pk>/files/<int:attachment_id>/", views.attachment_download, name="attachment"
    ),
    path("dossiers/<int:pk>/slips/<str:kind>.pdf", views.slip_download, name="slip"),
    path(
        "dossiers/<int:pk>/slips/<str:kind>/<int:seq>.pdf",
        views.slip_download,
        name="slip_version",
    ),
]
