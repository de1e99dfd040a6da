"""Account security pages: the staff's second factor (enrol an authenticator, verify at login,
recovery codes) and every user's API tokens (see, create, revoke)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import django_otp
import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dossiers import second_factor, tokens
from dossiers.models import ApiToken
from dossiers.permissions import needs_second_factor


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Mã xác thực"),
        max_length=32,
        help_text=gettext_lazy(
            "6 chữ số trong ứng dụng xác thực, hoặc một mã khôi phục chưa dùng."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Mã 6 chữ số trong ứng dụng"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Tên khoá (dùng cho việc gì)"), max_length=100, required=False
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _url(name: str) -> str:
    return reverse(name)


def _with_next(name: str, request) -> str:
    target = _next(request)
    return f"{reverse(name)}?next={quote(target)}" if target else reverse(name)


def _qr_svg(url: str, label: str) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=5, border=4, light="#fff")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _verified_login(request, device) -> None:
    # A new session key once the second factor is passed (no fixation of a half-logged session).
    request.session.cycle_key()
    django_otp.login(request, device)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Set up the authenticator: QR code and secret, a first code to confirm, then the recovery
    codes (shown this once). Someone holding only the password cannot replace a confirmed
    authenticator: that needs a verified session."""
    user = request.user
    if not needs_second_factor(user):
        return redirect("security")
    if second_factor.has_device(user) and not user.is_verified():
        return redirect(_with_next("security_verify", request))
    device = second_factor.start_enrolment(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = second_factor.confirm_enrolment(device, form.cleaned_data["code"])
        if codes is None:
            form.add_error("code", _("Mã không đúng. Hãy nhập mã đang hiển thị trong ứng dụng."))
        else:
            device.refresh_from_db()
            _verified_login(request, device)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next(request) or _url("start"), "enrolled": True},
            )
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url, _("Mã QR để cài đặt ứng dụng xác thực")),
            "secret": _grouped(secret),
            "next": _next(request),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step of a staff login: a current code or one recovery code."""
    user = request.user
    if not needs_second_factor(user) or user.is_verified():
        return redirect(_next(request) or "start")
    if not second_factor.has_device(user):
        return redirect(_with_next("security_enrol", request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor.verify(user, form.cleaned_data["code"])
        if device is None:
            form.add_error(
                "code",
                _(
                    "Mã không đúng hoặc đã được dùng. Sau nhiều lần sai, phải chờ lâu hơn mới "
                    "thử lại được."
                ),
            )
        else:
            _verified_login(request, device)
            if device.name == second_factor.RECOVERY_NAME:
                messages.warning(
                    request,
                    _("Đã dùng một mã khôi phục; còn %(left)d mã. Hãy tạo bộ mã mới nếu sắp hết.")
                    % {"left": second_factor.recovery_codes_left(user)},
                )
            return redirect(_next(request) or "start")
    return render(request, "accounts/verify.html", {"form": form, "next": _next(request)})


@never_cache
@login_required
@require_http_methods(["GET"])
def security(request):
    """The account's security: the second factor (staff) and the API tokens."""
    user = request.user
    return render(
        request,
        "accounts/security.html",
        {
            "staff": needs_second_factor(user),
            "has_device": needs_second_factor(user) and second_factor.has_device(user),
            "recovery_left": second_factor.recovery_codes_left(user),
            "tokens": tokens.live_tokens(user),
            "form": TokenForm(),
        },
    )


@never_cache
@login_required
@require_POST
def recovery_codes(request):
    """A fresh set of recovery codes (the old ones stop working), shown once."""
    if not needs_second_factor(request.user) or not second_factor.has_device(request.user):
        return redirect("security")
    codes = second_factor.new_recovery_codes(request.user)
    return render(
        request, "accounts/recovery_codes.html", {"codes": codes, "next": _url("security")}
    )


@never_cache
@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return redirect("security")
    token, key = tokens.issue(request.user, form.cleaned_data["name"] or _("Khoá API"))
    return render(request, "accounts/token_created.html", {"token": token, "key": key})


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.revoke(token)
    messages.success(request, _("Đã thu hồi khoá API “%(name)s”.") % {"name": token.name})
    return redirect("security")
