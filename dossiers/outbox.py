"""What an action sends out, written in the action's own transaction: the applicant's e-mail,
the slip to render, the change-feed entry and the webhook deliveries (and the mark that has the
worker recompute the supervisors' figures). Each is a row or a job
that exists exactly when the action committed (the jobs are rows of the task table, written in
the same transaction), so nothing leaves for an action that rolled back, and nothing is lost
when a process dies after the commit: the worker (`manage.py run_worker`) does the sending.

`muted()` switches e-mails and slips off for a block: demo data needs neither e-mail to residents
who do not exist nor hundreds of eagerly rendered PDFs (they render on first download instead).
The feed is never muted: it is the record other systems follow.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_muted: ContextVar[bool] = ContextVar("onestop_outbox_muted", default=False)


@contextmanager
def muted():
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    return _muted.get()


def record(dossier, event) -> None:
    """Inside the action's transaction, after its event is appended."""
    from . import indicators, notify, slips
    from .integrations import feed, webhooks

    indicators.mark_changed(dossier)  # the supervisors' figures, recomputed by the worker
    if not is_muted():
        email = notify.queue(dossier, event)
        if email is not None:
            notify.send_email.enqueue(email.pk)
        slips.issue_slips(dossier, event)
    entry = feed.append(dossier, event)
    if entry is not None:
        webhooks.notify_subscribers(entry)
