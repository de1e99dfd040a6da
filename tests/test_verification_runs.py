"""One verification for the command and the worker (verification.verify_everything); the
integrity page shows stored runs and asks the worker for a new one, never recomputing itself."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dossiers import verification
from dossiers.audit import record_digest
from dossiers.models import AuditDigest, DossierEvent, VerificationRun
from dossiers.sealing import sealed_history_models
from dossiers.verification import request_run, run_verification, verify_everything
from dossiers.workflow import Status

from .conftest import tamper, vn
from .worker import ready_jobs, run_jobs

TABLE = DossierEvent._meta.db_table
PAGE = "/supervision/integrity/"
VERIFY = "/supervision/integrity/verify/"


def edit_event(dossier, note="sửa lén"):
    target = dossier.events.order_by("seq").first()
    tamper(f"UPDATE {TABLE} SET note = %s WHERE id = %s", [note, target.pk])
    return target


# --- verify_everything ---------------------------------------------------------------------------


def test_a_sound_trail_verifies_and_is_counted(make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    record_digest(dossier.events.first().created_at.date())
    progress = []
    report = verify_everything(progress=progress.append)
    assert report.ok and report.problems == []
    assert report.counts == {
        "dossiers": 1,
        "events": dossier.events.count(),
        "digests": 1,
        "access_log_entries": 0,
        "history_rows": sum(m.objects.count() for m in sealed_history_models()),
        "anchors": 0,
    }
    assert progress == [
        "check_chains",
        "check_digests",
        "check_access_log",
        "check_history",
        "check_stored_hashes",
        "check_anchors",
        "check_files",
    ]
    assert report.started_at <= report.finished_at


def test_every_broken_chain_or_only_the_first(make_dossier):
    first, second = make_dossier(Status.RECEIVED), make_dossier(Status.RECEIVED)
    edit_event(first)
    edit_event(second)
    everything = verify_everything()
    assert not everything.ok
    assert [first.code in p or second.code in p for p in everything.problems] == [True, True]
    (only,) = verify_everything(report_all=False).problems
    assert first.code in only


def test_more_checks_plug_into_the_list_and_get_the_files_flag(db, monkeypatch):
    seen = []

    def check_files(v):
        seen.append(v.files)
        v.count("files", 3)
        if v.files:
            v.found("file 7 does not match its hash")

    monkeypatch.setattr(verification, "CHECKS", [*verification.CHECKS, check_files])
    assert verify_everything().ok
    report = verify_everything(files=True)
    assert report.problems == ["file 7 does not match its hash"]
    assert report.counts["files"] == 3 and seen == [False, True]
    with pytest.raises(CommandError, match="file 7"):
        call_command("verify_audit", "--files")


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_as_before_and_records_a_run(make_dossier, capsys):
    dossier = make_dossier(Status.RECEIVED)
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert f"OK: 1 dossiers, {dossier.events.count()} events, 0 access log entries" in out
    run = VerificationRun.objects.get()
    assert (run.status, run.via, run.requested_by, run.active) == ("ok", "command", None, None)
    assert run.counts["dossiers"] == 1

    edit_event(dossier)
    with pytest.raises(CommandError, match="first broken event: dossier"):
        call_command("verify_audit")
    failed = VerificationRun.objects.order_by("-id").first()
    assert failed.status == "failed" and dossier.code in failed.problems[0]

    with pytest.raises(CommandError):
        call_command("verify_audit", "--no-record")
    assert VerificationRun.objects.count() == 2


# --- the page and the job -----------------------------------------------------------------------


def test_the_page_never_recomputes_and_its_queries_do_not_grow(
    client, supervisor, make_dossier, monkeypatch, django_assert_max_num_queries
):
    def forbidden(*args, **kwargs):
        raise AssertionError("the page recomputed the trail")

    make_dossier(Status.RECEIVED)
    AuditDigest.objects.create(
        day=dt.date(2026, 3, 1), digest="a" * 64, dossiers=1, created_at=timezone.now()
    )
    request_run(supervisor)
    run_jobs()
    client.force_login(supervisor)
    with django_assert_max_num_queries(12) as few:
        assert client.get(PAGE).status_code == 200

    for _i in range(5):
        make_dossier(Status.RECEIVED)
    for day in range(2, 40):
        AuditDigest.objects.create(
            day=dt.date(2026, 1, 1) + dt.timedelta(days=day),
            digest="b" * 64,
            dossiers=1,
            created_at=timezone.now(),
        )
    for _i in range(11):
        request_run(supervisor)
        run_jobs()
    monkeypatch.setattr("dossiers.bulk_verify.verify_all", forbidden)
    for name in ("heads_digest", "verify_digests", "verify_dossier"):
        monkeypatch.setattr(f"dossiers.audit.{name}", forbidden)
    monkeypatch.setattr(verification, "verify_everything", forbidden)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(PAGE)
    assert response.status_code == 200
    assert response.context["runs"][0].requested_by == supervisor
    assert len(response.context["digests"]) == 31


def test_post_queues_one_run_and_the_job_stores_ok(client, supervisor, make_dossier):
    make_dossier(Status.PROCESSING)
    run_jobs()  # the dossier's own e-mails and slips
    client.force_login(supervisor)
    response = client.post(VERIFY, follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    run = VerificationRun.objects.get()
    assert (run.status, run.requested_by, run.via, run.active) == (
        "queued",
        supervisor,
        "page",
        True,
    )
    page = response.content.decode()
    assert f"Lần kiểm tra #{run.pk}: Đang chờ" in page
    assert "Kiểm tra ngay" not in page  # no second button while one waits

    client.post(VERIFY)  # pressed again meanwhile
    assert VerificationRun.objects.count() == 1
    assert len(ready_jobs(run_verification)) == 1

    assert run_jobs() == 1
    run.refresh_from_db()
    assert (run.status, run.problems, run.active) == ("ok", [], None)
    assert run.counts["dossiers"] == 1 and run.started_at <= run.finished_at
    page = client.get(PAGE).content.decode()
    assert "✔ Toàn vẹn" in page and "Kiểm tra ngay" in page


def test_after_tampering_the_run_stores_failed_with_the_problem(client, supervisor, make_dossier):
    dossier = make_dossier(Status.PROCESSING)
    target = edit_event(dossier)
    client.force_login(supervisor)
    client.post(VERIFY)
    run_jobs()
    run = VerificationRun.objects.get()
    assert run.status == "failed" and run.problem_count == 1
    (problem,) = run.problems
    assert f"dossier {dossier.code} event #{target.pk}" in problem and "edited" in problem
    page = client.get(PAGE).content.decode()
    assert "Phát hiện sai lệch" in page and f"event #{target.pk}" in page


def test_the_daily_digest_rewrite_shows_in_the_run(client, supervisor, make_dossier):
    make_dossier(Status.RECEIVED, times=[vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30)])
    record_digest(dt.date(2026, 3, 2))
    AuditDigest.objects.filter(day=dt.date(2026, 3, 2)).update(digest="0" * 64)
    client.force_login(supervisor)
    client.post(VERIFY)
    run_jobs()
    (problem,) = VerificationRun.objects.get().problems
    assert "digest of 02/03/2026" in problem


def test_only_supervisors_start_a_run(client, reception, citizen, db):
    assert client.post(VERIFY).status_code == 302  # to the login page
    for user in (reception, citizen):
        client.force_login(user)
        assert client.post(VERIFY).status_code == 403
        assert client.get(PAGE).status_code == 403
    assert not VerificationRun.objects.exists()
    assert ready_jobs(run_verification) == []


def test_starting_is_a_post(client, supervisor):
    client.force_login(supervisor)
    assert client.get(VERIFY).status_code == 405
    assert client.post(PAGE).status_code == 405
    assert not VerificationRun.objects.exists()


def test_a_failing_check_is_recorded_as_an_error_and_a_new_run_may_start(
    supervisor, monkeypatch, caplog
):
    def broken(v):
        raise RuntimeError("disk unreadable")

    monkeypatch.setattr(verification, "CHECKS", [broken])
    run, created = request_run(supervisor)
    assert created
    run_jobs()
    run.refresh_from_db()
    assert (run.status, run.active) == ("error", None)
    assert run.error == "RuntimeError: disk unreadable"
    assert request_run(supervisor)[1]


def test_problems_kept_are_capped(client, supervisor, monkeypatch):
    monkeypatch.setattr(
        verification, "CHECKS", [lambda v: [v.found(f"problem {i}") for i in range(250)]]
    )
    request_run(supervisor)
    run_jobs()
    run = VerificationRun.objects.get()
    assert run.problem_count == 250 and len(run.problems) == VerificationRun.MAX_PROBLEMS
    client.force_login(supervisor)
    assert "… và 50 sai lệch khác" in client.get(PAGE).content.decode()


def test_a_run_left_by_a_dead_worker_is_taken_again(supervisor, settings):
    run, _created = request_run(supervisor)
    VerificationRun.objects.filter(pk=run.pk).update(
        status="running", started_at=timezone.now() - dt.timedelta(minutes=5)
    )
    # Still within the stale delay: another worker's, not taken, and not doubled either.
    run_jobs()
    run.refresh_from_db()
    assert run.status == "running"
    assert request_run(supervisor) == (run, False)

    settings.ONESTOP_STALE_JOB_SECONDS = 60  # the worker that took it is now presumed dead
    run_verification.enqueue(run.pk)  # as tasks.requeue_stale puts its job back
    run_jobs()
    run.refresh_from_db()
    assert (run.status, run.active) == ("ok", None)
