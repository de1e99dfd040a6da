"""Public status lookup by dossier code + lookup key: no login, no personal data, throttled."""

from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext as _

from dossiers import appointment
from dossiers.lookup import find_by_lookup
from onestop.net import client_ip

from ..forms import LookupForm

LOOKUPS_PER_WINDOW = 20
WINDOW_SECONDS = 600


def _throttled(request) -> bool:
    key = f"lookup:{client_ip(request)}"
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return cache.incr(key) > LOOKUPS_PER_WINDOW
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return False


def lookup(request):
    form = LookupForm(request.GET or None)
    context = {"form": form}
    status = 200
    if request.GET and form.is_valid():
        if _throttled(request):
            context["error"] = _("Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút.")
            return render(request, "citizens/lookup.html", context, status=429)
        # Unknown code and wrong key get the same answer (and the key compare is constant-time).
        dossier = find_by_lookup(form.cleaned_data["code"], form.cleaned_data["key"])
        if dossier is None:
            context["error"] = _("Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này.")
            status = 404
        else:
            context["dossier"] = dossier
            context["appointment"] = appointment.current(dossier, with_since=False)
    return render(request, "citizens/lookup.html", context, status=status)
