"""Side effects that follow a committed action (e-mail, eager slip rendering).

`muted()` switches them off for a block: demo data needs neither e-mail to residents who do not
exist nor hundreds of eagerly rendered PDFs (they render on first download instead).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_muted: ContextVar[bool] = ContextVar("onestop_aftercommit_muted", default=False)


@contextmanager
def muted():
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    return _muted.get()


def schedule(dossier, event) -> None:
    """Inside the action's transaction: queue the e-mail, render the slip once it commits."""
    if is_muted():
        return
    from . import notify, slips

    notify.queue(dossier, event)
    if event.event_type in slips.EAGER:
        dossier_id, event_type = dossier.pk, event.event_type
        transaction.on_commit(lambda: slips.render_after_commit(dossier_id, event_type))
