from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import accounts, views

handler400 = "onestop.views.bad_request"
handler500 = "onestop.views.server_error"

admin.site.site_header = "onestop"
admin.site.site_title = "onestop"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="citizens:catalogue"), name="home"),
    path("start/", views.start, name="start"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/security/", accounts.security, name="security"),
    path("accounts/security/verify/", accounts.verify, name="security_verify"),
    path("accounts/security/enrol/", accounts.enrol, name="security_enrol"),
    path("accounts/security/recovery-codes/", accounts.recovery_codes, name="security_recovery"),
    path("accounts/security/tokens/", accounts.token_create, name="security_token_create"),
    path(
        "accounts/security/tokens/<int:pk>/revoke/",
        accounts.token_revoke,
        name="security_token_revoke",
    ),
    path("", include("citizens.urls")),
    path("office/", include("dossiers.office.urls")),
    path("supervision/", include("dossiers.supervision.urls")),
    path("api/v1/", include("dossiers.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
