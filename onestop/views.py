import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import bad_request as django_bad_request

from dossiers.integrations import operations
from dossiers.permissions import is_official, is_supervisor

from .middleware import too_large

log = logging.getLogger(__name__)


@login_required
def start(request):
    """Where a user lands after logging in: officials at their queue, supervisors at the
    indicators, citizens at their dossiers."""
    if is_official(request.user):
        return redirect("office:queue")
    if is_supervisor(request.user):
        return redirect("supervision:dashboard")
    return redirect("citizens:my_dossiers")


@never_cache
@require_safe
def healthz(request):
    """For load balancers and monitoring: the database answers (else 503), the worker's queue
    and the webhook subscriptions' states. Counts only: no authentication, no personal data."""
    try:
        return JsonResponse(operations.health())
    except DatabaseError as error:
        # The reason is the error's class only (OperationalError, PoolTimeout): its message
        # names hosts, ports and roles, which go to the log, not to anyone who asks.
        cause = error.__cause__ or error
        log.warning("healthz: the database does not answer", exc_info=True)
        return JsonResponse({"database": "unavailable", "reason": type(cause).__name__}, status=503)


def server_error(request):
    """handler500: the 500 page with the request's id (onestop/logs.py), which a citizen quotes
    and which the error's log record carries. Rendered without the context processors: what
    failed may be the database they read."""
    template = loader.get_template("500.html")
    return HttpResponseServerError(
        template.render({"request_id": getattr(request, "request_id", None)})
    )


def bad_request(request, exception):
    """handler400: a body Django found too big while a middleware read it (the CSRF check reads
    a form's fields) is a 413 with its page, not a bare 400."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    return django_bad_request(request, exception)
