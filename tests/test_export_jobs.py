"""Exports that cannot time out: small ones answered in the request as before, large ones built by
the worker (the real worker's code, tests/worker.py), downloaded by their requester only,
announced by e-mail, and deleted when they expire."""

import csv
import datetime as dt
import hashlib
import io

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.utils import timezone
from openpyxl import load_workbook

from dossiers import export_jobs, exports, tasks
from dossiers.models import Agency, Dossier, ExportJob, Membership
from dossiers.text import search_key
from dossiers.workflow import Role, Status

from .conftest import _official, is_postgres, vn
from .worker import run_jobs

MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def three(procedure, commune):
    """Three dossiers received in March at the commune, one in April (written in bulk: the
    register reads them as they are, and no slip or e-mail job waits for the worker)."""
    _bulk_register([commune], procedure, 3, start=vn(2026, 3, 2, 9), step=dt.timedelta(days=1))
    _bulk_register([commune], procedure, 1, start=vn(2026, 4, 1, 9), first=3)
    return list(Dossier.objects.filter(received_at__month=3).order_by("received_at"))


def body(response) -> bytes:
    if response.streaming:  # a streamed CSV, or a stored file
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, as spreadsheets want
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def small(settings):
    settings.ONESTOP_EXPORT_STREAM_MAX_ROWS = 20000


def large(settings, rows=2):
    settings.ONESTOP_EXPORT_STREAM_MAX_ROWS = rows


# --- small: in the request, as before ------------------------------------------------------------


