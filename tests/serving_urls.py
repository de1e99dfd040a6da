"""The project's URLs plus one view that fails, for tests/test_serving.py (the 500 page and its
log record). Test-only: never part of onestop.urls."""

from django.urls import path

from onestop.urls import handler400, handler500
from onestop.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler500", "urlpatterns"]


def fails(request, pk):
    raise RuntimeError(f"a test view that fails (dossier {pk})")


urlpatterns = [path("test-only/fails/<int:pk>/", fails), *project_urlpatterns]
