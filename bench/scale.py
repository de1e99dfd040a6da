"""Provincial-scale benchmarks: every page, API call and job over a seeded PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onestop_1m_p100 \\
      .venv/bin/python bench/run.py --scale [--runs 30] [--skip-wrk] [--skip-verify]

The database is filled by bench/seed.py; nothing is migrated or flushed here (the few rows a
benchmark makes — an API token, a handful of received dossiers, one export — stay). Every row of
the table is timed in-process with Django's test client (server time, no network) over `--runs`
requests, beside its floor measured in the same run:

- floor A: a view doing one primary-key query (the least a page can cost);
- floor B: a bare `UPDATE … WHERE id = …` in a transaction (the least an action can cost);
- floor C: WeasyPrint rendering a one-line page (the least a PDF can cost).

Then HTTP throughput with gunicorn on loopback (wrk, Debian's package) and the worker's memory
over 1,000 PDF renders. docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    name: str
    samples: list[float]  # seconds
    queries: int | None = None
    floor: str = "A"
    note: str = ""
    query_counts: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


class Bench:
    def __init__(self, runs: int):
        self.runs = runs
        self.rows: list[Row] = []
        self.floors: dict[str, list[float]] = {"A": [], "B": [], "C": []}
        self.lines: list[str] = []

    # --- timing -------------------------------------------------------------------------------

    def time_get(self, client, url, *, name, floor="A", headers=None, expect=200, runs=None):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        samples, counts = [], set()
        client.get(url, headers=headers or {})  # warm: the first request fills caches
        for _i in range(runs or self.runs):
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url, headers=headers or {})
                if getattr(response, "streaming", False):
                    next(iter(response.streaming_content), b"")  # time to first byte
                samples.append(time.perf_counter() - begin)
            if getattr(response, "streaming", False):
                response.close()
            if response.status_code != expect:
                raise SystemExit(f"{url}: {response.status_code}, expected {expect}")
            counts.add(len(captured))
        row = Row(name, samples, max(counts), floor, query_counts=counts)
        self.rows.append(row)
        print(f"  {name}: {row.median:.1f} ms median, {row.p95:.1f} p95, {sorted(counts)} queries")
        return response

    def time_call(self, function, *, name, floor, runs=None, note=""):
        samples = []
        for _i in range(runs or self.runs):
            begin = time.perf_counter()
            function()
            samples.append(time.perf_counter() - begin)
        row = Row(name, samples, None, floor, note)
        self.rows.append(row)
        print(f"  {name}: {row.median:.1f} ms median, {row.p95:.1f} p95")
        return row

    # --- output -------------------------------------------------------------------------------

    def table(self) -> str:
        floor_ms = {k: statistics.median(v) * 1000 for k, v in self.floors.items() if v}
        out = [
            "| page or job | median ms | p95 ms | queries | floor (ms) | ratio (median / floor) |",
            "|---|---|---|---|---|---|",
        ]
        for key, label in (
            ("A", "floor A: one primary-key query in a view"),
            ("B", "floor B: bare UPDATE in a transaction"),
            ("C", "floor C: WeasyPrint, one-line page"),
        ):
            if key in floor_ms:
                samples = self.floors[key]
                p95 = sorted(samples)[round(0.95 * (len(samples) - 1))] * 1000
                out.append(f"| {label} | {floor_ms[key]:.1f} | {p95:.1f} | | | |")
        for row in self.rows:
            floor = floor_ms.get(row.floor)
            queries = (
                ""
                if row.queries is None
                else (
                    str(row.queries)
                    if len(row.query_counts) <= 1
                    else f"{min(row.query_counts)}–{max(row.query_counts)}"
                )
            )
            ratio = f"{row.median / floor:.1f}×" if floor else ""
            floor_text = f"{row.floor} ({floor:.1f})" if floor else ""
            name = row.name + (f" ({row.note})" if row.note else "")
            figures = f"{row.median:.1f} | {row.p95:.1f} | {queries} | {floor_text} | {ratio}"
            out.append(f"| {name} | {figures} |")
        return "\n".join([*out, "", *self.lines])


# --- floors ------------------------------------------------------------------------------------


def floor_view(request, pk):
    from django.http import HttpResponse

    from dossiers.models import Dossier

    return HttpResponse(Dossier.objects.values_list("code", flat=True).get(pk=pk))


def install_floor_view():
    from django.urls import clear_url_caches, path

    import onestop.urls

    onestop.urls.urlpatterns.insert(0, path("bench-floor/<int:pk>/", floor_view))
    clear_url_caches()


def measure_floors(bench: Bench, client, dossier_id: int) -> None:
    from django.db import connection, transaction

    from dossiers.models import Dossier

    client.get(f"/bench-floor/{dossier_id}/")
    for _i in range(bench.runs):
        begin = time.perf_counter()
        client.get(f"/bench-floor/{dossier_id}/")
        bench.floors["A"].append(time.perf_counter() - begin)
    table = Dossier._meta.db_table
    for _i in range(bench.runs):
        begin = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET status = status WHERE id = %s", [dossier_id])
        bench.floors["B"].append(time.perf_counter() - begin)
    bench.floors["C"].extend(floor_c_samples(bench.runs))


def floor_c_samples(runs: int) -> list[float]:
    from weasyprint import HTML

    HTML(string="<p>onestop</p>").write_pdf()
    samples = []
    for _i in range(runs):
        begin = time.perf_counter()
        HTML(string="<p>onestop</p>").write_pdf()
        samples.append(time.perf_counter() - begin)
    return samples


# --- who and what ------------------------------------------------------------------------------


@dataclass
class Cast:
    agency: object
    province_agencies: list
    reception: object
    specialist: object
    leader: object
    supervisor: object
    citizen: object
    integration: object


def cast() -> Cast:
    """The busiest commune's staff, the province's supervisor, the citizen with most dossiers."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from dossiers.models import Agency, Dossier, Membership
    from dossiers.workflow import Role, Status

    busiest = (
        Dossier.objects.values("receiving_agency").annotate(n=Count("id")).order_by("-n").first()
    )
    agency = Agency.objects.get(pk=busiest["receiving_agency"])

    def member(role, agency_filter):
        membership = (
            Membership.objects.filter(role=role, **agency_filter).select_related("user").first()
        )
        if membership is None:
            raise SystemExit(f"no {role} found: was the database filled by bench/seed.py?")
        return membership.user

    specialist_id = (
        Dossier.objects.filter(
            receiving_agency=agency, status__in=[Status.PROCESSING], assignee__isnull=False
        )
        .values("assignee")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("assignee", flat=True)
        .first()
    )
    User = get_user_model()
    citizen_id = (
        Dossier.objects.filter(applicant_user__isnull=False)
        .values("applicant_user")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("applicant_user", flat=True)
        .first()
    )
    integration = Membership.objects.filter(role=Role.INTEGRATION, agency=agency).first()
    if integration is None:
        user, _created = User.objects.get_or_create(username=f"bench-portal-{agency.pk}")
        Membership.objects.create(user=user, agency=agency, role=Role.INTEGRATION)
    else:
        user = integration.user
    return Cast(
        agency=agency,
        province_agencies=list(Agency.objects.all()),
        reception=member(Role.RECEPTION, {"agency": agency}),
        specialist=User.objects.get(pk=specialist_id)
        if specialist_id
        else member(Role.SPECIALIST, {"agency": agency}),
        leader=member(Role.LEADER, {"agency": agency}),
        supervisor=member(Role.SUPERVISOR, {}),
        citizen=User.objects.get(pk=citizen_id),
        integration=user,
    )


