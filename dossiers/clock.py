"""The one source of "now" for domain code.

Services ask `clock.now()` rather than `timezone.now()` so that demo data can be built with real
service calls at past instants (`with clock.frozen(moment): ...`), leaving a true audit trail.
"""

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_frozen: ContextVar[dt.datetime | None] = ContextVar("onestop_frozen_now", default=None)


def now() -> dt.datetime:
    return _frozen.get() or timezone.now()


@contextmanager
def frozen(moment: dt.datetime):
    if timezone.is_naive(moment):
        raise ValueError("clock.frozen needs an aware datetime")
    token = _frozen.set(moment)
    try:
        yield moment
    finally:
        _frozen.reset(token)


def backoff(attempt: int, *, base: float = 5.0, cap: float = 3600.0) -> dt.timedelta:
    """The delay before retry number `attempt` (1, 2, …): 5 s, 10 s, 20 s … up to an hour."""
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))
