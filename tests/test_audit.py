"""The audit trail is append-only and its per-dossier hash chain exposes any tampering."""

from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from dossiers.audit import verify_dossier
from dossiers.models import Dossier, DossierEvent, FeedEntry, OutgoingEmail
from dossiers.workflow import Status

from .conftest import is_postgres, tamper

TABLE = DossierEvent._meta.db_table


def delete_event(event_id):
    """Remove an event the way a DBA would, taking the rows that reference it along."""
    tamper(
        f"DELETE FROM {OutgoingEmail._meta.db_table} WHERE event_id = %s",
        [event_id],
        table=OutgoingEmail._meta.db_table,
    )
    tamper(
        f"DELETE FROM {FeedEntry._meta.db_table} WHERE event_id = %s",
        [event_id],
        table=FeedEntry._meta.db_table,
    )
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [event_id])


def test_a_handled_dossier_verifies(make_dossier):
    dossier = make_dossier(Status.RETURNED)
    events = list(dossier.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == ""
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert verify_dossier(dossier) is None
    call_command("verify_audit")


def test_edited_event_is_detected(make_dossier, capsys):
    dossier = make_dossier(Status.RESOLVED)
    target = dossier.events.get(event_type="dossier.received")
    tamper(f"UPDATE {TABLE} SET note = %s WHERE id = %s", ["sửa lén", target.pk])
    problem = verify_dossier(Dossier.objects.get(pk=dossier.pk))
    assert problem.event_id == target.pk
    assert "edited" in problem.reason
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit")
    assert f"event #{target.pk}" in str(raised.value)
    assert dossier.code in capsys.readouterr().err


def test_edited_event_data_is_detected(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    target = dossier.events.get(event_type="dossier.received")
    tamper(
        f"UPDATE {TABLE} SET created_at = created_at + INTERVAL '1 hour' WHERE id = %s"
        if is_postgres()
        else f"UPDATE {TABLE} SET created_at = datetime(created_at, '+1 hour') WHERE id = %s",
        [target.pk],
    )
    assert verify_dossier(Dossier.objects.get(pk=dossier.pk)).event_id == target.pk


def test_deleted_event_in_the_middle_is_detected(make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    middle = dossier.events.get(event_type="dossier.received")
    delete_event(middle.pk)
    problem = verify_dossier(Dossier.objects.get(pk=dossier.pk))
    assert problem is not None and "sequence" in problem.reason
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_deleted_newest_event_is_detected(make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    newest = dossier.events.order_by("-seq").first()
    delete_event(newest.pk)
    problem = verify_dossier(Dossier.objects.get(pk=dossier.pk))
    assert problem is not None and "removed" in problem.reason


def test_verify_audit_reports_only_broken_dossiers(make_dossier, capsys):
    intact = make_dossier(Status.RECEIVED)
    broken = make_dossier(Status.RECEIVED)
    tamper(f"UPDATE {TABLE} SET ip = '10.9.9.9' WHERE dossier_id = %s AND seq = 1", [broken.pk])
    with pytest.raises(CommandError):
        call_command("verify_audit", "--all")
    err = capsys.readouterr().err
    assert broken.code in err and (intact.code or "") not in err


def test_the_application_refuses_to_change_events(make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    event = dossier.events.first()
    event.note = "khác"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        DossierEvent.objects.filter(pk=event.pk).update(note="khác")
    with pytest.raises(TypeError):
        DossierEvent.objects.filter(pk=event.pk).delete()
    assert verify_dossier(dossier) is None


@pytest.mark.postgres
def test_database_trigger_refuses_update_and_delete(make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    event = dossier.events.first()
    for sql in (
        f"UPDATE {TABLE} SET note = 'x' WHERE id = %s",
        f"DELETE FROM {TABLE} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert verify_dossier(dossier) is None


def test_staff_view_is_logged_apart_from_the_chain(make_dossier, reception):
    from dossiers import access

    from .conftest import actor

    dossier = make_dossier(Status.SUBMITTED)
    before = (dossier.version, dossier.event_seq, dossier.audit_head)
    access.record_access(actor=actor(reception), dossier=dossier, purpose=access.Purpose.PROCESSING)
    fresh = Dossier.objects.get(pk=dossier.pk)
    viewed = fresh.access_log.get()
    assert viewed.actor == reception and viewed.ip == "203.0.113.7"
    assert (viewed.roles, viewed.agency) == ("reception", dossier.receiving_agency)
    # A read is not a change: open forms stay valid, and the chain does not grow.
    assert (fresh.version, fresh.event_seq, fresh.audit_head) == before
    assert not fresh.events.filter(event_type="dossier.viewed").exists()
    assert verify_dossier(fresh) is None
