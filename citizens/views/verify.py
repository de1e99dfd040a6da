"""The public verification page: anyone (a citizen, a bank) uploads a signed result or slip, or
enters the verification code printed in its signature block, and learns whether it is genuine,
who signed it and when, and whether it changed since. No login; throttled like the lookup.

A code alone reveals only what is printed with it on the document itself, never the dossier or
the applicant: the kind of document, the agency that signed, the date and the file's
fingerprint (so a holder of a copy can compare it)."""

from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dossiers import signatures
from onestop.net import client_ip

from ..forms import VerifyForm

CHECKS_PER_WINDOW = 20
WINDOW_SECONDS = 600


def _throttled(request) -> bool:
    key = f"verify:{client_ip(request)}"
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return cache.incr(key) > CHECKS_PER_WINDOW
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return False


@require_http_methods(["GET", "POST"])
def verify(request):
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
    else:
        form = VerifyForm(request.GET or None)
    context, status = {"form": form}, 200
    if form.is_bound and form.is_valid():
        if _throttled(request):
            context["error"] = _("Bạn đã kiểm tra quá nhiều lần. Vui lòng thử lại sau ít phút.")
            return render(request, "citizens/verify.html", context, status=429)
        code = form.cleaned_data["code"]
        check = signatures.verify(form.cleaned_data["file"], code)
        context["check"] = check
        context["code"] = code
        if code and check.registered is None:
            context["error"] = _("Không có văn bản nào mang mã xác thực này.")
            status = 404
    elif form.is_bound:
        status = 400
    return render(request, "citizens/verify.html", context, status=status)