def logged_in(user):
    from django.test import Client

    from dossiers.permissions import needs_second_factor
    from tests.helpers import pass_second_factor

    client = Client()
    client.force_login(user)
    if needs_second_factor(user):
        pass_second_factor(client, user)
    return client


def page_url(client, url: str, page: int) -> str | None:
    """The URL of page `page` of a keyset-paged list, reached by following its cursors."""
    for _i in range(page - 1):
        found = re.search(r"after=([\w-]+)", client.get(url).content.decode())
        if not found:
            return None
        separator = "&" if "?" in url else "?"
        url = re.sub(r"[?&]after=[\w-]+", "", url) + f"{separator}after={found.group(1)}"
    return url


# --- the benchmarks ----------------------------------------------------------------------------


def office(bench: Bench, who: Cast) -> None:
    from dossiers.models import Dossier, Procedure
    from dossiers.office.queues import tabs

    print("office queue")
    for user, tab_keys in (
        (who.reception, [t.key for t in tabs() if t.key != "mine"]),
        (who.specialist, ["mine"]),
    ):
        client = logged_in(user)
        for key in tab_keys:
            url = f"/office/?tab={key}"
            bench.time_get(client, url, name=f"queue tab {key}, page 1")
            deep = page_url(client, url, 50)
            if deep:
                bench.time_get(client, deep, name=f"queue tab {key}, page 50")
    client = logged_in(who.reception)
    procedure = (
        Procedure.objects.filter(dossiers__receiving_agency=who.agency).values("code").first()
    )
    if procedure:
        bench.time_get(
            client,
            f"/office/?tab=all&procedure={procedure['code']}",
            name="queue, procedure filter",
        )
    sample = (
        Dossier.objects.filter(receiving_agency=who.agency)
        .exclude(status="draft")
        .order_by("-id")
        .values("applicant", "code", "pk")
        .first()
    )
    applicant = sample["applicant"] or {}
    name_words = " ".join((applicant.get("full_name") or "").split()[-2:])
    bench.time_get(client, f"/office/?tab=all&q={name_words}", name="queue search by name")
    if applicant.get("id_number"):
        bench.time_get(
            client, f"/office/?tab=all&q={applicant['id_number']}", name="queue search by ID number"
        )
    bench.time_get(client, f"/office/?tab=all&q={sample['code']}", name="queue search by code")
    bench.time_get(client, f"/office/dossiers/{sample['pk']}/", name="official's dossier page")