def test_a_small_register_streams_in_the_request(client, settings, three, reception):
    small(settings)
    client.force_login(reception)
    response = client.get("/office/register/", {**MARCH, "format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    rows = csv_rows(body(response))
    assert rows[0] == exports.COLUMNS and [r[1] for r in rows[1:]] == [d.code for d in three]
    xlsx = client.get("/office/register/", {**MARCH, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx_rows(xlsx.content)[1][1] == three[0].code
    assert not ExportJob.objects.exists()


def test_the_count_that_decides_is_bounded(settings, three, reception):
    """Deciding costs one query over at most threshold + 1 rows, however large the table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    large(settings, rows=2)
    params = {"agency_ids": [three[0].receiving_agency_id], **MARCH}
    with CaptureQueriesContext(connection) as queries:
        assert export_jobs.is_small(reception, "register", params) is False
    # COUNT( itself: an agency's "bank_account_number" column contains the word too.
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 3" in counts[0]
    settings.ONESTOP_EXPORT_STREAM_MAX_ROWS = 3
    assert export_jobs.is_small(reception, "register", params) is True


# --- large: the worker builds it -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_register_is_built_by_the_worker(client, settings, three, reception, fmt):
    small(settings)
    client.force_login(reception)
    streamed = body(client.get("/office/register/", {**MARCH, "format": fmt}))

    large(settings)
    response = client.get("/office/register/", {**MARCH, "format": fmt})
    assert response.status_code == 302 and response["Location"] == "/office/exports/"
    job = ExportJob.objects.get()
    assert (job.requester, job.kind, job.format, job.status) == (
        reception,
        "register",
        fmt,
        "queued",
    )
    assert job.parameters == {
        "agency_ids": [three[0].receiving_agency_id],
        **MARCH,
        "language": "vi",
        "public_url": "http://127.0.0.1:8000",
    }

    page = client.get("/office/exports/")
    html = page.content.decode()
    assert "so-theo-doi-20260301-20260331." + fmt in html and "Đang chờ" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # waits without script
    assert "Tệp so-theo-doi" in " ".join(str(m) for m in page.context["messages"])

    assert run_jobs() >= 1  # the build, then its notice
    job.refresh_from_db()
    assert job.status == "done" and job.rows_done == job.rows_expected == 3
    assert job.file.name.startswith(f"exports/{job.token}/") and default_storage.exists(
        job.file.name
    )
    html = client.get("/office/exports/").content.decode()
    assert "Sẵn sàng" in html and "http-equiv" not in html
    assert f"/office/exports/{job.pk}/download/" in html

    download = client.get(f"/office/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].endswith(f'so-theo-doi-20260301-20260331.{fmt}"')
    built = body(download)

    assert len(built) == job.size and hashlib.sha256(built).hexdigest() == job.sha256
    if fmt == "csv":
        assert built == streamed  # the very bytes the request would have sent
    else:
        assert xlsx_rows(built) == xlsx_rows(streamed)
        assert [row[1] for row in xlsx_rows(built)[1:]] == [d.code for d in three]
    job.refresh_from_db()
    assert job.download_count == 1 and job.last_downloaded_at is not None


def test_someone_elses_export_is_not_there(client, settings, three, reception, supervisor, commune):
    large(settings)
    client.force_login(reception)
    client.get("/office/register/", {**MARCH, "format": "csv"})
    run_jobs()
    job = ExportJob.objects.get(status="done")
    colleague = _official("colleague", commune, Role.RECEPTION)  # same agency, same rows
    client.force_login(colleague)
    assert client.get(f"/office/exports/{job.pk}/download/").status_code == 404
    assert job.filename not in client.get("/office/exports/").content.decode()
    client.force_login(supervisor)
    assert client.get(f"/supervision/exports/{job.pk}/download/").status_code == 404
    assert client.get(f"/office/exports/{job.pk}/download/").status_code == 403  # not an official
    # The requester who lost their role loses the file too.
    Membership.objects.filter(user=reception).delete()
    client.force_login(reception)
    assert client.get(f"/office/exports/{job.pk}/download/").status_code == 403
    assert ExportJob.objects.get(pk=job.pk).download_count == 0


def test_the_requester_is_told_by_email(client, settings, three, reception):
    large(settings)
    reception.email = "reception@commune.example.vn"
    reception.save()
    client.force_login(reception)
    client.get("/office/register/", {**MARCH, "format": "xlsx"})
    run_jobs()
    job = ExportJob.objects.get()
    assert job.notified_at is not None
    [message] = mail.outbox
    assert message.to == ["reception@commune.example.vn"]
    assert job.filename in message.subject
    assert f"{settings.ONESTOP_PUBLIC_URL.rstrip('/')}/office/exports/" in message.body
    run_jobs()  # nothing more: a notice goes once
    export_jobs.send_export_notice.call(job.pk)
    assert len(mail.outbox) == 1


def test_progress_is_written_as_rows_go(client, three, reception, monkeypatch):
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 2)
    job = export_jobs.request_export(
        reception,
        audience="office",
        kind="register",
        fmt="csv",
        params={"agency_ids": [three[0].receiving_agency_id], **MARCH},
        filename="so",
    )
    claimed = export_jobs._claim(job.pk)
    seen = []
    for _row in export_jobs._progressing(iter(range(5)), claimed):
        seen.append(ExportJob.objects.get(pk=job.pk).rows_done)
    assert seen == [0, 0, 2, 2, 4]
    ExportJob.objects.filter(pk=job.pk).update(rows_expected=5, rows_done=2)
    client.force_login(reception)
    html = client.get("/office/exports/").content.decode()
    assert "Đang tạo" in html and '<progress max="100" value="40">' in html
    assert "2 / 5 dòng" in html


def test_a_failed_export_says_so(client, settings, three, reception, tmp_path):
    large(settings)
    client.force_login(reception)
    client.get("/office/register/", {**MARCH, "format": "csv"})
    # The storage cannot write (its directory is a file): the export fails, the job does not.
    (tmp_path / "not-a-directory").write_text("")
    settings.MEDIA_ROOT = tmp_path / "not-a-directory"
    run_jobs()
    job = ExportJob.objects.get()
    assert job.status == "failed" and job.error and not job.file
    html = client.get("/office/exports/").content.decode()
    assert "Lỗi" in html and "Hãy yêu cầu lại" in html and "/download/" not in html
    assert client.get(f"/office/exports/{job.pk}/download/").status_code == 404
    assert not mail.outbox


def test_expired_files_are_deleted_by_the_sweep(client, settings, three, reception):
    large(settings)
    settings.ONESTOP_EXPORT_KEEP_DAYS = 7
    client.force_login(reception)
    client.get("/office/register/", {**MARCH, "format": "csv"})
    run_jobs()
    job = ExportJob.objects.get()
    assert job.expires_at - job.finished_at == dt.timedelta(days=7)
    name = job.file.name
    tasks.sweep.call()
    assert default_storage.exists(name)  # not yet
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    tasks.sweep.call()
    job.refresh_from_db()
    assert job.status == "expired" and not job.file and not default_storage.exists(name)
    assert client.get(f"/office/exports/{job.pk}/download/").status_code == 404
    assert "Đã hết hạn" in client.get("/office/exports/").content.decode()


def test_a_second_run_does_no_harm(settings, three, reception):
    """The job run again after it finished does nothing; an attempt whose worker died (its
    heartbeat stopped) is claimed again, its file never kept."""
    job = export_jobs.request_export(
        reception,
        audience="office",
        kind="register",
        fmt="csv",
        params={"agency_ids": [three[0].receiving_agency_id], **MARCH},
        filename="so",
    )
    dead = export_jobs._claim(job.pk)  # a worker took it, stored a file, and died
    orphan = default_storage.save(dead.file.field.upload_to(dead, ""), io.BytesIO(b"partial"))
    assert export_jobs._claim(job.pk) is None  # a live attempt is not taken over
    stale = timezone.now() - dt.timedelta(seconds=settings.ONESTOP_STALE_JOB_SECONDS + 1)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    tasks.sweep.call()  # finds it and asks for it again
    run_jobs()
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2 and job.rows_done == 3
    assert not default_storage.exists(orphan) and default_storage.exists(job.file.name)
    first = (job.file.name, job.sha256, job.finished_at)
    export_jobs.build_export.enqueue(job.pk)
    run_jobs()
    job.refresh_from_db()
    assert (job.file.name, job.sha256, job.finished_at) == first and job.attempts == 2


def test_the_scope_is_what_the_requester_may_export(three, reception, other_commune):
    job = export_jobs.request_export(
        reception,
        audience="office",
        kind="register",
        fmt="csv",
        params={"agency_ids": [three[0].receiving_agency_id, other_commune.pk], **MARCH},
        filename="so",
    )
    assert job.parameters["agency_ids"] == [three[0].receiving_agency_id]


# --- the supervisors' register and audit log -----------------------------------------------------


def test_supervisors_large_register_and_audit_log(
    client, settings, three, supervisor, make_dossier
):
    make_dossier(
        Status.RECEIVED, times=[vn(2026, 3, 9, 8), vn(2026, 3, 9, 8, 5), vn(2026, 3, 9, 9)]
    )
    make_dossier(
        Status.RECEIVED, times=[vn(2026, 3, 9, 8), vn(2026, 3, 9, 8, 5), vn(2026, 3, 9, 9)]
    )
    run_jobs()  # their slips and e-mails
    small(settings)
    client.force_login(supervisor)
    register = body(client.get("/supervision/export/register.csv", MARCH))
    audit = body(
        client.get("/supervision/audit/", {"event_type": "dossier.received", "format": "csv"})
    )
    assert len(csv_rows(audit)) == 1 + 2
    assert len(csv_rows(register)) == 1 + 5

    large(settings, rows=1)
    response = client.get("/supervision/export/register.csv", MARCH)
    assert response.status_code == 302 and response["Location"] == "/supervision/exports/"
    response = client.get(
        "/supervision/audit/", {"event_type": "dossier.received", "format": "csv"}
    )
    assert response.status_code == 302
    run_jobs()
    jobs = {job.kind: job for job in ExportJob.objects.filter(status="done")}
    assert set(jobs) == {"register", "audit"}
    assert jobs["audit"].parameters["filters"] == {"event_type": "dossier.received"}
    html = client.get("/supervision/exports/").content.decode()
    for job in jobs.values():
        assert f"/supervision/exports/{job.pk}/download/" in html
    got_register = body(client.get(f"/supervision/exports/{jobs['register'].pk}/download/"))
    got_audit = body(client.get(f"/supervision/exports/{jobs['audit'].pk}/download/"))
    assert got_register == register and got_audit == audit
    # An official of the same agency cannot reach a supervisor's export.
    assert client.get(f"/office/exports/{jobs['register'].pk}/download/").status_code == 403


# --- a province-year, through the worker ---------------------------------------------------------


def _bulk_register(agencies, procedure, per_agency, *, start, step=None, first=0):
    """`per_agency` dossiers received from `start` at each agency (every `step`, else spread
    over a year), written in bulk."""
    span = 364 * 24 * 60
    batch = []
    for a, agency in enumerate(agencies):
        for n in range(first, first + per_agency):
            offset = step * n if step else dt.timedelta(minutes=(n * 7919 + a * 104729) % span)
            received = start + offset
            name = f"=Nguyễn Văn {a}-{n}" if n % 500 == 1 else f"Nguyễn Văn {a}-{n}"
            batch.append(
                Dossier(
                    code=f"{agency.code}-{received:%Y}-{n:06d}",
                    procedure=procedure,
                    receiving_agency=agency,
                    competent_agency=agency,
                    applicant={"full_name": name, "address": f"Thôn {n}", "phone": "0912345678"},
                    status=Status.RETURNED if n % 3 else Status.PROCESSING,
                    created_at=received,
                    submitted_at=received,
                    received_at=received,
                    original_due_at=received + dt.timedelta(days=5),
                    due_at=received + dt.timedelta(days=5),
                    resolved_at=received + dt.timedelta(days=6 if n % 7 == 0 else 2),
                    search_text=search_key(name),
                )
            )
    Dossier.objects.bulk_create(batch, batch_size=2000)


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_province_year_through_the_worker(
    client, settings, supervisor, province, commune, procedure, fmt
):
    assert is_postgres()
    agencies = [province, commune] + [
        Agency.objects.create(
            code=f"000.{n:02d}.27.H27", name=f"UBND xã {n}", level="commune", parent=province
        )
        for n in range(3, 7)
    ]
    _bulk_register(agencies, procedure, 700, start=vn(2026, 1, 1, 8))
    settings.ONESTOP_EXPORT_STREAM_MAX_ROWS = 1000
    year = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
    client.force_login(supervisor)
    response = client.get(f"/supervision/export/register.{fmt}", year)
    assert response.status_code == 302
    run_jobs()
    job = ExportJob.objects.get()
    assert job.status == "done" and job.rows_done == job.rows_expected == 6 * 700
    data = body(client.get(f"/supervision/exports/{job.pk}/download/"))
    expected = exports.register_rows(
        agency_ids=[a.pk for a in agencies],
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 12, 31),
        visible_to=supervisor,
    )
    if fmt == "csv":
        got = csv_rows(data)
        want = [[str(exports.csv_safe(v)) for v in row] for row in expected]
    else:
        got = xlsx_rows(data)
        want = [[v if v != "" else None for v in row] for row in expected]
    assert got[0] == exports.COLUMNS and len(got) == 1 + 6 * 700
    assert got[1:] == want
    received = [Dossier.objects.get(code=row[1]).received_at for row in got[1:50]]
    assert received == sorted(received)


def test_the_file_speaks_the_language_of_the_page_that_asked(client, settings, three, reception):
    client.force_login(reception)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    small(settings)
    streamed = body(client.get("/office/register/", {**MARCH, "format": "csv"}))
    large(settings)
    client.get("/office/register/", {**MARCH, "format": "csv"})
    run_jobs()
    job = ExportJob.objects.get()
    assert job.parameters["language"] == "en"
    built = body(client.get(f"/office/exports/{job.pk}/download/"))
    assert built == streamed
    from django.utils import translation

    with translation.override("en"):
        english = {str(Status(d.status).label) for d in three}
    with translation.override("vi"):
        vietnamese = {str(Status(d.status).label) for d in three}
    assert {row[-1].split(" · ")[0] for row in csv_rows(built)[1:]} == english
    assert english != vietnamese
