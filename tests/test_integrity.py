"""History rows are part of the chain; history tables are append-only on PostgreSQL; the daily
digest exposes even a rewrite that recomputed every hash."""

import datetime as dt

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from dossiers import clock
from dossiers.audit import event_hash, record_digest, verify_digests, verify_dossier
from dossiers.models import AuditDigest, Dossier, DossierEvent

from .conftest import tamper, vn
from .worker import run_jobs

HISTORY = Dossier.history.model._meta.db_table


def test_events_name_their_history_rows(make_dossier):
    dossier = make_dossier("processing")
    received = dossier.events.get(event_type="dossier.received")
    row = Dossier.history.get(history_id=received.data["history"]["id"])
    assert row.status == "received"
    assert verify_dossier(dossier) is None


def test_a_deleted_history_row_is_reported(make_dossier):
    dossier = make_dossier("processing")
    reference = dossier.events.get(event_type="dossier.received").data["history"]
    tamper(f"DELETE FROM {HISTORY} WHERE history_id = %s", [reference["id"]], table=HISTORY)
    problem = verify_dossier(Dossier.objects.get(pk=dossier.pk))
    assert problem is not None and "was removed" in problem.reason
    with pytest.raises(CommandError, match="was removed"):
        call_command("verify_audit")


def test_an_edited_history_row_is_reported(make_dossier, client, supervisor):
    dossier = make_dossier("processing")
    reference = dossier.events.get(event_type="dossier.assigned").data["history"]
    tamper(
        f"UPDATE {HISTORY} SET status = 'refused' WHERE history_id = %s",
        [reference["id"]],
        table=HISTORY,
    )
    assert "was edited" in verify_dossier(Dossier.objects.get(pk=dossier.pk)).reason
    client.force_login(supervisor)
    assert (
        "Chuỗi băm KHÔNG hợp lệ"
        in client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    )


def test_every_history_table_is_protected_by_the_migration():
    from importlib import import_module

    listed = {
        table
        for migration in (
            "0010_history_append_only",
            "0014_feed_append_only",
            "0032_store_documents",
        )
        for table in import_module(f"dossiers.migrations.{migration}").HISTORY_TABLES
    }
    historical = {
        m._meta.db_table for m in apps.get_models() if m.__name__.startswith("Historical")
    }
    assert listed == historical


@pytest.mark.postgres
def test_postgres_refuses_changes_to_history_rows(make_dossier):
    dossier = make_dossier("received")
    row = Dossier.history.filter(id=dossier.pk).first()
    for sql in (
        f"UPDATE {HISTORY} SET status = 'x' WHERE history_id = %s",
        f"DELETE FROM {HISTORY} WHERE history_id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.history_id])


def _rewrite_consistently(dossier, seq, note):
    """What someone with database rights and the source code could do: change an event and
    recompute its hash, every later hash and the dossier's head, so the chain verifies."""
    events = list(dossier.events.order_by("seq"))
    prev = events[seq - 2].hash if seq > 1 else ""
    for event in events[seq - 1 :]:
        if event.seq == seq:
            event.note = note
        event.prev_hash = prev
        event.hash = event_hash(event)
        prev = event.hash
        tamper(
            "UPDATE dossiers_dossierevent SET note = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.note, event.prev_hash, event.hash, event.pk],
            table="dossiers_dossierevent",
        )
    Dossier.objects.filter(pk=dossier.pk).update(audit_head=prev)


def test_the_daily_digest_exposes_a_recomputed_rewrite(make_dossier, client, supervisor):
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30), vn(2026, 3, 2, 9)]
    dossier = make_dossier("received", times=times)
    stored = record_digest(dt.date(2026, 3, 2))
    assert record_digest(dt.date(2026, 3, 2)) == stored  # written once, never overwritten
    assert list(verify_digests()) == []
    call_command("verify_audit")

    _rewrite_consistently(Dossier.objects.get(pk=dossier.pk), 3, "ghi chú viết lại")
    # The hashes all agree again, but the rewriter could not re-sign the events.
    assert "seal" in verify_dossier(Dossier.objects.get(pk=dossier.pk)).reason
    (problem,) = verify_digests()
    assert "02/03/2026" in problem
    with pytest.raises(CommandError, match="seal: signature does not match"):
        call_command("verify_audit")
    client.force_login(supervisor)
    client.post("/supervision/integrity/verify/")
    run_jobs()
    page = client.get("/supervision/integrity/").content.decode()
    assert "Phát hiện sai lệch" in page and "digest of 02/03/2026" in page


def test_later_events_do_not_change_a_past_digest(make_dossier, reception):
    from dossiers import services

    from .conftest import actor

    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30), vn(2026, 3, 2, 9)]
    dossier = make_dossier("received", times=times)
    record_digest(dt.date(2026, 3, 2))
    with clock.frozen(vn(2026, 3, 3, 9)):
        services.dossier_add_note(actor=actor(reception), dossier=dossier, text="ngày hôm sau")
    assert list(verify_digests()) == []
    assert DossierEvent.objects.filter(dossier=dossier).count() == 4


def test_audit_digest_command(db, capsys):
    call_command("audit_digest", "--day", "2026-03-02")
    assert AuditDigest.objects.get(day=dt.date(2026, 3, 2)).dossiers == 0
    with pytest.raises(CommandError):
        call_command("audit_digest", "--day", "2999-01-01")
    with pytest.raises(CommandError):
        call_command("audit_digest", "--day", "2 March")
