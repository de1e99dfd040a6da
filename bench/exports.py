"""Exports at provincial scale: the first byte of a streamed (small) export, the answer to a
province-year request (a job, not a file), and the worker's time and peak memory building the
province-year register, CSV and XLSX, as `manage.py run_worker` processes.

Usage (a throw-away PostgreSQL database, migrated; the dossiers are written by SQL):

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE h_exports_big"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_exports_big DEBUG=1 \\
      .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_exports_big DEBUG=1 \\
      .venv/bin/python bench/exports.py --dossiers 1000000
    psql -h 127.0.0.1 -U postgres -c "DROP DATABASE h_exports_big"
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from dossiers import export_jobs  # noqa: E402
from dossiers.models import Agency, Dossier, ExportJob, Membership, Procedure  # noqa: E402
from dossiers.workflow import Role  # noqa: E402
from tests.helpers import pass_second_factor  # noqa: E402

COMMUNES = 10
YEAR = 2026

# One year of dossiers spread over the province and its communes, in one statement.
INSERT = """
INSERT INTO dossiers_dossier (
    code, applicant, form_data, channel, status, version, created_at, submitted_at, received_at,
    due_at, original_due_at, resolved_at, returned_at, outcome, result_delivery,
    supplement_return_status, requested_documents, supplement_requests, lookup_key, rating,
    rating_comment, event_seq, audit_head, competent_agency_id, receiving_agency_id,
    procedure_id, client_token, search_text, external_ref
)
SELECT
    'BIG-' || lpad(g::text, 8, '0'),
    jsonb_build_object(
        'full_name', 'Nguyễn Văn Thử ' || g,
        'address', 'Thôn ' || (g %% 97) || ', xã số ' || (g %% %(agencies)s),
        'phone', '09' || lpad((g %% 100000000)::text, 8, '0')
    ),
    '{}'::jsonb, 2,
    CASE WHEN g %% 10 < 7 THEN 'returned' ELSE 'processing' END,
    1, t, t, t, t + interval '5 days', t + interval '5 days',
    CASE WHEN g %% 10 < 7 THEN t + interval '3 days' END,
    CASE WHEN g %% 10 < 7 THEN t + interval '4 days' END,
    '', '', '', '[]'::jsonb, 0, substr(md5(g::text), 1, 12), '', '', 0, '',
    a.ids[1 + g %% %(agencies)s], a.ids[1 + g %% %(agencies)s], %(procedure)s, '',
    'big-' || lpad(g::text, 8, '0') || ' nguyen van thu ' || g, ''
FROM generate_series(1, %(n)s) AS g,
     LATERAL (SELECT timestamptz '%(year)s-01-01 08:00+07'
                     + (g::bigint * 31449600 / %(n)s) * interval '1 second' AS t) AS times,
     (SELECT array_agg(id ORDER BY id) AS ids FROM dossiers_agency) AS a
"""


def seed(n: int):
    province, _ = Agency.objects.get_or_create(
        code="000.00.00.H27", defaults={"name": "UBND thành phố Hải Phòng", "level": "province"}
    )
    for i in range(1, COMMUNES + 1):
        Agency.objects.get_or_create(
            code=f"000.{i:02d}.27.H27",
            defaults={"name": f"UBND xã số {i}", "level": "commune", "parent": province},
        )
    procedure, _ = Procedure.objects.get_or_create(
        code="1.004873",
        defaults={
            "name": "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân",
            "sector": "Hộ tịch",
            "competent_level": "commune",
            "time_limit_value": 3,
        },
    )
    User = get_user_model()
    supervisor, created = User.objects.get_or_create(username="bench-supervisor")
    if created:
        supervisor.set_password("onestop-bench")
        supervisor.save()
        Membership.objects.create(user=supervisor, agency=province, role=Role.SUPERVISOR)
    have = Dossier.objects.count()
    if have < n:
        started = time.perf_counter()
        sql = INSERT % {
            "agencies": COMMUNES + 1,
            "procedure": procedure.pk,
            "n": n,
            "year": YEAR,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.execute("VACUUM ANALYZE dossiers_dossier")
        print(f"inserted {n} dossiers in {time.perf_counter() - started:.1f} s")
    return supervisor


def logged_in(user) -> Client:
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host name is allowed
    client = Client()
    client.force_login(user)
    pass_second_factor(client, user)
    return client


def streamed(client, url, params):
    """Seconds to the response object, to its first byte, to its first row, to the end."""
    started = time.perf_counter()
    response = client.get(url, params)
    answered = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    if not response.streaming:
        size = len(response.content)
        return answered, answered, answered, time.perf_counter() - started, size, response
    chunks = iter(response.streaming_content)
    first = next(chunks)
    first_byte = time.perf_counter() - started
    second = next(chunks)
    first_row = time.perf_counter() - started
    size = len(first) + len(second) + sum(len(c) for c in chunks)
    return answered, first_byte, first_row, time.perf_counter() - started, size, response


def worker_run() -> tuple[float, int, float]:
    """Run `manage.py run_worker --batch` until no job is ready: wall seconds, peak RSS (kB),
    CPU seconds (user + system: what a busy machine does not inflate)."""
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "manage.py", "run_worker", "--batch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    cpu = sum(
        float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", result.stderr)
    )
    return seconds, peak, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    supervisor = seed(args.dossiers)
    client = logged_in(supervisor)
    limit = export_jobs.stream_max_rows()
    commune = Agency.objects.get(code="000.01.27.H27")
    month = {"date_from": f"{YEAR}-03-01", "date_to": f"{YEAR}-03-31", "agency": commune.pk}
    year = {"date_from": f"{YEAR}-01-01", "date_to": f"{YEAR}-12-31"}
    print(f"{Dossier.objects.count()} dossiers; ONESTOP_EXPORT_STREAM_MAX_ROWS={limit}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    for fmt in ("csv", "xlsx"):
        url = f"/supervision/export/register.{fmt}"
        streamed(client, url, month)  # warm the caches once
        answered, first_byte, first_row, total, size, _r = streamed(client, url, month)
        print(
            f"small {fmt} (one commune, one month): response {answered * 1000:.0f} ms, first "
            f"byte {first_byte * 1000:.0f} ms, first row {first_row * 1000:.0f} ms, whole "
            f"{total:.2f} s, {size / 1e6:.1f} MB"
        )

    for fmt in args.formats.split(","):
        ExportJob.objects.all().delete()
        started = time.perf_counter()
        response = client.get(f"/supervision/export/register.{fmt}", year)
        asked = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        job = ExportJob.objects.get()
        print(f"province-year {fmt}: asked in {asked * 1000:.0f} ms -> {response['Location']}")
        seconds, peak, cpu = worker_run()
        job.refresh_from_db()
        built = (job.finished_at - job.started_at).total_seconds()
        print(
            f"province-year {fmt}: {job.status}, {job.rows_done} rows, {job.size / 1e6:.1f} MB; "
            f"build {built:.1f} s ({job.rows_done / built:.0f} rows/s), worker process "
            f"{seconds:.1f} s ({cpu:.1f} s CPU), peak RSS {peak / 1024:.0f} MB"
        )
        downloaded = time.perf_counter()
        got = client.get(f"/supervision/exports/{job.pk}/download/")
        size = sum(len(c) for c in got.streaming_content)
        print(f"  download {size / 1e6:.1f} MB in {time.perf_counter() - downloaded:.2f} s")
        job.file.delete(save=False)


if __name__ == "__main__":
    main()
