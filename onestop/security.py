"""Account security on every request: staff sessions end when idle, staff reach no staff page
before the second factor, and a locked-out login gets a clear answer (django-axes).

Who is "staff" is `dossiers.permissions.needs_second_factor`: officials, supervisors, Django
staff and superusers. Citizens are never asked for a second factor and keep normal sessions.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dossiers import clock, second_factor
from dossiers.permissions import needs_second_factor

LAST_ACTIVITY = "onestop.last_activity"
# The session is written at most once a minute for the idle clock, not on every request.
ACTIVITY_RESOLUTION = dt.timedelta(minutes=1)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=settings.ONESTOP_STAFF_IDLE_MINUTES)


class StaffIdleTimeoutMiddleware:
    """A staff session unused for ONESTOP_STAFF_IDLE_MINUTES is logged out; the next page asks
    to log in again, with a message saying why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and needs_second_factor(user):
            now = clock.now()
            seen = request.session.get(LAST_ACTIVITY)
            last = dt.datetime.fromtimestamp(seen, tz=dt.UTC) if seen is not None else None
            if last is not None and now - last > idle_limit():
                logout(request)
                messages.info(
                    request,
                    _(
                        "Phiên làm việc đã kết thúc vì không hoạt động quá %(minutes)d phút. "
                        "Vui lòng đăng nhập lại."
                    )
                    % {"minutes": settings.ONESTOP_STAFF_IDLE_MINUTES},
                )
                if request.path_info.startswith("/api/"):
                    return self.get_response(request)  # now anonymous: the API answers 401
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= ACTIVITY_RESOLUTION:
                request.session[LAST_ACTIVITY] = now.timestamp()
        return self.get_response(request)


def _start_activity_clock(sender, request, user, **kwargs):
    """The idle clock starts at login (the first page then writes no session)."""
    if request is not None and hasattr(request, "session") and needs_second_factor(user):
        request.session[LAST_ACTIVITY] = clock.now().timestamp()


user_logged_in.connect(_start_activity_clock, dispatch_uid="onestop_staff_activity_clock")


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login made through a request (the login pages, the
    admin, the API token endpoint). `authenticate()` without a request (the test client's
    login(), the shell) has no client address to count and is not checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _exempt_paths() -> tuple[str, ...]:
    return (
        reverse("security_verify"),
        reverse("security_enrol"),
        reverse("citizens:logout"),
        reverse("set_language"),
        reverse("healthz"),
    )


class SecondFactorMiddleware:
    """Staff who logged in with their password only are sent to the second factor (to enrol an
    authenticator if they have none) before any other page: the office, supervision, the admin.
    Under /api/ an unverified staff session simply does not count
    (`dossiers.api.authentication.VerifiedSessionAuthentication`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and needs_second_factor(user)
            and not user.is_verified()
            and not self._exempt(request.path_info)
        ):
            target = "security_verify" if second_factor.has_device(user) else "security_enrol"
            return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path.startswith(("/api/", static)) or path in _exempt_paths()


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): 429 with the lockout
    page, or under /api/ the API's JSON error."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    headers = {"Retry-After": str(int(cool_off.total_seconds()))} if cool_off else {}
    if request.path.startswith("/api/"):
        if original_response is not None and original_response.status_code == 429:
            return original_response  # the token view has already answered in its shape
        message = _(
            "Đăng nhập sai quá nhiều lần: tài khoản hoặc địa chỉ này tạm bị khoá, hãy thử lại sau."
        )
        body = {"error": {"code": "locked_out", "message": message, "fields": {}}}
        return JsonResponse(body, status=429, headers=headers)
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    for name, value in headers.items():
        response[name] = value
    return response
