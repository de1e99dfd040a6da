"""verify_audit in bulk (issue 12): one streamed pass in id ranges, parallel processes on
PostgreSQL sharing one snapshot, each chain's newest signature (plus a sample) verified by
default and every signature with --all-seals. The same tampering is found, and named the same
way, whichever the path."""

import base64
import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from dossiers import anchors, bulk_verify, sealing
from dossiers.audit import event_hash
from dossiers.models import Dossier
from dossiers.verification import verify_everything
from dossiers.workflow import Status

from .conftest import tamper

TABLE = "dossiers_dossierevent"


@pytest.fixture
def anchor_file(settings, tmp_path):
    settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS = 0
    settings.ONESTOP_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    return tmp_path / "anchors.jsonl"


def anchor_now():
    anchors.make_anchor(timezone.now() + dt.timedelta(seconds=5))
    anchors.write_outside()


def rewrite_from(dossier, seq, note):
    """Rewrite the dossier's events from `seq` on with every hash recomputed and the head
    moved: only the seals can tell (the attacker has no key)."""
    prev = None
    for event in dossier.events.order_by("seq"):
        if event.seq < seq:
            prev = event.hash
            continue
        if event.seq == seq:
            event.note = note
        event.prev_hash = prev or ""
        event.hash = event_hash(event)
        prev = event.hash
        tamper(
            f"UPDATE {TABLE} SET note = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.note, event.prev_hash, event.hash, event.pk],
        )
    tamper(
        "UPDATE dossiers_dossier SET audit_head = %s WHERE id = %s",
        [prev, dossier.pk],
        table="dossiers_dossier",
    )


