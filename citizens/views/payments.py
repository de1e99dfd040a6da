"""Paying what a dossier owes: the VietQR code and the gateway's "pay online" on the dossier page,
and the page the gateway sends the citizen back to (it tells our state, never trusting the
return address's parameters: the payment is recorded by the gateway's signed callback)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dossiers import payment
from dossiers.integrations.payments import gateway, new_order
from dossiers.models import Payment

from .dossiers import _detail_url, _mine


@login_required
@require_POST
def pay_online(request, pk):
    """Off to the gateway's pay page with a signed request for what is owed now."""
    dossier = _mine(request, pk)
    owed = payment.owed(dossier)
    provider = gateway()
    if owed is None or not owed.amount_vnd or not provider.is_configured():
        messages.error(request, _("Hồ sơ không có khoản phải nộp trực tuyến."))
        return redirect(_detail_url(dossier))
    url = provider.pay_url(
        order=new_order(dossier.code),
        amount_vnd=owed.amount_vnd,
        description=_("Nộp phí hồ sơ %(code)s") % {"code": dossier.code},
        return_url=request.build_absolute_uri(reverse("citizens:pay_return", args=[dossier.pk])),
        notify_url=request.build_absolute_uri(reverse("api-payment-callback")),
    )
    return redirect(url)


@login_required
def pay_return(request, pk):
    """Where the gateway sends the citizen back: what we know of the payment now."""
    dossier = _mine(request, pk)
    context = payment.page_context(dossier)
    recorded = [
        row
        for row in context["payments"]
        if row["payment"].outcome in (Payment.Outcome.RECORDED, Payment.Outcome.FILING_FEE)
    ]
    if context["payment"] is not None:
        state = "waiting"
    elif recorded:
        state = "paid"
    else:
        state = "nothing"
    return render(
        request,
        "citizens/pay_return.html",
        {"dossier": dossier, "state": state, "latest": recorded[-1] if recorded else None},
    )
