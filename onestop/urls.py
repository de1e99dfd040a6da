from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

handler400 = "onestop.views.bad_request"

admin.site.site_header = "onestop"
admin.site.site_title = "onestop"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="citizens:catalogue"), name="home"),
    path("start/", views.start, name="start"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("citizens.urls")),
    path("office/", include("dossiers.office.urls")),
    path("supervision/", include("dossiers.supervision.urls")),
    path("api/v1/", include("dossiers.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