def citizen(bench: Bench, who: Cast) -> None:
    from dossiers.models import Dossier

    print("citizen")
    client = logged_in(who.citizen)
    bench.time_get(client, "/my/dossiers/", name="citizen's dossier list")
    # A draft's page sends the citizen back to the form: the newest filed dossier.
    dossier = (
        Dossier.objects.filter(applicant_user=who.citizen)
        .exclude(status="draft")
        .order_by("-id")
        .first()
    )
    bench.time_get(client, f"/my/dossiers/{dossier.pk}/", name="citizen's dossier page")
    bench.time_get(client, "/procedures/", name="procedure catalogue (public)")


def api(bench: Bench, who: Cast) -> None:
    from django.test import Client

    from dossiers import tokens
    from dossiers.models import Dossier

    print("API")
    _token, key = tokens.issue(who.reception, "bench")
    headers = {"Authorization": f"Token {key}"}
    client = Client()
    bench.time_get(client, "/api/v1/dossiers/", name="API list", headers=headers)
    sample = (
        Dossier.objects.filter(receiving_agency=who.agency, code__isnull=False)
        .order_by("-id")
        .first()
    )
    bench.time_get(client, f"/api/v1/dossiers/{sample.code}/", name="API detail", headers=headers)
    name = ((sample.applicant or {}).get("full_name") or "").split()[-1:]
    bench.time_get(
        client,
        f"/api/v1/dossiers/?q={'+'.join(name)}",
        name="API list, name search",
        headers=headers,
    )
    return key


