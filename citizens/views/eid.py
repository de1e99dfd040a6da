"""Login with the national e-ID: the two pages of the flow (start, callback). The protocol is
citizens/eid.py; the account rule is citizens.services.citizen_eid_login."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dossiers.errors import DomainError
from dossiers.identity import SESSION_KEY

from .. import eid
from ..services import citizen_eid_login


def _redirect_uri(request) -> str:
    return request.build_absolute_uri(reverse("citizens:eid_callback"))


def _safe(request, target: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else ""


def _refused(request, error: eid.Refused):
    eid.log_refusal(error, request)
    status = 502 if error.reason == "provider_unavailable" else 400
    return render(
        request,
        "citizens/eid_refused.html",
        {"message": error.message, "reason": error.reason},
        status=status,
    )


@require_GET
def eid_start(request):
    """Off to the provider (GET: a link and a button both work without JavaScript)."""
    if not eid.enabled():
        raise Http404()
    try:
        url = eid.start(
            request.session,
            redirect_uri=_redirect_uri(request),
            next_url=_safe(request, request.GET.get("next", "")),
        )
    except eid.Refused as error:
        return _refused(request, error)
    return redirect(url)


@require_GET
def eid_callback(request):
    """Back from the provider: verify, make or link the account, log in."""
    if not eid.enabled():
        raise Http404()
    try:
        identity, next_url = eid.finish(
            request.session, request.GET, redirect_uri=_redirect_uri(request)
        )
    except eid.Refused as error:
        return _refused(request, error)
    try:
        outcome = citizen_eid_login(identity=identity)
    except DomainError as error:
        refused = eid.Refused("account", f"{identity.id_number[:3]}…: {error.message}")
        eid.log_refusal(refused, request)
        return render(
            request,
            "citizens/eid_refused.html",
            {"message": error.message, "reason": "account"},
            status=403,
        )
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = {
        "user_id": outcome.user.pk,
        "acr": identity.acr,
        "issuer": identity.issuer,
        "at": int(time.time()),
    }
    profile = outcome.user.citizen_profile
    if outcome.linked:
        messages.warning(
            request,
            _(
                "Tài khoản có sẵn với số định danh %(id)s đã được gắn với định danh điện tử. "
                "Mật khẩu cũ không còn dùng được; vui lòng kiểm tra thông tin liên hệ."
            )
            % {"id": identity.id_number},
        )
        return redirect("citizens:profile")
    messages.success(
        request,
        _("Đã đăng nhập bằng %(provider)s.") % {"provider": eid.button_label()},
    )
    if not (profile.phone and profile.email and profile.address):
        messages.info(request, _("Vui lòng bổ sung số điện thoại, thư điện tử và địa chỉ."))
        if outcome.created:
            return redirect("citizens:profile")
    return redirect(_safe(request, next_url) or "citizens:catalogue")
