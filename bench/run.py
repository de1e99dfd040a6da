"""Benchmarks of the foundation: deadline arithmetic, one action, code numbering, audit verify.

    DEBUG=1 .venv/bin/python bench/run.py [--dossiers 1000]

Uses the database of DATABASE_URL (a throw-away SQLite file by default), migrated from scratch.
Prints one line per measurement; docs/benchmarks.md records the figures and how they were made.

    DATABASE_URL=postgres://…/onestop_1m_p100 .venv/bin/python bench/run.py --scale

measures every page, API call and job over a database filled by bench/seed.py, without
migrating or flushing it, and prints one table (bench/scale.py).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(function, repeat):
    samples = []
    for _i in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument(
        "--extra",
        type=int,
        default=50000,
        help="synthetic dossiers bulk-inserted (no events) to size the office queue",
    )
    parser.add_argument("--scale", action="store_true", help="bench/scale.py over a seeded DB")
    parser.add_argument("--runs", type=int, default=30, help="--scale: requests per row")
    parser.add_argument("--skip-wrk", action="store_true", help="--scale: no gunicorn + wrk")
    parser.add_argument("--skip-verify", action="store_true", help="--scale: no verify_audit")
    parser.add_argument("--concurrency", type=int, default=16, help="--scale: wrk connections")
    parser.add_argument("--seconds", type=int, default=20, help="--scale: wrk duration")
    args = parser.parse_args()
    if args.scale:
        os.environ.setdefault("DEBUG", "1")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")
        os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
        import django

        django.setup()
        import scale

        scale.run(args)
        return
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {vendor}; python {sys.version.split()[0]}")

    import datetime as dt

    from dossiers import bulk_verify, services
    from dossiers.models import Dossier, DossierEvent
    from dossiers.workflow import Status
    from dossiers.worktime import VN_TZ, WorkCalendar

    calendar = WorkCalendar()
    received = dt.datetime(2026, 2, 13, 9, tzinfo=VN_TZ)
    per_call, _worst = timed(
        lambda: calendar.due_at(calendar.clock_start(received), 17, "working_days"), 2000
    )
    print(f"due date, 17 working days across Tết: {per_call * 1e6:.1f} µs per computation")
    span_end = received + dt.timedelta(days=30)
    per_call, _worst = timed(lambda: calendar.working_seconds_between(received, span_end), 2000)
    print(f"office time over a 30-day span: {per_call * 1e6:.1f} µs")

    start = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--force", "--dossiers", str(args.dossiers), stdout=quiet)
    seconds = time.perf_counter() - start
    events = DossierEvent.objects.count()
    print(
        f"seed_demo --dossiers {args.dossiers}: {seconds:.1f} s "
        f"({events} events, {events / seconds:.0f} audited actions/s through the services)"
    )

    from django.contrib.auth import get_user_model

    reception = get_user_model().objects.get(username="reception")
    actor = services.Actor(user=reception, ip="127.0.0.1")
    waiting = list(
        Dossier.objects.filter(status=Status.SUBMITTED, receiving_agency__code="000.00.01.H27")
    )
    samples = []
    for dossier in waiting:
        begin = time.perf_counter()
        services.dossier_receive(actor=actor, dossier=dossier)
        samples.append(time.perf_counter() - begin)
    if samples:
        print(
            "receive action (lock, checks, FSM, event, history, e-mail row, feed entry and the "
            f"worker's jobs; the receipt PDF is the worker's): median "
            f"{statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms "
            f"over {len(samples)} dossiers"
        )

    agency = reception.memberships.first().agency
    per_call, _worst = timed(
        lambda: services.next_dossier_code(agency, dt.datetime.now(VN_TZ)), 500
    )
    print(f"next dossier code: {per_call * 1000:.2f} ms per code")

    queue_benchmark(args.extra)

    from django.utils import timezone

    from dossiers import anchors, sealing, verification

    per_call, _worst = timed(lambda: sealing.seal("0" * 64), 2000)
    print(f"one Ed25519 seal: {per_call * 1e6:.0f} µs")
    kid, signature = sealing.seal("0" * 64)
    keys = sealing.trusted_keys()
    per_call, _worst = timed(lambda: sealing.seal_problem(kid, signature, "0" * 64, keys), 2000)
    print(f"one seal checked: {per_call * 1e6:.0f} µs")

    start = time.perf_counter()
    anchor = anchors.make_anchor(timezone.now() + dt.timedelta(minutes=5))
    records = sum(source["count"] for source in anchor.content.values())
    print(
        f"first anchor over every record ({records} records): {time.perf_counter() - start:.2f} s"
    )

    tracemalloc.start()
    start = time.perf_counter()
    report = verification.verify_everything(files=True)
    seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"verify_everything --files ({report.counts}): {seconds:.2f} s, peak Python memory "
        f"{peak / 1e6:.1f} MB, {len(report.problems)} problems"
    )

    tracemalloc.start()
    start = time.perf_counter()
    problems = list(bulk_verify.verify_all())
    seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    events = DossierEvent.objects.count()
    print(
        f"verify_audit over {Dossier.objects.count()} dossiers / {events} events: {seconds:.2f} s "
        f"({events / seconds:.0f} events/s), peak Python memory {peak / 1e6:.1f} MB, "
        f"{len(problems)} problems"
    )


def queue_benchmark(extra: int) -> None:
    """The office queue over a large table: first page, a deep page, a search, query counts."""
    import datetime as dt
    import random
    import re

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dossiers.models import Agency, Dossier, Procedure
    from dossiers.text import search_key
    from dossiers.workflow import Status

    agency = Agency.objects.get(code="000.00.01.H27")
    procedures = list(Procedure.objects.all())
    rng = random.Random(1)
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    statuses = [Status.RETURNED] * 7 + [Status.PROCESSING, Status.RECEIVED, Status.SUBMITTED]
    batch = []
    for number in range(extra):
        received = base + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 690))
        name = f"Nguyễn Văn Thử {number}"
        batch.append(
            Dossier(
                code=f"000.00.01.H27-BENCH-{number:06d}",
                procedure=rng.choice(procedures),
                receiving_agency=agency,
                competent_agency=agency,
                applicant={"full_name": name},
                status=rng.choice(statuses),
                created_at=received,
                submitted_at=received,
                received_at=received,
                original_due_at=received + dt.timedelta(days=5),
                due_at=received + dt.timedelta(days=5),
                search_text=search_key(name),
            )
        )
        if len(batch) == 5000:
            Dossier.objects.bulk_create(batch)
            batch = []
    Dossier.objects.bulk_create(batch)
    client = Client()
    client.login(username="reception", password="onestop-demo")
    # Staff pass the second factor: the demo authenticator's current code, as a person types it.
    from django_otp.oath import totp

    from dossiers.demo.seeding import DEMO_TOTP_KEY

    client.post("/accounts/security/verify/", {"code": f"{totp(bytes.fromhex(DEMO_TOTP_KEY)):06d}"})

    def measure(url, repeat=15):
        samples, queries = [], 0
        for _i in range(repeat):
            connection.queries_log.clear()  # the log holds 9000 queries; the walk below fills it
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - begin)
            assert response.status_code == 200, url
            queries = len(captured)
        return statistics.median(samples) * 1000, queries, response

    total = Dossier.objects.count()
    first_ms, first_q, _r = measure("/office/?tab=all")
    # Walk 200 pages deep by cursor, then time that page: keyset cost does not grow with depth.
    url = "/office/?tab=all"
    for _page in range(200):
        cursor = re.search(r"after=([\w-]+)", client.get(url).content.decode()).group(1)
        url = f"/office/?tab=all&after={cursor}"
    deep_ms, deep_q, _r = measure(url)
    search_ms, _q, _r = measure("/office/?tab=all&q=nguyen+van+thu+4242")
    work_ms, work_q, _r = measure("/office/")
    print(
        f"office queue over {total} dossiers: first page {first_ms:.0f} ms ({first_q} queries), "
        f"page 201 {deep_ms:.0f} ms ({deep_q} queries), accent-insensitive search "
        f"{search_ms:.0f} ms, 'to receive' tab {work_ms:.0f} ms ({work_q} queries)"
    )


if __name__ == "__main__":
    main()
