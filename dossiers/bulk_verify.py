"""Verifying every sealed record in bulk: streamed, in ranges of ids, in parallel processes.

One pass reads each table once, through server-side cursors, as plain rows (values_list: no
model instances), in ranges of dossier / object / sequence ids. Each range is a task; on
PostgreSQL the tasks run in `jobs` forked processes, each with its own connection importing the
snapshot of the verification (`pg_export_snapshot()` / `SET TRANSACTION SNAPSHOT`), so every
process reads one and the same state. SQLite runs the same tasks one after the other.

A task returns what it found, what it counted and, per anchored window, the count and hash sum
of the records it read (anchors.py), so that the anchors need no second pass over the tables.

Seals (docs/integrity.md, "Verifying in bulk"): every record's hash and link is recomputed and
its seal's form checked (present, a trusted key, 64 bytes); the Ed25519 signature itself is
verified for the newest record of each chain, which vouches for every earlier one through the
hashes, and for a random sample of the others. A chain with any problem is verified again with
every signature, so what is reported is what a check of every signature reports.
`all_seals=True` verifies every signature.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import re
import secrets
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection, connections, transaction

from . import anchors, sealing
from .access import AccessLogProblem, entry_hash
from .audit import ChainHead, ChainProblem, every_seal, history_values_fingerprint, verify_chain
from .models import AccessLogEntry, Dossier, DossierEvent

ROWS = 5000  # rows per round trip of each server-side cursor
TASKS_PER_JOB = 4  # ranges per process, so that a slow range does not leave a process idle
ROWS_PER_TASK = 20000  # a table smaller than this is one range

CHAINS = "chains"
ACCESS_LOG = "access_log"

SealCheck = Callable[[int, bool], bool]


@dataclass(frozen=True)
class Policy:
    """Whose Ed25519 signatures are verified (every record's seal is checked for form)."""

    all_seals: bool = False
    sample: float = 0.0  # the share of the other records whose signature is verified too

    def check_signature(self) -> SealCheck:
        if self.all_seals:
            return every_seal
        # Not predictable by whoever edits the database, so no record is safely skipped.
        draw = random.Random(secrets.randbits(64)).random  # nosec B311: seeded from secrets
        share = self.sample
        return lambda _position, last: last or (share > 0 and draw() < share)


@dataclass
class Part:
    """What one or more tasks found, counted and tallied."""

    problems: dict[str, list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, dict[int, list[int]]] = field(default_factory=dict)

    def found(self, what: str, problem) -> None:
        self.problems.setdefault(what, []).append(problem)

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def tally(self, source: str, windows: anchors.Windows | None, recorded_at, digest) -> None:
        if windows is None:
            return
        index = windows.index(recorded_at)
        if index is None:
            return
        window = self.tallies.setdefault(source, {}).get(index)
        if window is None:
            self.tallies[source][index] = [1, int(digest, 16)]
        else:
            window[0] += 1
            window[1] += int(digest, 16)

    def add(self, other: Part) -> None:
        for what, found in other.problems.items():
            self.problems.setdefault(what, []).extend(found)
        for what, n in other.counts.items():
            self.count(what, n)
        for source, windows in other.tallies.items():
            mine = self.tallies.setdefault(source, {})
            for index, (n, total) in windows.items():
                window = mine.setdefault(index, [0, 0])
                window[0] += n
                window[1] += total


# --- rows ----------------------------------------------------------------------------------------

_EVENT_FIELDS = """seq event_type from_status to_status actor_id actor_name role agency_id
    created_at ip note data prev_hash hash key_id signature recorded_at"""
# (column, attribute): the id is `pk`, as on a model instance (audit.verify_chain reads it).
EVENT_COLUMNS = (
    ("dossier_id", "dossier_id"),
    ("id", "pk"),
    *((name, name) for name in _EVENT_FIELDS.split()),
)
EventRow = namedtuple("EventRow", [attribute for _column, attribute in EVENT_COLUMNS])

_ACCESS_FIELDS = """created_at actor_id actor_name roles agency_id dossier_id subject_user_id
    subject_name ip purpose what prev_hash hash key_id signature recorded_at"""
ACCESS_COLUMNS = (
    ("seq", "seq"),
    ("id", "pk"),
    *((name, name) for name in _ACCESS_FIELDS.split()),
)
AccessRow = namedtuple("AccessRow", [attribute for _column, attribute in ACCESS_COLUMNS])


def _rows(queryset, columns, row_type) -> Iterator:
    """A server-side cursor's rows as named tuples."""
    make = row_type._make
    for values in queryset.values_list(*columns).iterator(chunk_size=ROWS):
        yield make(values)


def _in_range(column: str, lo, hi) -> dict:
    bounds = {}
    if lo is not None:
        bounds[f"{column}__gte"] = lo
    if hi is not None:
        bounds[f"{column}__lt"] = hi
    return bounds


def _grouped(*streams) -> Iterator[tuple]:
    """Streams sorted by their first column, merged: (key, rows of each stream with that key)."""
    pending = [next(stream, None) for stream in streams]
    while True:
        keys = [row[0] for row in pending if row is not None]
        if not keys:
            return
        key = min(keys)
        groups = []
        for i, stream in enumerate(streams):
            group = []
            while pending[i] is not None and pending[i][0] == key:
                group.append(pending[i])
                pending[i] = next(stream, None)
            groups.append(group)
        yield key, *groups


# --- history tables ------------------------------------------------------------------------------


class HistorySpec:
    """How to read and check one history table: its columns, its tracked fields, its hash."""

    def __init__(self, history_model):
        self.model = history_model
        self.current_model = history_model.instance_type
        self.key = sealing.object_key(history_model)
        self.label = str(self.current_model._meta.verbose_name)
        self.source = f"history:{history_model._meta.label_lower}"
        attnames = [f.attname for f in history_model._meta.concrete_fields]
        # The object's id first: rows are grouped by it.
        self.columns = [self.key, *(a for a in attnames if a != self.key)]
        self.Row = namedtuple("HistoryRow", self.columns)
        current = {f.attname: f for f in self.current_model._meta.concrete_fields}
        self.tracked = [
            a for a in attnames if a in current and a not in sealing.NOT_SEALED and a != self.key
        ]
        self.current_fields = {name: current[name] for name in self.tracked}
        # In JSON, 1 == True == 1.0 in Python but not as stored: always compared canonically.
        self.json_fields = {
            f for f in self.current_fields.values() if f.get_internal_type() == "JSONField"
        }
        self.current_columns = [self.current_model._meta.pk.attname, *self.tracked]
        self.Current = namedtuple("CurrentRow", self.current_columns)

    def row_hash(self, row) -> str:
        return sealing.history_values_hash(self.model, row.__getattribute__, stored=True)

    def history_rows(self, lo, hi) -> Iterator:
        rows = self.model._base_manager.filter(**_in_range(self.key, lo, hi)).order_by(
            self.key, "seal_seq", "history_id"
        )
        return _rows(rows, self.columns, self.Row)

    def current_rows(self, lo, hi) -> Iterator:
        pk = self.current_model._meta.pk.attname
        rows = self.current_model._base_manager.filter(**_in_range(pk, lo, hi)).order_by(pk)
        return _rows(rows, self.current_columns, self.Current)

    def problems(self, object_id, rows, current, keys, check_signature: SealCheck) -> list[str]:
        """Every problem of one object's history rows and of its current row against them."""
        found = []
        expected_seq, prev_hash, last = 1, "", len(rows) - 1
        for position, row in enumerate(rows):
            where = f"{self.label} #{object_id}, history row {row.history_id}"
            if row.seal_seq != expected_seq:
                found.append(f"{where}: sequence jumps from {expected_seq - 1} to {row.seal_seq}")
            elif row.seal_prev != prev_hash:
                found.append(f"{where}: previous-hash link broken (a row was removed or inserted)")
            elif self.row_hash(row) != row.seal_hash:
                found.append(f"{where}: content does not match its hash (edited)")
            else:
                if check_signature(position, position == last):
                    unsealed = sealing.seal_problem(row.key_id, row.signature, row.seal_hash, keys)
                else:
                    unsealed = sealing.seal_form_problem(row.key_id, row.signature, keys)
                if unsealed:
                    found.append(f"{where}: seal: {unsealed}")
            expected_seq, prev_hash = row.seal_seq + 1, row.seal_hash
        if rows:
            found += self.compare(rows[-1], current)
        elif current is not None:
            found.append(
                f"{self.label} #{object_id}: the row has no history (written outside the "
                "application)"
            )
        return found

    def compare(self, newest, current) -> list[str]:
        where = f"{self.label} #{getattr(newest, self.key)}"
        if newest.history_type == "-":
            if current is not None:
                return [f"{where}: its history says it was deleted, yet the row exists"]
            return []
        if current is None:
            return [f"{where}: the row was removed without a trace in its history"]
        canonical = sealing.canonical_value
        differing = []
        for name, f in self.current_fields.items():
            now, sealed = getattr(current, name), getattr(newest, name)
            # Equal values have equal canonical forms: only differing ones are converted.
            if (now != sealed or f in self.json_fields) and canonical(f, now) != canonical(
                f, sealed
            ):
                differing.append(name)
        if differing:
            return [
                f"{where}: the current row differs from its last sealed history row in "
                f"{', '.join(sorted(differing))} (changed outside the application)"
            ]
        return []

    def check(
        self, part: Part, object_id, rows, current, keys, check_signature, windows, vouched=()
    ):
        """`vouched`: history ids whose every column a verified event chain has sealed (the
        fingerprint its event recorded): the newest row's own signature then adds nothing."""
        part.count("history_rows", len(rows))
        for row in rows:
            part.tally(self.source, windows, row.recorded_at, row.seal_hash)
        first_check = check_signature
        if rows and rows[-1].history_id in vouched and check_signature is not every_seal:

            def first_check(position, _last):
                return check_signature(position, False)

        found = self.problems(object_id, rows, current, keys, first_check)
        if found and check_signature is not every_seal:
            # Name every row whose seal fails, as a check of every signature would.
            found = self.problems(object_id, rows, current, keys, every_seal)
        for problem in found:
            part.found(self.source, problem)


def history_specs() -> list[HistorySpec]:
    return [HistorySpec(model) for model in sealing.sealed_history_models()]


# --- tasks ---------------------------------------------------------------------------------------


def _fingerprint(row) -> str:
    return history_values_fingerprint(row._asdict())


def dossier_task(lo, hi, keys, policy: Policy, windows, with_history: bool = True) -> Part:
    """The dossiers with ids in [lo, hi): each one's event chain (with the history rows its
    events name) and, with `with_history`, the dossier history table's check for them."""
    part = Part()
    spec = HistorySpec(Dossier.history.model)
    check_signature = policy.check_signature()
    head_columns = ["id", "code", "event_seq", "audit_head"]
    current_columns = [*head_columns, *(c for c in spec.tracked if c not in head_columns)]
    Current = namedtuple("DossierRow", current_columns)
    dossiers = _rows(
        Dossier._base_manager.filter(**_in_range("id", lo, hi)).order_by("id"),
        current_columns,
        Current,
    )
    events = _rows(
        DossierEvent.objects.filter(**_in_range("dossier_id", lo, hi)).order_by(
            "dossier_id", "seq"
        ),
        [column for column, _attribute in EVENT_COLUMNS],
        EventRow,
    )
    history = spec.history_rows(lo, hi)
    for dossier_id, dossier_rows, chain, history_rows in _grouped(dossiers, events, history):
        current = dossier_rows[0] if dossier_rows else None
        part.count("events", len(chain))
        for event in chain:
            part.tally("events", windows, event.recorded_at, event.hash)
        if current is not None:
            part.count("dossiers", 1)
            head = ChainHead(dossier_id, current.code, current.event_seq, current.audit_head)
            named = {row.history_id: row for row in history_rows}
            found = verify_chain(
                head, chain, named, keys, check_signature=check_signature, fingerprint=_fingerprint
            )
            if found and check_signature is not every_seal:
                # The first problem a check of every signature finds (maybe an earlier event).
                found = verify_chain(head, chain, named, keys, fingerprint=_fingerprint)
            if found:
                part.found(CHAINS, found)
                vouched = ()
            else:
                vouched = {
                    event.data["history"]["id"] for event in chain if event.data.get("history")
                }
        else:
            vouched = ()
        if current is None and chain:
            first = chain[0]
            part.found(
                CHAINS,
                ChainProblem(
                    dossier_id,
                    None,
                    first.seq,
                    first.pk,
                    "events of a dossier that does not exist (its row was removed, or the "
                    "events were written outside the application)",
                ),
            )
        if with_history and (history_rows or current is not None):
            spec.check(
                part, dossier_id, history_rows, current, keys, check_signature, windows, vouched
            )
    return part


def history_task(label: str, lo, hi, keys, policy: Policy, windows) -> Part:
    """One history table's objects with ids in [lo, hi)."""
    spec = next(s for s in history_specs() if s.source == label)
    part = Part()
    check_signature = policy.check_signature()
    grouped = _grouped(spec.history_rows(lo, hi), spec.current_rows(lo, hi))
    for object_id, rows, current in grouped:
        spec.check(
            part,
            object_id,
            rows,
            current[0] if current else None,
            keys,
            check_signature,
            windows,
        )
    return part


def access_task(lo, hi, last_seq, keys, policy: Policy, windows) -> Part:
    """The access log's entries with seq in [lo, hi), linked onto the entry before lo. The
    entry with `last_seq` (the newest) has its signature verified."""
    part = Part()
    check_signature = policy.check_signature()
    before = AccessLogEntry.objects.order_by("-seq").values_list("seq", "hash")
    if lo is not None:
        before = before.filter(seq__lt=lo)
    previous = before.first() if lo is not None else None
    # The state a walk from the first entry has on reaching lo (verify_access_log).
    expected_seq, prev_hash = (previous[0] + 1, previous[1]) if previous else (1, "")
    entries = _rows(
        AccessLogEntry.objects.filter(**_in_range("seq", lo, hi)).order_by("seq"),
        [column for column, _attribute in ACCESS_COLUMNS],
        AccessRow,
    )
    for position, entry in enumerate(entries):
        part.count("access_log_entries", 1)
        part.tally("access_log", windows, entry.recorded_at, entry.hash)
        reason = None
        if entry.seq != expected_seq:
            reason = f"sequence jumps from {expected_seq - 1} to {entry.seq} (entries removed)"
        elif entry.prev_hash != prev_hash:
            reason = "previous-hash link broken"
        elif entry_hash(entry) != entry.hash:
            reason = "content does not match its hash (edited)"
        else:
            if check_signature(position, entry.seq == last_seq):
                unsealed = sealing.seal_problem(entry.key_id, entry.signature, entry.hash, keys)
            else:
                unsealed = sealing.seal_form_problem(entry.key_id, entry.signature, keys)
            reason = f"seal: {unsealed}" if unsealed else None
        if reason:
            part.found(ACCESS_LOG, AccessLogProblem(entry.seq, entry.pk, reason))
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    return part


def run_task(task: tuple, keys, policy: Policy, windows) -> Part:
    kind, *args = task
    if kind == "dossiers":
        return dossier_task(*args, keys, policy, windows)
    if kind == "history":
        return history_task(*args, keys, policy, windows)
    return access_task(*args, keys, policy, windows)


# --- planning and running ------------------------------------------------------------------------


def _ranges(model, column: str, parts: int) -> list[tuple]:
    """[lo, hi) ranges over `column` covering every row (open at both ends), holding about as
    many rows each (quantiles: ids have gaps)."""
    if parts <= 1 or connection.vendor != "postgresql":
        return [(None, None)]
    table = connection.ops.quote_name(model._meta.db_table)
    name = connection.ops.quote_name(model._meta.get_field(column).column)
    fractions = [i / parts for i in range(1, parts)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY {name}) FROM {table}",  # nosec B608: quoted model names
            [fractions],
        )
        (cuts,) = cursor.fetchone()
    edges = [None, *sorted(set(cuts or [])), None]
    return list(itertools.pairwise(edges))


