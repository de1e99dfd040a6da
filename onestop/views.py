from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from dossiers.permissions import is_official


@login_required
def start(request):
    """Where a user lands after logging in: officials at their queue, citizens at their dossiers."""
    return redirect("office:queue" if is_official(request.user) else "citizens:my_dossiers")
