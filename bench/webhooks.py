"""Webhook delivery: throughput with one and with two workers, and the time from an action's
commit to its delivery.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onestop_bench_hooks \\
      .venv/bin/python bench/webhooks.py [--dossiers 200] [--subscriptions 4]

The database is migrated and emptied of dossiers' feed first (use a throw-away database). A
receiver on 127.0.0.1 answers 204 to every delivery and notes when each arrived; workers are
real `manage.py run_worker` processes. One subscription is delivered in order by one worker at a
time, so a second worker helps when there are several subscriptions (as in a province: the
national portal, the provincial platform, agencies' systems).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Receiver:
    """An HTTP endpoint on loopback that records (webhook-id, arrival time) of each POST."""

    def __init__(self):
        self.arrivals: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.arrivals.append((self.headers["webhook-id"], time.time()))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def wait_for(self, total: int, timeout: float) -> float:
        start = time.time()
        while self.count() < total:
            if time.time() - start > timeout:
                raise SystemExit(f"only {self.count()} of {total} deliveries in {timeout} s")
            time.sleep(0.02)
        return time.time() - start


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _i in range(count)
    ]


def stop(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=200, help="dossiers walked to returned")
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--latency-actions", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
        "ALLOWED_HOSTS": "testserver",
        # Required with DEBUG off (onestop.E002, checked by the workers' run_worker).
        "ONESTOP_PUBLIC_URL": "http://testserver",
        "SECURE_SSL_REDIRECT": "0",
        "ONESTOP_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DJANGO_SETTINGS_MODULE": "onestop.settings",
        "MEDIA_ROOT": tempfile.mkdtemp(),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {vendor}; python {sys.version.split()[0]}")

    from django_tasks_db.models import DBTaskResult

    from dossiers import outbox
    from dossiers.demo import scenarios
    from dossiers.demo.seeding import seed_demo
    from dossiers.integrations import webhooks
    from dossiers.models import Agency, FeedEntry, Procedure, WebhookSubscription
    from dossiers.workflow import Role, Status

    seed_demo(dossiers=0, log=lambda *_a: None)
    DBTaskResult.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    admin = get_user_model().objects.get(username="admin")
    users = get_user_model().objects.filter(memberships__agency__code__endswith="01.H27")
    commune = Agency.objects.get(code__endswith="01.H27")
    cast = scenarios.Cast(
        citizen=get_user_model().objects.get(username="citizen"),
        reception=users.filter(memberships__role=Role.RECEPTION).first(),
        specialist=users.filter(memberships__role=Role.SPECIALIST).first(),
        leader=users.filter(memberships__role=Role.LEADER).first(),
    )
    procedure = next(
        p
        for p in Procedure.objects.filter(
            active=True, fee_due_later=False, competent_level="commune"
        )
        if p.accepts(2)  # filed online by the demo citizen
    )
    receiver = Receiver()

    def subscribe(cursor):
        subscription = WebhookSubscription.objects.create(
            owner=admin,
            url=receiver.url,
            secret=webhooks.new_secret(),
            cursor=cursor,
            created_at=django.utils.timezone.now(),
        )
        return subscription

    # 1. Throughput: a backlog of events, then workers deliver it to every subscription.
    start_position = webhooks.head_position()
    with outbox.muted():  # e-mails and slips are not what is measured here
        for _i in range(args.dossiers):
            scenarios.make_dossier(Status.RETURNED, cast=cast, procedure=procedure, agency=commune)
    events = FeedEntry.objects.filter(position__gt=start_position).count()
    print(f"backlog: {events} events of {args.dossiers} dossiers walked to returned")
    for workers_count in (1, 2):
        receiver.arrivals.clear()
        WebhookSubscription.objects.all().delete()
        DBTaskResult.objects.all().delete()
        for _i in range(args.subscriptions):
            subscribe(start_position)
        webhooks.kick_pending()
        total = events * args.subscriptions
        workers = start_workers(workers_count, env)
        try:
            seconds = receiver.wait_for(total, timeout=900)
        finally:
            stop(workers)
        ids = [i for i, _t in receiver.arrivals]
        assert len(ids) == total, (len(ids), total)
        print(
            f"throughput, {workers_count} worker(s), {args.subscriptions} subscriptions: "
            f"{total} deliveries in {seconds:.1f} s = {total / seconds:.0f} deliveries/s"
        )

    # 2. Commit to delivery: one subscription, one worker running, actions at a steady pace.
    receiver.arrivals.clear()
    WebhookSubscription.objects.all().delete()
    DBTaskResult.objects.all().delete()
    subscribe(webhooks.head_position())
    workers = start_workers(1, env)
    committed: dict[str, float] = {}
    try:
        time.sleep(2)  # the worker is up
        with outbox.muted():
            made = 0
            while len(committed) < args.latency_actions:
                before = webhooks.head_position()
                scenarios.make_dossier(
                    Status.RECEIVED, cast=cast, procedure=procedure, agency=commune
                )
                now = time.time()
                for position in range(before + 1, webhooks.head_position() + 1):
                    committed[f"evt_{position}"] = now
                made += 1
                time.sleep(0.05)
        receiver.wait_for(len(committed), timeout=120)
    finally:
        stop(workers)
    arrived = dict(receiver.arrivals)
    latencies = sorted((arrived[i] - committed[i]) * 1000 for i in committed)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"commit to delivery ({len(latencies)} events, worker polling every 50 ms): "
        f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms"
    )


if __name__ == "__main__":
    main()
