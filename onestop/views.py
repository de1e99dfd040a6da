from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from dossiers.permissions import is_official, is_supervisor


@login_required
def start(request):
    """Where a user lands after logging in: officials at their queue, supervisors at the
    indicators, citizens at their dossiers."""
    if is_official(request.user):
        return redirect("office:queue")
    if is_supervisor(request.user):
        return redirect("supervision:dashboard")
    return redirect("citizens:my_dossiers")
