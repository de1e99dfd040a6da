"""Reads that may come from a read replica (the `replica` alias, DATABASE_REPLICA_URL).

Only code that says so reads from the replica: the supervisors' read-only pages (indicators,
drill-down, audit log, access log, exports) run inside `reading_from_replica()` (or the
`replica_reads` view decorator). Everything else reads and writes the primary, `default`.

Why an explicit choice rather than a router that sends every read to the replica: the
application reads its own writes everywhere else (an action redirects to the page showing its
result, the worker reads the job another process just committed, a citizen's upload is listed
at once, the access log chains onto its newest entry). A replica lags the primary by a moment,
so those reads must see the primary. The supervisors' figures and logs are read-only and
tolerate being a few seconds behind (docs/scaling.md, "Replica lag").

Inside the context, the router still keeps on the primary:
- every write (db_for_write is never the replica; the replica's sessions are read-only too);
- every read inside a transaction on the primary (`atomic`): a transaction that writes reads
  what it wrote, and locks are taken there;
- the cache and the sessions (the throttles and logins read and write them as one).
Without a `replica` alias everything is `default`, as on one machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
# App labels never read from the replica: the database cache's and the sessions' tables.
_PRIMARY_ONLY_APPS = frozenset({"django_cache", "sessions"})

_reading = ContextVar("onestop_reading_from_replica", default=False)


def configured() -> bool:
    return REPLICA in connections.settings


@contextmanager
def reading_from_replica():
    """Reads in this block (outside any transaction on the primary) go to the replica."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_reads(view):
    """A view whose reads go to the replica (see the module's docstring for what stays)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with reading_from_replica():
            return view(*args, **kwargs)

    return wrapped


def streamed_from_replica(rows: Iterable) -> Iterator:
    """`rows` (a lazy iterator a streaming response consumes after the view returned) read
    from the replica: each step runs inside the context, which never stays set between steps
    (a generator left unfinished cannot leave the thread reading from the replica)."""
    iterator = iter(rows)
    while True:
        with reading_from_replica():
            try:
                row = next(iterator)
            except StopIteration:
                return
        yield row


class ReplicaRouter:
    """Sends a read to the replica only inside `reading_from_replica()`; otherwise no opinion
    (Django's default: `default`)."""

    def db_for_read(self, model, **hints):
        if not _reading.get() or not configured():
            return None
        if model._meta.app_label in _PRIMARY_ONLY_APPS:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None  # a transaction reads its own writes, and its locks, on the primary
        return REPLICA

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: objects read from either relate freely.
        databases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica receives the schema by replication, never by `migrate`.
        return False if db == REPLICA else None
