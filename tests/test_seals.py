"""Tamper evidence with no gap (issue 11): each attack a database administrator could make,
and the verification that now sees it. Seals (sealing.py), the state bound to the trail and
stored files (integrity.py), anchors (anchors.py)."""

import base64
import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from citizens.models import CitizenProfile
from dossiers import anchors, integrity, sealing
from dossiers.audit import event_hash, verify_dossier
from dossiers.bulk_verify import verify_all, verify_history
from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Attachment, Dossier, DossierEvent, Slip
from dossiers.services import attachment_add, dossier_add_note
from dossiers.workflow import Status

from .conftest import actor, tamper
from .worker import run_jobs

ROOT = Path(__file__).resolve().parent.parent
HISTORICAL_DOSSIER = Dossier.history.model._meta.db_table
HISTORICAL_ATTACHMENT = Attachment.history.model._meta.db_table
HISTORICAL_PROFILE = CitizenProfile.history.model._meta.db_table


@pytest.fixture
def anchor_file(settings, tmp_path):
    settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS = 0
    settings.ONESTOP_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    return Path(settings.ONESTOP_AUDIT_ANCHOR_FILE)


def problems(files=False):
    found = [str(p) for p in verify_all()]
    found += list(verify_history())
    found += list(integrity.verify_stored_hashes())
    found += list(anchors.verify_anchors())
    if files:
        found += list(integrity.verify_files())
    return found


def anchor_now():
    # A moment later than every record stored so far (the database clock may run ahead).
    anchor = anchors.make_anchor(timezone.now() + dt.timedelta(seconds=5))
    anchors.write_outside()  # what the commit does (the test's transaction never commits)
    return anchor


def test_a_clean_trail_verifies(make_dossier, anchor_file):
    make_dossier(Status.RESOLVED)
    anchor_now()
    assert problems(files=True) == []
    call_command("verify_audit", "--files")