def supervision(bench: Bench, who: Cast) -> None:
    from dossiers.models import Dossier, DossierEvent

    print("supervision")
    client = logged_in(who.supervisor)
    event = DossierEvent.objects.filter(actor__isnull=False).order_by("-id").first()
    dossier = (
        Dossier.objects.filter(receiving_agency=who.agency)
        .exclude(status="draft")
        .order_by("-id")
        .first()
    )
    today = dt.date.today()
    filters = {
        "": "audit log, no filter",
        f"actor={event.actor.username}": "audit log by actor",
        f"agency={who.agency.pk}": "audit log by agency",
        "event_type=received": "audit log by event type",
        f"procedure={dossier.procedure.code}": "audit log by procedure",
        f"code={dossier.code}": "audit log by dossier code",
        f"date_from={today - dt.timedelta(days=30)}&date_to={today}": "audit log, last 30 days",
    }
    for query, name in filters.items():
        bench.time_get(client, f"/supervision/audit/?{query}", name=name)
    bench.time_get(client, "/supervision/access/", name="access log")
    year_from, year_to = today.replace(month=1, day=1) - dt.timedelta(days=365), today
    period = f"date_from={year_from}&date_to={year_to}"
    bench.time_get(
        client, f"/supervision/?{period}&agency={who.agency.pk}", name="indicators, commune-year"
    )
    bench.time_get(client, f"/supervision/?{period}", name="indicators, province-year")
    bench.time_get(client, f"/supervision/dossiers/{dossier.pk}/", name="supervisor's trail")
    bench.time_get(client, "/supervision/integrity/", name="integrity page")
    # The streamed register (small exports); a window over the streaming bound would answer
    # with a worker job instead, so the window shrinks until the register streams.
    for days in (30, 7, 1):
        window = f"date_from={today - dt.timedelta(days=days)}&date_to={today}"
        url = f"/supervision/export/register.csv?{window}&agency={who.agency.pk}"
        if client.get(url).status_code == 200:
            bench.time_get(
                client,
                url,
                name=f"register CSV, one commune, {days} days, time to first byte",
                runs=max(5, bench.runs // 3),
            )
            break
    response = client.get(f"/supervision/export/register.xlsx?{period}")
    bench.lines.append(
        f"Register XLSX, province-year, as requested: HTTP {response.status_code}"
        + (f" → {response['Location']}" if response.has_header("Location") else "")
    )


def action(bench: Bench, who: Cast) -> None:
    from dossiers import services
    from dossiers.models import Dossier
    from dossiers.workflow import Status

    print("one action")
    actor = services.Actor(user=who.reception, ip="127.0.0.1")
    waiting = list(
        Dossier.objects.filter(status=Status.SUBMITTED, receiving_agency=who.agency).order_by("id")[
            : bench.runs
        ]
    )
    samples = []
    for dossier in waiting:
        begin = time.perf_counter()
        services.dossier_receive(actor=actor, dossier=dossier)
        samples.append(time.perf_counter() - begin)
    if samples:
        row = Row("action `receive` (service; side effects on the worker)", samples, None, "B")
        bench.rows.append(row)
        print(f"  receive: {row.median:.1f} ms median over {len(samples)}")
    return waiting


def receipt(bench: Bench, received) -> None:
    """The receipt as the worker renders it (template, context, WeasyPrint), beside floor C."""
    from dossiers import slips
    from dossiers.models import Slip
    from dossiers.pdf import render_pdf

    print("receipt")
    if not received:
        return
    dossier = received[0]
    kind = Slip.Kind.RECEIPT
    event = slips._source_event(dossier, kind)
    render_pdf(slips.TEMPLATES[kind], slips._context(dossier, kind, event))  # fonts, once
    bench.time_call(
        lambda: render_pdf(slips.TEMPLATES[kind], slips._context(dossier, kind, event)),
        name="receipt PDF (context and rendering)",
        floor="C",
    )


def verify(bench: Bench) -> None:
    print("verify_audit")
    begin = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "manage.py", "verify_audit", "--no-record"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    seconds = time.perf_counter() - begin
    from dossiers.models import DossierEvent

    events = DossierEvent.objects.count()
    bench.lines.append(
        f"verify_audit: {events:,} events in {seconds:.1f} s = {events / seconds:,.0f} events/s "
        f"(exit {out.returncode}; {(out.stdout.strip().splitlines() or [out.stderr[-200:]])[-1]})"
    )
    print("  " + bench.lines[-1])


# --- HTTP throughput with gunicorn -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_until_serving(url: str, seconds: float = 90) -> None:
    """Until every gunicorn worker has booted, the master accepts connections it cannot answer."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def intake_body(who: Cast, portal_key: str) -> dict:
    """An intake the API accepts for one of the busiest commune's procedures: its required
    questions answered, its papers listed (probed once with the test client)."""
    from django.test import Client

    from dossiers.demo.scenarios import sample_answer
    from dossiers.models import Procedure

    applicant = {
        "full_name": "Trần Thị Bench",
        "id_number": "031190000001",
        "date_of_birth": "1990-01-01",
    }
    client, problems = Client(), []
    for procedure in Procedure.objects.filter(active=True).prefetch_related("fields", "documents"):
        body = {
            "procedure": procedure.code,
            "agency": who.agency.code,
            "channel": 4,
            "reference": f"bench-probe-{procedure.code}-{time.time_ns()}",
            "applicant": applicant,
            "form_data": {
                f.key: sample_answer(f, applicant) for f in procedure.fields.all() if f.required
            },
            "papers": [d.pk for d in procedure.documents.all()],
        }
        response = client.post(
            "/api/v1/dossiers/intake/",
            json.dumps(body, ensure_ascii=False),
            content_type="application/json",
            headers={"Authorization": f"Token {portal_key}"},
        )
        if response.status_code == 201:
            return {**body, "reference": "REF"}
        problems.append(f"{procedure.code}: {response.status_code} {response.content[:200]!r}")
    raise SystemExit("no procedure accepts the benchmark's intake:\n" + "\n".join(problems))


def throughput(bench: Bench, who: Cast, api_key: str, *, concurrency: int, seconds: int) -> None:
    if not shutil.which("wrk"):
        bench.lines.append(
            "HTTP throughput: not measured (wrk is not installed: apt-get install wrk)"
        )
        return
    from django.conf import settings

    from dossiers.models import Dossier

    print("gunicorn + wrk")
    port = free_port()
    static_root = tempfile.mkdtemp()
    env = os.environ.copy()
    env.update(
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        STATIC_ROOT=static_root,
        SECRET_KEY=settings.SECRET_KEY,
        # The key that sealed the seeded records (production refuses to start without one).
        ONESTOP_AUDIT_SIGNING_KEY=settings.ONESTOP_AUDIT_SIGNING_KEY,
        ONESTOP_AUDIT_SIGNING_KEY_FILE=settings.ONESTOP_AUDIT_SIGNING_KEY_FILE,
        # One portal key and one official make every request: production's per-client rates
        # would answer 429 after the first seconds and measure the throttle, not the server.
        API_THROTTLE_TOKEN="1000000/minute",
        API_THROTTLE_USER="1000000/minute",
        ONESTOP_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    server_log = Path(tempfile.mkdtemp()) / "gunicorn.log"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "onestop.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=server_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    print(f"  gunicorn's log: {server_log}")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/healthz")
        client = logged_in(who.reception)
        cookies = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
        sample = (
            Dossier.objects.filter(receiving_agency=who.agency, code__isnull=False)
            .order_by("-id")
            .first()
        )
        portal_key = __import__("dossiers.tokens", fromlist=["issue"]).issue(
            who.integration, "bench-wrk"
        )[1]
        script = Path(tempfile.mkdtemp()) / "submit.lua"
        body = intake_body(who, portal_key)
        script.write_text(
            "counter = 0\n"
            "local thread_id = math.random(1, 1000000000)\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            f"  local body = [[{json.dumps(body, ensure_ascii=False)}]]\n"
            "  body = string.gsub(body, 'REF', 'bench-' .. thread_id .. '-' .. counter)\n"
            "  return wrk.format('POST', '/api/v1/dossiers/intake/', "
            "{['Content-Type']='application/json', "
            f"['Authorization']='Token {portal_key}'}}, body)\n"
            "end\n"
        )
        for name, args in (
            ("queue page (reception)", ["-H", f"Cookie: {cookies}", f"{base}/office/"]),
            (
                "API detail",
                ["-H", f"Authorization: Token {api_key}", f"{base}/api/v1/dossiers/{sample.code}/"],
            ),
            ("submission (API intake)", ["-s", str(script), f"{base}/api/v1/dossiers/intake/"]),
        ):
            out = subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{concurrency}",
                    f"-d{seconds}s",
                    "--timeout",
                    "10s",
                    "--latency",
                    *args,
                ],
                capture_output=True,
                text=True,
            ).stdout
            rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
            if not rate:
                print(out)
            p50 = re.search(r"50%\s+([\d.]+\w+)", out)
            p99 = re.search(r"99%\s+([\d.]+\w+)", out)
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            bench.lines.append(
                f"wrk {name}, {concurrency} connections, {seconds} s, {workers} gunicorn workers: "
                f"{rate.group(1) if rate else '?'} requests/s, latency p50 "
                f"{p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}"
                + (f", {errors.group(1)} non-2xx" if errors else "")
            )
            print("  " + bench.lines[-1])
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        sizes = [rss_mb(int(pid)) for pid in children]
        bench.lines.append(
            "gunicorn worker RSS after the runs: " + ", ".join(f"{size:.0f} MB" for size in sizes)
        )
        print("  " + bench.lines[-1])
    finally:
        os.killpg(server.pid, signal.SIGINT)  # quick shutdown
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)


def pdf_memory(bench: Bench) -> None:
    script = ROOT / "bench" / "pdf_memory.py"
    if not script.exists():
        return
    print("worker memory over 1,000 renders")
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    bench.lines.append("bench/pdf_memory.py: " + " / ".join(out.stdout.strip().splitlines()[-8:]))
    print("  " + bench.lines[-1])


def run(args) -> None:
    from django.conf import settings
    from django.db import connection

    from dossiers.models import Dossier, DossierEvent

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("--scale runs on the PostgreSQL database filled by bench/seed.py")
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    logging.getLogger("axes").setLevel(logging.WARNING)  # one line per benchmark login
    logging.getLogger("onestop.request").setLevel(logging.WARNING)  # one line per request
    install_floor_view()
    dossiers, events = Dossier.objects.count(), DossierEvent.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    agencies = Dossier.objects.values("receiving_agency").distinct().count()
    print(f"{dossiers:,} dossiers, {events:,} events, {agencies} receiving agencies, {size}")
    bench = Bench(args.runs)
    who = cast()
    from django.test import Client

    measure_floors(bench, Client(), Dossier.objects.order_by("-id").values_list("pk").first()[0])
    office(bench, who)
    citizen(bench, who)
    api_key = api(bench, who)
    supervision(bench, who)
    received = action(bench, who)
    receipt(bench, received)
    if not args.skip_verify:
        verify(bench)
    if not args.skip_wrk:
        throughput(bench, who, api_key, concurrency=args.concurrency, seconds=args.seconds)
    pdf_memory(bench)
    busiest = Dossier.objects.filter(receiving_agency=who.agency).count()
    print()
    print(
        f"{dossiers:,} dossiers, {events:,} events over {agencies} receiving agencies ({size}); "
        f"busiest: {who.agency.name}, {busiest:,} dossiers; {args.runs} runs per row"
    )
    print(bench.table())