def _parts(rows: int, jobs: int) -> int:
    return max(1, min(jobs * TASKS_PER_JOB, rows // ROWS_PER_TASK))


def plan(jobs: int) -> list[tuple]:
    """The tasks of one verification, in the order their problems are reported."""
    tasks = []
    events = DossierEvent.objects.count() if jobs > 1 else 0
    for lo, hi in _ranges(Dossier, "id", _parts(events, jobs)):
        tasks.append(("dossiers", lo, hi))
    dossier_history = Dossier.history.model
    for spec in history_specs():
        if spec.model is dossier_history:
            continue  # read by the dossier tasks
        rows = spec.model._base_manager.count() if jobs > 1 else 0
        for lo, hi in _ranges(spec.model, spec.key, _parts(rows, jobs)):
            tasks.append(("history", spec.source, lo, hi))
    entries = AccessLogEntry.objects.count() if jobs > 1 else 0
    last_seq = AccessLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    for lo, hi in _ranges(AccessLogEntry, "seq", _parts(entries, jobs)):
        tasks.append(("access", lo, hi, last_seq))
    return tasks


# What a forked process inherits: (snapshot id, keys, policy, windows).
_SHARED: tuple | None = None
# Connections inherited from the parent: kept referenced and never closed here, since closing
# one would end the parent's session on the same socket.
_INHERITED: list = []
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def _child_start() -> None:
    for alias in connections:
        inherited = connections[alias]
        _INHERITED.append((inherited, inherited.connection))
        connections[alias] = connections.create_connection(alias)


def _child_run(task: tuple) -> Part:
    snapshot, keys, policy, windows = _SHARED
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        return run_task(task, keys, policy, windows)


def can_fork(jobs: int) -> bool:
    """Parallel processes need PostgreSQL and a snapshot this verification owns (inside a
    caller's transaction, other sessions could not see what that transaction wrote)."""
    return (
        jobs > 1
        and connection.vendor == "postgresql"
        and "fork" in (multiprocessing.get_all_start_methods())
    )


def scan(
    *,
    keys,
    policy: Policy,
    windows: anchors.Windows | None,
    jobs: int = 1,
    stop_early: Callable[[Part], bool] | None = None,
) -> Part:
    """Run every task of `plan(jobs)`; in `jobs` processes when `jobs` > 1 (the caller holds
    the REPEATABLE READ transaction whose snapshot they import). Problems come back in the
    order of the tasks whatever the number of processes."""
    global _SHARED
    tasks = plan(jobs)
    total = Part()
    if jobs <= 1:
        for task in tasks:
            total.add(run_task(task, keys, policy, windows))
            if stop_early and stop_early(total):
                break
        return total
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    _SHARED = (snapshot, keys, policy, windows)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(jobs, len(tasks)), initializer=_child_start) as pool:
            for part in pool.imap(_child_run, tasks):
                total.add(part)
                if stop_early and stop_early(total):
                    pool.terminate()
                    break
    finally:
        _SHARED = None
    return total


def access_log_with_every_seal(keys, windows) -> Part:
    """The whole access log again, every signature verified (after a problem was found)."""
    last_seq = AccessLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    return access_task(None, None, last_seq, keys, Policy(all_seals=True), windows)


# --- the one-process walks with every signature verified (tests, bench/run.py) -------------
# They live here, not beside what they check (audit, access, integrity), which this module imports.


def verify_all() -> Iterator[ChainProblem]:
    """Walk every chain, every signature verified, streaming dossiers, events and history rows
    side by side in id order (constant memory); yields the first problem of each broken
    dossier. (verify_audit does this in bulk_verify's parallel pass.)"""
    part = dossier_task(None, None, sealing.trusted_keys(), Policy(all_seals=True), None, False)
    yield from part.problems.get("chains", [])


def verify_access_log() -> Iterator[AccessLogProblem]:
    """Walk the whole chain in seq order (one streamed query), every signature verified;
    yields every broken entry.

    After a problem the walk resynchronises on the entry found, so one deletion or edit is
    reported once rather than breaking every later entry. Removing the newest entries is not
    detectable from the chain alone (there is no stored head): the anchors see it.
    """
    part = access_log_with_every_seal(sealing.trusted_keys(), None)
    yield from part.problems.get("access_log", [])


def verify_history_model(history_model, keys=None) -> Iterator[str]:
    """One history table, every signature verified: each object's rows chain (seq, previous
    hash), each row's content matches its hash and seal, and the object's current row equals
    its newest history row. (verify_audit does this in bulk_verify's parallel pass.)"""
    keys = keys if keys is not None else sealing.trusted_keys()
    source = HistorySpec(history_model).source
    part = history_task(source, None, None, keys, Policy(all_seals=True), None)
    yield from part.problems.get(source, [])


def verify_history(keys=None) -> Iterator[str]:
    keys = keys if keys is not None else sealing.trusted_keys()
    for history_model in sealing.sealed_history_models():
        yield from verify_history_model(history_model, keys)
