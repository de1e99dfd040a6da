"""How pages answer domain errors: 404 for not visible, 403 with the reason, and for a stale or
out-of-status action a message and a fresh page. Never a 500."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from dossiers.errors import ChangedMeanwhile, DomainError, Forbidden, InvalidTransition, NotFound


def answer_domain_error(request, error: DomainError, *, back: str):
    if isinstance(error, NotFound):
        raise Http404(str(error.message))
    if isinstance(error, Forbidden):
        return render(request, "403.html", {"reason": error.message}, status=403)
    if isinstance(error, ChangedMeanwhile | InvalidTransition):
        messages.error(request, error.message)
        return redirect(back)
    messages.error(request, error.message)
    for problems in error.fields.values():
        for problem in problems:
            messages.error(request, problem)
    return redirect(back)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def forbidden(request, reason):
    """403 with the reason, in the site's page."""
    return render(request, "403.html", {"reason": reason}, status=403)


def role_required(has_role, reason):
    """A view for users `has_role(user)` accepts: others get 403 with `reason`, anonymous users
    are sent to log in."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user):
                return forbidden(request, reason)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
