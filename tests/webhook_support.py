"""What the webhook tests share: a real HTTP receiver on loopback, a guard that no connection
leaves 127.0.0.1, a fake resolver for names, and helpers to read what the receiver got."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Response

from dossiers.integrations import webhooks
from dossiers.models import Membership, WebhookSubscription
from dossiers.workflow import Role

User = get_user_model()

HOOK = "/hook"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No test of these files may open a connection anywhere but loopback, or resolve a name
    through DNS: a bug in the SSRF guard fails the test instead of reaching the network."""
    connect = socket.create_connection
    resolve = socket.getaddrinfo

    def guarded_connect(address, *args, **kwargs):
        host = address[0]
        assert host in ("127.0.0.1", "::1", "localhost"), f"connection to {host} attempted"
        return connect(address, *args, **kwargs)

    def guarded_resolve(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        try:
            ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            try:
                socket.inet_aton(str(host))  # numeric forms the resolver reads without DNS
            except OSError:
                assert host in ("localhost", None), f"DNS lookup of {host} attempted"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)


class FakeNames:
    """socket.getaddrinfo for made-up names: `names[name] = "10.0.0.7"` (or a list of answers,
    one per lookup). Literal addresses and localhost resolve as usual (without DNS)."""

    def __init__(self, monkeypatch):
        self.names: dict[str, object] = {}
        self.lookups: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host not in self.names:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(host)
        answer = self.names[host]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in answer else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, port))]


@pytest.fixture
def fake_names(monkeypatch, loopback_only):
    return FakeNames(monkeypatch)


class Receiver:
    """A real HTTP server on 127.0.0.1 whose answer a test switches: "ok", "error" (500 with
    a long body), "slow" (sleeps past the client's timeout)."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.mode = "ok"
        self.slow_seconds = 0.4
        server.expect_request(HOOK, method="POST").respond_with_handler(self._answer)

    def _answer(self, request):
        if self.mode == "error":
            return Response("lỗi máy nhận " + "x" * 2000, status=500)
        if self.mode == "slow":
            import time

            time.sleep(self.slow_seconds)
        return Response("đã nhận", status=200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{HOOK}"

    def requests(self):
        """What reached the receiver, in arrival order: (headers, body, status answered)."""
        return [
            (
                {k.lower(): v for k, v in request.headers.items()},
                request.get_data(as_text=True),
                response.status_code,
            )
            for request, response in self.server.log
            if request.path == HOOK
        ]

    def accepted(self):
        """The messages answered 2xx: (headers, parsed body)."""
        return [(h, json.loads(b)) for h, b, status in self.requests() if 200 <= status < 300]

    def ids(self):
        return [h["webhook-id"] for h, _b in self.accepted()]

    def types(self):
        return [body["type"] for _h, body in self.accepted()]


@pytest.fixture
def receiver(httpserver_ipv4, settings):
    """The receiver, and loopback allowed as a target (ONESTOP_WEBHOOK_ALLOWED_NETWORKS)."""
    settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return Receiver(httpserver_ipv4)


def verify(secret: str, headers: dict, body: str) -> dict:
    return Webhook(secret).verify(body, headers)


def integration_account(username, *agencies, email=""):
    user = User.objects.create_user(username=username, password="onestop-test", email=email)
    for agency in agencies:
        Membership.objects.create(user=user, agency=agency, role=Role.INTEGRATION)
    return user


def subscribe(owner, url, **settings) -> WebhookSubscription:
    return webhooks.subscription_create(owner=owner, url=url, **settings)


def delivery_jobs(*, ready_only=False):
    """Waiting jobs that carry deliveries: an action's fan-out, a subscription's delivery."""
    jobs = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path__in=[webhooks.deliver_webhooks.module_path, webhooks.fan_out.module_path],
    )
    return list(jobs.ready() if ready_only else jobs)


def come_due() -> None:
    """Planned retries are due now: as if their delay had passed (jobs and subscriptions)."""
    past = timezone.now() - dt.timedelta(seconds=1)
    DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=webhooks.deliver_webhooks.module_path
    ).update(run_after=past)
    WebhookSubscription.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)