def test_a_rewrite_is_named_at_the_first_rewritten_event_as_with_every_seal(make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    assert dossier.events.count() >= 3
    rewrite_from(dossier, 2, "viết lại")
    fast = verify_everything()
    every = verify_everything(all_seals=True)
    assert fast.problems == every.problems
    assert "(seq 2): seal: signature does not match" in fast.problems[0]


def test_every_check_agrees_with_every_seal_on_content_tampering(make_dossier):
    first, second = make_dossier(Status.RECEIVED), make_dossier(Status.PROCESSING)
    target = first.events.order_by("seq").first()
    tamper(f"UPDATE {TABLE} SET note = 'sửa' WHERE id = %s", [target.pk])
    tamper(
        "UPDATE dossiers_dossier SET status = 'resolved' WHERE id = %s",
        [second.pk],
        table="dossiers_dossier",
    )
    fast, every = verify_everything(), verify_everything(all_seals=True)
    assert fast.problems == every.problems and len(fast.problems) == 2
    assert fast.counts == every.counts


def test_a_mid_chain_seal_of_the_wrong_form_or_key_is_seen_without_signature_checks(
    make_dossier,
):
    dossier = make_dossier(Status.PROCESSING)
    middle = dossier.events.order_by("seq")[1]
    tamper(f"UPDATE {TABLE} SET signature = 'not base64!' WHERE id = %s", [middle.pk])
    assert "seal: signature does not match" in verify_everything().problems[0]
    tamper(f"UPDATE {TABLE} SET key_id = 'ffffffffffffffff' WHERE id = %s", [middle.pk])
    assert "unknown key ffffffffffffffff" in verify_everything().problems[0]


def test_a_garbled_mid_chain_signature_needs_all_seals_or_the_sample(make_dossier):
    """The documented trade-off: a well-formed but wrong signature on a record whose content
    is intact (nothing in the trail is false) is seen by --all-seals, and by the random
    sample of each run; the chain's newest seal still vouches for the content."""
    dossier = make_dossier(Status.PROCESSING)
    middle = dossier.events.order_by("seq")[1]
    garbled = base64.b64encode(bytes(64)).decode()
    tamper(f"UPDATE {TABLE} SET signature = %s WHERE id = %s", [garbled, middle.pk])
    assert verify_everything(seal_sample=0.0).ok
    (problem,) = verify_everything(all_seals=True).problems
    assert f"event #{middle.pk}" in problem and "signature does not match" in problem
    assert verify_everything(seal_sample=1.0).problems == [problem]
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("verify_audit", "--all-seals", "--no-record")


def test_the_newest_history_row_is_vouched_by_its_event_or_verified(make_dossier):
    """An edited newest history row: its event's fingerprint and its own seal both fail."""
    dossier = make_dossier(Status.RECEIVED)
    table = Dossier.history.model._meta.db_table
    newest = Dossier.history.filter(id=dossier.pk).order_by("-seal_seq").first()
    tamper(
        f"UPDATE {table} SET signature = %s WHERE history_id = %s",
        [base64.b64encode(bytes(64)).decode(), newest.history_id],
        table=table,
    )
    fast, every = verify_everything(seal_sample=0.0), verify_everything(all_seals=True)
    assert fast.problems == every.problems
    assert any(f"history row {newest.history_id} it names was edited" in p for p in fast.problems)


@pytest.mark.postgres
def test_events_of_a_dossier_that_does_not_exist_are_reported(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # foreign keys off, as a replica applies rows
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE dossiers_dossierevent SET dossier_id = %s WHERE dossier_id = %s",
                [dossier.pk + 1000, dossier.pk],
            )
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")
    problems = verify_everything().problems
    assert any("events of a dossier that does not exist" in p for p in problems)


# --- in parallel (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_workers_find_what_one_process_finds(make_dossier, anchor_file, monkeypatch):
    monkeypatch.setattr(bulk_verify, "ROWS_PER_TASK", 1)  # a range per few rows: many tasks
    dossiers = [make_dossier(Status.RECEIVED) for _i in range(6)]
    anchor_now()
    clean = verify_everything(jobs=2)
    assert clean.ok, clean.problems
    assert clean.counts == verify_everything(jobs=1).counts
    assert clean.counts["events"] == sum(d.events.count() for d in dossiers)

    ranges = [task[1:3] for task in bulk_verify.plan(2) if task[0] == "dossiers"]
    assert len(ranges) > 2
    last = dossiers[-1]
    index = next(
        i
        for i, (lo, hi) in enumerate(ranges)
        if (lo is None or lo <= last.pk) and (hi is None or last.pk < hi)
    )
    assert index > 0  # the tampered dossier is not in the first process's first range
    target = last.events.order_by("seq")[1]
    tamper(f"UPDATE {TABLE} SET note = 'sửa lén' WHERE id = %s", [target.pk])

    parallel, single = verify_everything(jobs=2), verify_everything(jobs=1)
    assert parallel.problems == single.problems
    assert parallel.problems[0].startswith(f"dossier {last.code} event #{target.pk}")
    assert parallel.counts == single.counts
    with pytest.raises(CommandError, match=f"dossier {last.code}"):
        call_command("verify_audit", "--jobs", "2", "--no-record")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_workers_read_the_verifications_snapshot(make_dossier, monkeypatch):
    """Every process reads the state of the snapshot exported when the verification began,
    not what was committed while it ran."""
    monkeypatch.setattr(bulk_verify, "ROWS_PER_TASK", 1)
    make_dossier(Status.RECEIVED)
    later = []
    original = bulk_verify.plan

    def plan_then_commit(jobs):
        tasks = original(jobs)
        later.append(make_dossier_elsewhere())  # committed by another session, after the export
        return tasks

    def make_dossier_elsewhere():
        import psycopg

        params = connection.get_connection_params()
        params.pop("context", None)
        params.pop("cursor_factory", None)
        with psycopg.connect(**params, autocommit=True) as other:
            # A forged row (foreign keys off): a problem for any verification that sees it.
            other.execute("SET session_replication_role = replica")
            other.execute(
                "INSERT INTO dossiers_dossierevent (dossier_id, seq, event_type, from_status,"
                " to_status, actor_name, role, created_at, note, data, prev_hash, hash, key_id,"
                " signature, recorded_at) SELECT dossier_id, seq + 100, event_type, from_status,"
                " to_status, actor_name, role, created_at, note, data, prev_hash, hash, key_id,"
                " signature, now() FROM dossiers_dossierevent ORDER BY id LIMIT 1"
            )
        return True

    monkeypatch.setattr(bulk_verify, "plan", plan_then_commit)
    report = verify_everything(jobs=2)
    assert later == [True]
    assert report.ok, report.problems  # the forged row came after the snapshot: not seen
    monkeypatch.setattr(bulk_verify, "plan", original)
    assert not verify_everything(jobs=2).ok  # a new verification sees it


def test_the_seal_form_check_matches_the_full_check_on_good_seals(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    keys = sealing.trusted_keys()
    for event in dossier.events.all():
        assert sealing.seal_form_problem(event.key_id, event.signature, keys) is None
        assert sealing.seal_problem(event.key_id, event.signature, event.hash, keys) is None
