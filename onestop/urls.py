from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "onestop"
admin.site.site_title = "onestop"

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
