"""The project's own middleware.

ChosenLanguageMiddleware: Vietnamese unless the user chose otherwise with the language switch
(cookie). Django's LocaleMiddleware would follow the browser's Accept-Language; a commune portal
speaks Vietnamese first, whatever language the phone is set to.

RequestSizeMiddleware: a body over the size limits answers 413.

PublicBaseMiddleware: in development (DEBUG), links printed on slips and written in e-mails
during a request point at the address the request came to (dossiers/links.py).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from dossiers import links


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def body_too_large(request) -> bool:
    """Whether the body announced by Content-Length is over the limit, before reading it: a
    form or JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's own limit), a body with files
    (multipart) over ONESTOP_MAX_REQUEST_BYTES."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if request.content_type == "multipart/form-data":
        limit = settings.ONESTOP_MAX_REQUEST_BYTES
    else:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and length > limit


def too_large(request) -> HttpResponse:
    """413: the page under the site's layout; under /api/ a bare status, which the API's error
    middleware answers in its JSON shape."""
    if request.path.startswith("/api/"):
        return HttpResponse(status=413)
    return render(request, "413.html", status=413)


class RequestSizeMiddleware:
    """A body over the limit answers 413 (a page, or JSON under /api/) rather than a 400 or a
    500: refused from its Content-Length before anything reads it, or when Django finds it too
    big while parsing. Last in MIDDLEWARE, so its answer still goes through the others (the
    chosen language, the API's JSON errors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if body_too_large(request):
            return too_large(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        return None


class PublicBaseMiddleware:
    """DEBUG only: the request's scheme and host (already checked against ALLOWED_HOSTS) become
    the base of the links made while it is answered. Production takes ONESTOP_PUBLIC_URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.DEBUG:
            return self.get_response(request)
        with links.request_base(f"{request.scheme}://{request.get_host()}"):
            return self.get_response(request)
