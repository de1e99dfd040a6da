from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

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
