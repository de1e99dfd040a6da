"""Server time of the office queue, its searches, the API list and the supervisors' logs over a
large PostgreSQL database (bench/queue_seed.sql makes one: ~1M dossiers, ~5M events, 1M reads).

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_queue_big \
        .venv/bin/python bench/queue_pages.py [--runs 30] [--only office]

Each URL is fetched `--runs` times through Django's test client (in process: the view, its
queries and the template, no network); prints the median, the 95th percentile and the number of
queries of the last run. A page deeper than the first is reached by following "next" cursors.
`--explain` prints EXPLAIN ANALYZE of every query over 100 ms of the last run.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", default="")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--first-pages", action="store_true", help="skip the deep pages")
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dossiers.models import Agency, Dossier, Membership
    from dossiers.permissions import needs_second_factor
    from tests.helpers import pass_second_factor

    User = get_user_model()

    def client_for(username, agency=None, role=None):
        user, _created = User.objects.get_or_create(username=username)
        if agency is not None:
            Membership.objects.get_or_create(user=user, agency=agency, role=role)
        client = Client()
        client.force_login(user)
        if needs_second_factor(user):
            pass_second_factor(client, user)
        return client

    def measure(client, url, runs):
        samples = []
        for _i in range(runs):
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
        slow = [q for q in captured.captured_queries if float(q["time"]) > 0.1]
        return statistics.median(samples), p95, len(captured), slow, response

    def deep(client, url, pages, pattern=r"after=([\w-]+)"):
        for _page in range(pages - 1):
            body = client.get(url).content.decode()
            found = re.search(pattern, body)
            if not found:
                return None
            url = re.sub(r"([?&])after=[\w-]+", r"\1", url).rstrip("&?")
            url = f"{url}{'&' if '?' in url else '?'}after={found.group(1)}"
        return url

    big = Agency.objects.get(code="000.00.01.H27")
    small = Agency.objects.filter(
        code__startswith="000.10.", received_dossiers__isnull=False
    ).order_by("code")[:1][0]
    province = Agency.objects.get(code="000.00.00.H27")
    sample = Dossier.objects.filter(receiving_agency=big, status="processing").order_by("id")[5]
    small_sample = Dossier.objects.filter(receiving_agency=small).exclude(status="draft").first()
    clients = {
        "big": client_for("reception"),
        "small": client_for("bench_small", small, "reception"),
        "province": client_for("bench_province", province, "specialist"),
        "supervisor": client_for("supervisor"),
    }
    office = [
        *(
            f"/office/?tab={t}"
            for t in ("receive", "mine", "supplement", "payment", "approve", "return")
        ),
        *(f"/office/?tab={t}" for t in ("due_soon", "overdue", "all")),
        # The other orders (office/queues.ORDERS), each read from its own indexes.
        "/office/?tab=all&order=-filed",
        "/office/?tab=all&order=filed",
        "/office/?tab=approve&order=-due",
        "/office/?tab=mine&order=-filed",
        "/office/?tab=all&q=Nguy%E1%BB%85n+V%C4%83n+An",
        "/office/?tab=all&q=tran+thi+linh",
        "/office/?tab=all&q=hung",
        "/office/?tab=receive&q=nguyen",
        f"/office/?tab=all&q={sample.applicant['id_number']}",
        f"/office/?tab=all&q={sample.code}",
        "/office/?tab=all&status=processing",
    ]
    cases = []
    for who in ("big", "small", "province"):
        for url in office:
            if who == "small":
                url = url.replace(
                    sample.applicant["id_number"], small_sample.applicant["id_number"]
                )
                url = url.replace(sample.code, small_sample.code)
            cases.append(("office", who, url, 1))
        cases.append(("office", who, "/office/?tab=receive", 50))
        cases.append(("office", who, "/office/?tab=all", 50))
    for who in ("big", "supervisor"):
        cases += [
            ("api", who, "/api/v1/dossiers/", 1),
            ("api", who, "/api/v1/dossiers/?q=Nguy%E1%BB%85n+V%C4%83n+An", 1),
            ("api", who, "/api/v1/dossiers/?q=hung", 1),
            ("api", who, f"/api/v1/dossiers/?q={sample.applicant['id_number']}", 1),
        ]
    audit = [
        "/supervision/audit/",
        "/supervision/audit/?actor=specialist",
        "/supervision/audit/?actor=leader3",
        "/supervision/audit/?event_type=dossier.approved",
        f"/supervision/audit/?agency={small.pk}",
        f"/supervision/audit/?agency={big.pk}",
        "/supervision/audit/?procedure=" + Dossier.objects.get(pk=sample.pk).procedure.code,
        f"/supervision/audit/?code={sample.code}",
        "/supervision/audit/?date_from=2025-03-01&date_to=2025-03-31",
        "/supervision/audit/?actor=specialist&event_type=dossier.assigned",
        "/supervision/access/",
        "/supervision/access/?actor=leader2",
        f"/supervision/access/?agency={province.pk}",
        "/supervision/access/?purpose=api",
        f"/supervision/access/?code={sample.code}",
        "/supervision/access/?date_from=2025-03-01&date_to=2025-03-31",
    ]
    cases += [("audit", "supervisor", url, 1) for url in audit]
    cases += [("audit", "supervisor", "/supervision/audit/?actor=specialist", 50)]
    cases += [("audit", "supervisor", "/supervision/audit/", 50)]
    print(f"{'area':6} {'who':10} {'page':>4} {'median':>8} {'p95':>8} {'queries':>7}  url")
    for area, who, url, page in cases:
        if (args.only and args.only != area) or (args.first_pages and page > 1):
            continue
        client = clients[who]
        target = url
        if page > 1:
            pattern = r'"next":"[^"]*cursor=([\w%-]+)' if area == "api" else r"after=([\w-]+)"
            target = deep(client, url, page, pattern)
            if target is None:
                print(f"{area:6} {who:10} {page:>4} (fewer pages)  {url}")
                continue
        median, p95, queries, slow, _r = measure(client, target, args.runs)
        print(f"{area:6} {who:10} {page:>4} {median:8.1f} {p95:8.1f} {queries:7}  {url}")
        if args.explain:
            for query in slow:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                    print("    " + query["sql"][:3000])
                    print("\n".join("      " + row[0] for row in cursor.fetchall()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
