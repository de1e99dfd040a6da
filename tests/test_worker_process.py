"""The real worker, as `manage.py run_worker` processes on PostgreSQL: it delivers what the
actions committed, and a worker killed (SIGKILL) between sending and recording loses nothing:
the next worker sends the same event again, with the same webhook-id."""

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from dossiers import services
from dossiers.integrations import webhooks
from dossiers.models import WebhookSubscription
from dossiers.workflow import Status

from .conftest import actor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


class SlowReceiver:
    """A receiver on 127.0.0.1 that notes every POST's webhook-id at once, and holds the answer
    to the first one for `hold` seconds (time to kill the worker waiting for it)."""

    def __init__(self, hold: float):
        self.ids: list[str] = []
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.ids.append(self.headers["webhook-id"])
                if len(receiver.ids) == 1:
                    receiver.first_arrived.set()
                    time.sleep(hold)
                try:
                    self.send_response(204)
                    self.end_headers()
                except OSError:
                    pass  # the worker died meanwhile

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # closing does not wait for the held answer
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _worker(**extra_env) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "DEBUG": "0",
        "ONESTOP_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_worker_loses_nothing(make_dossier, reception):
    receiver = SlowReceiver(hold=30)
    admin = get_user_model().objects.create_superuser("hooks-admin", "a@example.vn", "x")
    subscription = WebhookSubscription.objects.create(
        owner=admin,
        url=receiver.url,
        secret=webhooks.new_secret(),
        cursor=webhooks.head_position(),
        created_at=timezone.now(),
    )
    dossier = make_dossier(Status.SUBMITTED)  # before the subscription's cursor: not sent
    subscription.refresh_from_db()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(cursor=webhooks.head_position())
    services.dossier_receive(actor=actor(reception), dossier=dossier)  # committed, with its job
    first = _worker()
    try:
        assert receiver.first_arrived.wait(timeout=30), "the worker never delivered"
        first.send_signal(signal.SIGKILL)  # sent, not yet recorded
        first.wait(timeout=10)
        # The next worker finds the job still marked running, puts it back (any running job is
        # stale at once here), waits for the dead worker's lease to run out and sends the event
        # again.
        second = _worker(ONESTOP_STALE_JOB_SECONDS="0", ONESTOP_WEBHOOK_TIMEOUT_SECONDS="2")
        try:
            # After the dead worker's lease runs out (its timeout, 10 s, plus 5 s).
            assert _wait(lambda: len(receiver.ids) >= 2, timeout=45), receiver.ids
            assert _wait(
                lambda: (
                    WebhookSubscription.objects.get(pk=subscription.pk).cursor
                    == webhooks.head_position()
                )
            )
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        receiver.close()
    assert receiver.ids[0] == receiver.ids[1]  # the same event, with the same id
    assert len(set(receiver.ids)) == 1
