import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dossiers import clock
from dossiers.errors import ValidationFailed

from ..forms import ProfileForm, SignUpForm
from ..models import CitizenProfile
from ..services import citizen_sign_up, citizen_update_profile


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("citizens:my_dossiers")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("password1", "password2")}
        try:
            user = citizen_sign_up(password=form.cleaned_data["password1"], **data)
        except ValidationFailed as error:
            for field, problems in error.fields.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _("Đã tạo tài khoản. Lần sau, đăng nhập bằng số định danh cá nhân %(id)s.")
                % {"id": user.username},
            )
            return redirect(_safe_next(request) or "citizens:catalogue")
    return render(request, "citizens/sign_up.html", {"form": form})


def _safe_next(request) -> str:
    """The `next` page if it is on this site (an open redirect to a look-alike site is a
    classic phishing step), else ''."""
    target = request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    instance = CitizenProfile.objects.filter(user=request.user).first()
    if instance is None:
        messages.info(request, _("Tài khoản này không phải tài khoản công dân."))
        return redirect("home")
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        citizen_update_profile(user=request.user, **form.cleaned_data)
        messages.success(request, _("Đã lưu thông tin cá nhân."))
        return redirect("citizens:profile")
    return render(request, "citizens/profile.html", {"form": form})


# --- password reset, throttled ------------------------------------------------------------------

RESET_WINDOW = dt.timedelta(hours=1)


def _within_limit(key: str, limit: int) -> bool:
    """Counts one more use of `key` in the last hour (the database cache, shared by every
    process); False once `limit` uses are already there."""
    now = clock.now().timestamp()
    recent = [t for t in cache.get(key, []) if now - t < RESET_WINDOW.total_seconds()]
    if len(recent) >= limit:
        return False
    cache.set(key, [*recent, now], timeout=int(RESET_WINDOW.total_seconds()))
    return True


class ThrottledPasswordResetForm(PasswordResetForm):
    """Sends to an account at most ONESTOP_PASSWORD_RESET_PER_ACCOUNT e-mails an hour."""

    def get_users(self, email):
        for user in super().get_users(email):
            key = f"onestop:password-reset:account:{user.pk}"
            if _within_limit(key, settings.ONESTOP_PASSWORD_RESET_PER_ACCOUNT):
                yield user


class ThrottledPasswordResetView(PasswordResetView):
    """At most ONESTOP_PASSWORD_RESET_PER_ADDRESS requests an hour from one client address.
    Whatever happens (sent, throttled, unknown address) the answer is the same "sent" page, so
    the form tells nobody which e-mail addresses have accounts."""

    form_class = ThrottledPasswordResetForm

    def form_valid(self, form):
        key = f"onestop:password-reset:address:{self.request.META.get('REMOTE_ADDR', '')}"
        if not _within_limit(key, settings.ONESTOP_PASSWORD_RESET_PER_ADDRESS):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
