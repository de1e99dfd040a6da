"""django-simple-history keeps field-level before/after of every change, with who made it."""

from dossiers.models import Agency, Membership, Procedure
from dossiers.workflow import Status


def test_each_action_writes_a_history_row_with_its_actor(make_dossier, reception, specialist):
    dossier = make_dossier(Status.PROCESSING)
    rows = list(dossier.history.order_by("history_date", "history_id"))
    assert [row.status for row in rows] == ["draft", "submitted", "received", "processing"]
    assert rows[2].history_user == reception and rows[3].history_user == reception
    diff = rows[3].diff_against(rows[2])
    changed = {change.field: (change.old, change.new) for change in diff.changes}
    assert changed["status"] == ("received", "processing")
    assert changed["assignee"] == (None, specialist.pk)


def test_reference_data_changes_are_recorded(procedure, commune, reception):
    procedure.time_limit_value = 5
    procedure.save()
    latest = procedure.history.first()
    assert latest.time_limit_value == 5 and latest.prev_record.time_limit_value == 3
    commune.name = "UBND xã Vĩnh Bảo (mới)"
    commune.save()
    assert Agency.history.filter(id=commune.pk).count() == 2
    assert Membership.history.filter(user=reception).count() == 1
    assert Procedure.history.filter(id=procedure.pk, history_type="~").exists()


def test_citizen_profile_changes_are_recorded(citizen):
    profile = citizen.citizen_profile
    profile.phone = "0987000111"
    profile.save()
    assert [h.phone for h in profile.history.order_by("history_date")] == [
        "0912345678",
        "0987000111",
    ]


def test_attachments_have_history(make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    attachment = dossier.attachments.first()
    assert attachment.history.count() == 1
    assert len(attachment.sha256) == 64 and attachment.content_type == "application/pdf"


def test_an_action_saves_only_the_fields_it_changes(make_dossier, reception):
    """The action's UPDATE names only the fields it changed (update_fields), not every column."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dossiers import services
    from dossiers.models import Dossier

    from .conftest import actor

    dossier = make_dossier(Status.SUBMITTED)
    with CaptureQueriesContext(connection) as queries:
        services.dossier_receive(actor=actor(reception), dossier=dossier)
    updates = [q["sql"] for q in queries if re.match(r'UPDATE "dossiers_dossier" SET', q["sql"])]
    action_update = updates[0]
    columns = set(re.findall(r'"(\w+)" = ', action_update.split(" WHERE ")[0]))
    assert columns == {
        "status",
        "version",
        "received_at",
        "clock_started_at",
        "due_at",
        "original_due_at",
        "search_text",  # derived on every save
    }
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.status == Status.RECEIVED and fresh.history.first().status == Status.RECEIVED