def test_every_record_carries_a_seal(make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    key_id = sealing.current_key_id()
    assert {e.key_id for e in dossier.events.all()} == {key_id}
    rows = Dossier.history.filter(id=dossier.pk)
    assert [r.seal_seq for r in rows.order_by("seal_seq")] == list(range(1, rows.count() + 1))
    assert all(r.key_id == key_id and r.signature for r in rows)


def test_a_rewritten_and_rehashed_event_is_caught_by_its_seal(make_dossier):
    """Finding: rewriting an event made after the last digest and recomputing its hash."""
    dossier = make_dossier(Status.RECEIVED)
    event = dossier.events.order_by("-seq").first()
    event.note = "viết lại"
    event.hash = event_hash(event)
    tamper(
        "UPDATE dossiers_dossierevent SET note = %s, hash = %s WHERE id = %s",
        [event.note, event.hash, event.pk],
    )
    Dossier.objects.filter(pk=dossier.pk).update(audit_head=event.hash)
    assert "seal: signature does not match" in verify_dossier(dossier).reason


def test_resigning_with_a_key_of_ones_own_is_not_trusted(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    event = dossier.events.order_by("-seq").first()
    intruder = Ed25519PrivateKey.generate()
    signature = base64.b64encode(intruder.sign(event.hash.encode())).decode()
    kid = sealing.key_id_of(intruder.public_key())
    tamper(
        "UPDATE dossiers_dossierevent SET key_id = %s, signature = %s WHERE id = %s",
        [kid, signature, event.pk],
    )
    assert f"unknown key {kid}" in verify_dossier(dossier).reason


def test_deleting_the_newest_event_and_its_head_is_caught_by_the_next_anchor(
    make_dossier, anchor_file, reception
):
    """Finding: delete a dossier's newest event and set event_seq/audit_head back."""
    dossier = make_dossier(Status.RECEIVED)
    dossier_add_note(actor=actor(reception), dossier=dossier, text="ghi chú cuối")
    anchor_now()
    newest, previous = dossier.events.order_by("-seq")[:2]
    assert newest.event_type == "dossier.note_added"
    tamper("DELETE FROM dossiers_dossierevent WHERE id = %s", [newest.pk])
    Dossier.objects.filter(pk=dossier.pk).update(event_seq=previous.seq, audit_head=previous.hash)
    assert verify_dossier(Dossier.objects.get(pk=dossier.pk)) is None  # the chain alone is fooled
    (problem,) = list(anchors.verify_anchors())
    assert problem.startswith("events:") and "1 anchored" not in problem
    assert "removed, added or rewritten" in problem
    with pytest.raises(CommandError, match="do not match anchor"):
        call_command("verify_audit")


def test_a_forged_history_row_is_caught(make_dossier):
    """Finding: inserting a forged row into the dossier history table."""
    dossier = make_dossier(Status.PROCESSING)
    newest = Dossier.history.filter(id=dossier.pk).order_by("-history_id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {HISTORICAL_DOSSIER} WHERE history_id = %s", [newest.history_id]
        )
        columns = [c[0] for c in cursor.description]
        values = dict(zip(columns, cursor.fetchone(), strict=True))
    values.pop("history_id")
    values.update(status="resolved", seal_seq=newest.seal_seq + 1, seal_prev=newest.seal_hash)
    placeholders = ", ".join(["%s"] * len(values))
    tamper(
        f"INSERT INTO {HISTORICAL_DOSSIER} ({', '.join(values)}) VALUES ({placeholders})",
        list(values.values()),
        table=HISTORICAL_DOSSIER,
    )
    found = list(verify_history())
    assert any("content does not match its hash" in p for p in found), found


def test_an_edited_attachment_history_row_is_caught(make_dossier):
    """Finding: editing the attachment history table."""
    dossier = make_dossier(Status.SUBMITTED)
    row = Attachment.history.filter(dossier_id=dossier.pk).first()
    tamper(
        f"UPDATE {HISTORICAL_ATTACHMENT} SET original_name = 'khác.pdf' WHERE history_id = %s",
        [row.history_id],
        table=HISTORICAL_ATTACHMENT,
    )
    found = list(verify_history())
    assert any("edited" in p for p in found), found


def test_an_emptied_attachment_history_is_caught(make_dossier, anchor_file):
    """Finding: TRUNCATE (here DELETE of every row, as TRUNCATE is refused on PostgreSQL)."""
    dossier = make_dossier(Status.SUBMITTED)
    anchor_now()
    tamper(f"DELETE FROM {HISTORICAL_ATTACHMENT}", table=HISTORICAL_ATTACHMENT)
    found = problems()
    assert any("the row has no history" in p for p in found), found
    assert any(p.startswith("history:dossiers.historicalattachment") for p in found), found
    assert dossier.attachments.exists()


def test_an_edited_profile_history_is_caught(citizen):
    """Finding: editing a citizen profile's history."""
    profile = citizen.citizen_profile
    profile.phone = "0912345678"
    profile.save()
    row = CitizenProfile.history.filter(id=profile.pk).order_by("-history_id").first()
    tamper(
        f"UPDATE {HISTORICAL_PROFILE} SET full_name = 'Người Khác' WHERE history_id = %s",
        [row.history_id],
        table=HISTORICAL_PROFILE,
    )
    found = list(verify_history())
    assert any("hồ sơ công dân" in p or "profile" in p for p in found), found


def test_the_current_row_is_bound_to_the_trail(make_dossier):
    """Finding: UPDATE dossiers_dossier SET status='resolved', outcome='granted'."""
    dossier = make_dossier(Status.PROCESSING)
    assert list(verify_history()) == []
    tamper(
        "UPDATE dossiers_dossier SET status = 'resolved', outcome = 'granted' WHERE id = %s",
        [dossier.pk],
        table="dossiers_dossier",
    )
    (problem,) = verify_history()
    assert f"#{dossier.pk}" in problem and "outcome, status" in problem


@pytest.mark.parametrize("column", ["assignee_id", "due_at", "applicant"])
def test_each_bound_field_is_checked(make_dossier, column, specialist2):
    dossier = make_dossier(Status.PROCESSING)
    values = {
        "assignee_id": specialist2.pk,
        "due_at": timezone.now() + dt.timedelta(days=90),
        "applicant": json.dumps({"full_name": "Người Khác", "id_number": "001099000001"}),
    }
    tamper(
        f"UPDATE dossiers_dossier SET {column} = %s WHERE id = %s",
        [values[column], dossier.pk],
        table="dossiers_dossier",
    )
    (problem,) = verify_history()
    assert column in problem


def test_a_changed_attachment_hash_and_a_swapped_file_are_caught(make_dossier):
    """Findings: changing an attachment's stored sha256; replacing the stored file on disk."""
    dossier = make_dossier(Status.SUBMITTED)
    attachment = dossier.attachments.exclude(file="").first()
    tamper(
        "UPDATE dossiers_attachment SET sha256 = %s WHERE id = %s",
        ["0" * 64, attachment.pk],
        table="dossiers_attachment",
    )
    (problem,) = verify_history()
    assert "sha256" in problem
    tamper(
        "UPDATE dossiers_attachment SET sha256 = %s WHERE id = %s",
        [attachment.sha256, attachment.pk],
        table="dossiers_attachment",
    )
    assert list(integrity.verify_files()) == []
    with default_storage.open(attachment.file.name, "wb") as handle:
        handle.write(b"%PDF-1.4 another document")
    (problem,) = integrity.verify_files()
    assert "replaced" in problem and f"document #{attachment.pk}" in problem
    with pytest.raises(CommandError, match="replaced"):
        call_command("verify_audit", "--files")


def test_a_slip_hash_is_the_one_its_event_sealed(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    run_jobs()
    slip = Slip.objects.filter(dossier=dossier).first()
    assert slip is not None
    assert list(integrity.verify_stored_hashes()) == []
    assert list(integrity.verify_files()) == []
    Slip.objects.filter(pk=slip.pk).update(sha256="1" * 64)
    (problem,) = integrity.verify_stored_hashes()
    assert f"slip #{slip.pk}" in problem
    default_storage.delete(slip.file.name)
    default_storage.save(slip.file.name, ContentFile(b"%PDF-1.4 forged slip"))
    assert any("replaced" in p for p in integrity.verify_files())


@pytest.mark.postgres
def test_switching_triggers_off_does_not_hide_tampering(make_dossier):
    """Finding: any of the above after SET session_replication_role = replica."""
    dossier = make_dossier(Status.PROCESSING)
    event = dossier.events.order_by("-seq").first()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE dossiers_dossierevent SET note = 'đổi' WHERE id = %s", [event.pk]
            )
            cursor.execute(
                "UPDATE dossiers_dossier SET status = 'resolved' WHERE id = %s", [dossier.pk]
            )
        finally:
            cursor.execute("SET session_replication_role = origin")
    assert "edited" in verify_dossier(dossier).reason
    assert any("status" in p for p in verify_history())


# --- anchors -------------------------------------------------------------------------------------


def test_anchors_are_written_outside_the_database_and_checked_against_it(make_dossier, anchor_file):
    make_dossier(Status.RECEIVED)
    first = anchor_now()
    second = anchor_now()  # nothing stored since: an anchor of an empty window, chained on
    assert second.seq == 2 and second.prev_hash == first.hash
    assert all(source["count"] == 0 for source in second.content.values())
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert lines[0]["seq"] == 1 and lines[0]["hash"] == first.hash
    assert lines[0]["content"]["events"]["count"] == DossierEvent.objects.count()
    assert list(anchors.verify_anchors()) == []
    # Removing or rewriting the database's copy of an anchor is seen against the file.
    tamper("DELETE FROM dossiers_auditanchor", table="dossiers_auditanchor")
    found = list(anchors.verify_anchors())
    assert "anchor 1 is missing from the database" in found


def test_a_forged_anchor_file_line_is_refused(make_dossier, anchor_file):
    make_dossier(Status.RECEIVED)
    anchor_now()
    record = json.loads(anchor_file.read_text())
    record["content"]["events"]["count"] += 1
    anchor_file.write_text(json.dumps(record) + "\n")
    found = list(anchors.verify_anchors())
    assert "anchor 1: content does not match its hash" in found


def test_the_worker_anchors_on_schedule(settings, anchor_file, make_dossier):
    settings.ONESTOP_AUDIT_ANCHOR_MINUTES = 5
    make_dossier(Status.SUBMITTED)
    now = timezone.now() + dt.timedelta(seconds=5)
    assert anchors.anchor_if_due(now).seq == 1
    assert anchors.anchor_if_due(now + dt.timedelta(minutes=4)) is None
    assert anchors.anchor_if_due(now + dt.timedelta(minutes=5)).seq == 2
    call_command("audit_anchor")
    anchors.write_outside()  # what each commit does
    assert list(anchors.verify_anchors()) == []


# --- keys ----------------------------------------------------------------------------------------


def _pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_rotation_keeps_old_records_verifiable(settings, tmp_path, make_dossier):
    make_dossier(Status.RECEIVED)
    old_public = _pem(sealing.signing_key())
    new_key_file = tmp_path / "new.pem"
    call_command("audit_keys", "generate", str(new_key_file))
    assert stat.S_IMODE(os.stat(new_key_file).st_mode) == 0o600
    settings.ONESTOP_AUDIT_SIGNING_KEY = ""
    settings.ONESTOP_AUDIT_SIGNING_KEY_FILE = str(new_key_file)
    sealing.reset_key_cache()
    try:
        make_dossier(Status.RECEIVED)
        # The old key's public half is not in the keyring yet: its records are not trusted.
        assert any("unknown key" in str(p) for p in verify_all())
        keyring = tmp_path / "keyring"
        keyring.mkdir()
        (keyring / "old.pem").write_bytes(old_public)
        settings.ONESTOP_AUDIT_PUBLIC_KEYS_DIR = str(keyring)
        sealing.reset_key_cache()
        assert list(verify_all()) == [] and list(verify_history()) == []
        assert len(set(DossierEvent.objects.values_list("key_id", flat=True))) == 2
        assert sealing.public_keys_pem().count("BEGIN PUBLIC KEY") == 2
    finally:
        sealing.reset_key_cache()


def test_a_development_server_makes_its_key_on_first_start(tmp_path):
    path = tmp_path / "var" / "dev.pem"
    key = sealing._signing_key("", str(path), True)
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sealing._signing_key("", str(path), True) is key
    sealing._signing_key.cache_clear()
    reloaded = sealing._signing_key("", str(path), True)
    assert _pem(reloaded) == _pem(key)
    with pytest.raises(Exception, match="does not exist"):
        sealing._signing_key("", str(tmp_path / "absent.pem"), False)


def test_production_refuses_to_start_without_a_signing_key():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ONESTOP_AUDIT_SIGNING_KEY") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="example.gov.vn")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "audit signing key must be configured" in result.stderr


def test_supervisors_download_the_public_keys(client, supervisor, citizen):
    client.force_login(citizen)
    assert client.get("/supervision/integrity/keys.pem").status_code in (403, 404)
    client.force_login(supervisor)
    response = client.get("/supervision/integrity/keys.pem")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-pem-file")
    assert sealing.current_key_id() in response.content.decode()
    public = serialization.load_pem_public_key(response.content.split(b"\n", 1)[1], backend=None)
    assert sealing.key_id_of(public) == sealing.current_key_id()


def test_migrating_an_existing_database_seals_what_it_holds(make_dossier):
    """The migration that introduced seals signs the rows written before it (here: rows whose
    seals were wiped), so an upgraded database verifies."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("dossiers.migrations.0018_seal_existing_records")
    dossier = make_dossier(Status.PROCESSING)
    tamper("UPDATE dossiers_dossierevent SET key_id = '', signature = ''")
    tamper(
        f"UPDATE {HISTORICAL_DOSSIER} SET key_id = '', signature = '', seal_hash = ''",
        table=HISTORICAL_DOSSIER,
    )
    assert "not signed" in verify_dossier(dossier).reason

    class Editor:
        connection = connection

        @staticmethod
        def execute(sql, params=None):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    migration.forwards(apps, Editor)
    assert verify_dossier(dossier) is None
    assert list(verify_history()) == []


def test_attachment_added_later_keeps_the_trail_whole(make_dossier, citizen):
    dossier = make_dossier(Status.DRAFT)
    document = dossier.procedure.documents.first()
    attachment_add(
        actor=actor(citizen),
        dossier=dossier,
        upload=ContentFile(MINIMAL_PDF, name="giay.pdf"),
        document=document,
    )
    assert list(verify_history()) == []


def test_the_anchor_reaches_the_file_when_its_transaction_commits(
    make_dossier, anchor_file, django_capture_on_commit_callbacks
):
    make_dossier(Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        anchors.make_anchor(timezone.now() + dt.timedelta(seconds=5))
    assert not anchor_file.exists()  # nothing outside before the database has committed
    for callback in callbacks:
        callback()
    assert json.loads(anchor_file.read_text())["seq"] == 1
    anchors.write_outside()  # again: nothing is written twice
    assert len(anchor_file.read_text().splitlines()) == 1


def test_a_torn_line_in_the_anchor_file_is_reported_not_fatal(make_dossier, anchor_file):
    make_dossier(Status.SUBMITTED)
    anchor_now()
    with open(anchor_file, "a") as handle:
        handle.write('{"seq": 2, "crea')
    assert "anchor file line 2 is not a complete anchor (torn?)" in anchors.verify_anchors()
    make_dossier(Status.SUBMITTED)
    anchor_now()  # the next anchor still finds its place after the torn line
    assert any(a["seq"] == 2 for a in anchors._outside_records([]))


@pytest.mark.parametrize("moved_to", ["2099-01-01 00:00:00+00", "1999-01-01 00:00:00+00"])
def test_a_record_moved_out_of_the_anchors_reach_is_caught(make_dossier, anchor_file, moved_to):
    """Review finding: recorded_at is not sealed; moving a record beyond every window would
    let its later removal go unseen."""
    dossier = make_dossier(Status.RECEIVED)
    newest = dossier.events.order_by("-seq").first()
    tamper("UPDATE dossiers_dossierevent SET recorded_at = %s WHERE id = %s", [moved_to, newest.pk])
    anchor_now()
    assert any(
        p.startswith("events: 1 records carry a storage time no anchor can cover")
        for p in anchors.verify_anchors()
    )


def test_anchoring_that_stopped_is_reported(make_dossier, anchor_file):
    """Review finding: a session holding the anchor lock, or a failing insert, stops anchoring;
    verification says so."""
    make_dossier(Status.SUBMITTED)
    anchor_now()
    assert list(anchors.verify_anchors()) == []
    later = timezone.now() + dt.timedelta(minutes=30)
    (problem,) = anchors.verify_anchors(now=later)
    assert "anchoring has stopped" in problem


def test_pausing_and_resuming_a_subscription_keeps_its_row_bound(admin_user):
    """Review finding: pause and resume changed tracked fields with update(), leaving the
    current row different from its last history row (a false alarm)."""
    from dossiers.integrations import webhooks
    from dossiers.models import WebhookSubscription

    subscription = WebhookSubscription.objects.create(
        owner=admin_user,
        url="https://hook.example.gov.vn/onestop",
        secret="whsec_" + "A" * 32,
        created_at=timezone.now(),
    )
    webhooks.pause(subscription, "bảo trì")
    assert list(verify_history()) == []
    webhooks.resume(subscription)
    assert list(verify_history()) == []
    states = WebhookSubscription.history.filter(id=subscription.pk).values_list("state", flat=True)
    assert set(states) == {"active", "paused"}


def test_check_refuses_a_key_file_that_is_missing_or_not_a_key(settings, tmp_path, db):
    from django.core.management import call_command as run
    from django.core.management.base import SystemCheckError

    settings.ONESTOP_AUDIT_SIGNING_KEY = ""
    settings.DEBUG = False
    for path in (tmp_path / "absent.pem", tmp_path / "garbage.pem"):
        if path.name == "garbage.pem":
            path.write_text("not a key")
        settings.ONESTOP_AUDIT_SIGNING_KEY_FILE = str(path)
        sealing.reset_key_cache()
        try:
            with pytest.raises(SystemCheckError, match=r"onestop\.E001"):
                run("check")
        finally:
            sealing.reset_key_cache()


def test_a_key_made_meanwhile_by_another_process_is_used(tmp_path, monkeypatch):
    """`make run` starts the server and the worker together: both may find no key file, and
    the second to write it must use the first one's key, not fail."""
    path = tmp_path / "dev.pem"
    real = sealing.generate_key_file
    made_by_the_other = []

    def racing(target):
        made_by_the_other.append(real(target))  # the other process wins the race
        return real(target)  # ours finds the file taken (O_EXCL)

    monkeypatch.setattr(sealing, "generate_key_file", racing)
    sealing._signing_key.cache_clear()
    try:
        key = sealing._signing_key("", str(path), True)
        assert _pem(key) == _pem(made_by_the_other[0])
    finally:
        sealing._signing_key.cache_clear()


def test_a_column_added_after_rows_were_sealed_leaves_their_seals_valid(commune, monkeypatch):
    """Rows sealed before a migration added a column never had it: while it is empty it is left
    out of the hash (sealing.ADDED_LATER); once filled it is sealed like any other column."""
    from dossiers.models import Agency

    agency = commune
    model = Agency.history.model
    row = model.objects.filter(id=agency.pk).order_by("-history_id").first()
    assert row.place_name == ""

    def hash_of(values):
        return sealing.history_values_hash(model, lambda name: values.get(name, getattr(row, name)))

    assert hash_of({}) == row.seal_hash
    # The same row as the table was before the columns existed.
    later = sealing.ADDED_LATER[model._meta.label_lower]
    before = [f for f in sealing.sealed_fields(model) if f.attname not in later]
    monkeypatch.setitem(sealing._SEALED_FIELDS, model, before)
    assert hash_of({}) == row.seal_hash
    monkeypatch.undo()
    assert hash_of({"place_name": "Vĩnh Bảo"}) != row.seal_hash
    # And a filled value is part of what the seal covers: editing it is caught.
    agency.place_name = "Vĩnh Bảo"
    agency.save()
    assert list(verify_history()) == []
    table = model._meta.db_table
    tamper(f"UPDATE {table} SET place_name = 'Tiên Lãng' WHERE id = %s", [agency.pk], table=table)
    assert any("edited" in problem for problem in verify_history())


@pytest.mark.django_db
def test_an_unused_boolean_or_list_added_later_is_left_out_but_a_zero_is_sealed(
    procedure, monkeypatch
):
    """A boolean column added later holds False until it is used, a JSON one [] : both are left
    out like an empty text. A 0 is a value, not "unused" (0 == False in Python)."""
    model = procedure.history.model
    row = model.objects.filter(id=procedure.pk).order_by("-history_id").first()
    assert row.fee_due_later is False and row.channels == []
    label = model._meta.label_lower
    monkeypatch.setitem(
        sealing.ADDED_LATER, label, frozenset({"fee_due_later", "channels", "time_limit_value"})
    )
    without = [
        f for f in sealing.sealed_fields(model) if f.attname not in {"fee_due_later", "channels"}
    ]

    def hash_of(values):
        return sealing.history_values_hash(model, lambda name: values.get(name, getattr(row, name)))

    with_columns = hash_of({})
    monkeypatch.setitem(sealing._SEALED_FIELDS, model, without)
    assert hash_of({}) == with_columns
    monkeypatch.delitem(sealing._SEALED_FIELDS, model)
    assert hash_of({"fee_due_later": True}) != with_columns
    assert hash_of({"time_limit_value": 0}) != hash_of({"time_limit_value": None})
