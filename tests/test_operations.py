"""The operations page of the connections (/supervision/integrations/) and /healthz: supervisors
and administrators see each subscription's state, lag and last attempts and the worker's queue;
only administrators pause, resume and replay; /healthz answers counts, cheaply, to anyone."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from werkzeug import Response

from dossiers import clock, tasks
from dossiers.integrations import operations, webhooks
from dossiers.models import DeliveryAttempt, FeedEntry, Membership, WebhookSubscription
from dossiers.workflow import Role, Status

from .helpers import browser_log_in
from .worker import run_jobs

User = get_user_model()

PAGE = "/supervision/integrations/"
HOOK = "/hook"


# --- a real receiver on loopback -----------------------------------------------------------------


class Receiver:
    """pytest-httpserver answering 500 with a recognisable body, or 200, as a test switches."""

    def __init__(self, server):
        self.server = server
        self.failing = True
        server.expect_request(HOOK, method="POST").respond_with_handler(self._answer)

    def _answer(self, request):
        if self.failing:
            return Response("máy nhận đang bảo trì " + "x" * 1000, status=500)
        return Response("đã nhận", status=200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{HOOK}"


@pytest.fixture
def receiver(httpserver, settings):
    settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return Receiver(httpserver)


def subscription_for(owner, url, **fields) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        owner=owner,
        url=url,
        secret=webhooks.new_secret(),
        cursor=webhooks.head_position(),
        created_at=timezone.now(),
        **fields,
    )


def come_due() -> None:
    """Planned retries are due now, as if their delay had passed."""
    past = timezone.now() - dt.timedelta(seconds=1)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=past)
    WebhookSubscription.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", "root@example.vn", "onestop-test")


@pytest.fixture
def failing(receiver, admin, make_dossier):
    """A subscription whose endpoint answered 500 to the first of two events."""
    subscription = subscription_for(admin, receiver.url)
    dossier = make_dossier(Status.RECEIVED)  # submitted, received: two feed entries
    run_jobs()  # e-mails, slips, and the delivery that fails (its retry is planned later)
    return subscription, dossier


def as_user(client, user):
    client.force_login(user)
    return client


def forms_of(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)"', html)


# --- who sees the page ---------------------------------------------------------------------------


def test_supervisor_reads_the_page_without_buttons_and_may_not_act(client, supervisor, failing):
    subscription, _dossier = failing
    response = as_user(client, supervisor).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert subscription.url in html and "HTTP 500" in html
    actions = [a for a in forms_of(html) if "/supervision/integrations/" in a]
    assert actions == []
    assert "/supervision/integrations/" in html  # the navigation's link
    for verb in ("pause", "resume", "replay"):
        refused = client.post(f"{PAGE}{subscription.pk}/{verb}/", {"after": "0"})
        assert refused.status_code == 403
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert fresh.state == WebhookSubscription.State.ACTIVE and fresh.cursor == subscription.cursor


def test_administrator_without_supervisor_role_reads_the_page_with_buttons(client, admin, failing):
    subscription, _dossier = failing
    assert not Membership.objects.filter(user=admin).exists()
    html = as_user(client, admin).get(PAGE).content.decode()
    assert f"{PAGE}{subscription.pk}/pause/" in forms_of(html)
    assert f"{PAGE}{subscription.pk}/replay/" in forms_of(html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'href="/supervision/integrations/"' in html  # the navigation's link


def test_others_are_refused_and_anonymous_users_sent_to_log_in(client, citizen, reception, failing):
    subscription, _dossier = failing
    for user in (citizen, reception):
        assert as_user(client, user).get(PAGE).status_code == 403
        assert client.post(f"{PAGE}{subscription.pk}/pause/").status_code == 403
        client.logout()
    for response in (client.get(PAGE), client.post(f"{PAGE}{subscription.pk}/pause/")):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert WebhookSubscription.objects.get(pk=subscription.pk).state == "active"


def test_actions_need_post_and_csrf(admin, failing):
    from django.test import Client

    subscription, _dossier = failing
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    assert strict.get(f"{PAGE}{subscription.pk}/pause/").status_code == 405
    assert strict.post(f"{PAGE}{subscription.pk}/pause/").status_code == 403  # no CSRF token
    assert WebhookSubscription.objects.get(pk=subscription.pk).state == "active"


# --- what the page shows -------------------------------------------------------------------------


def test_lag_and_last_failure_then_last_success(client, supervisor, receiver, failing):
    subscription, dossier = failing
    entries = list(FeedEntry.objects.filter(dossier=dossier).order_by("position"))
    assert [e.event_type for e in entries] == ["dossier.submitted", "dossier.received"]
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert attempt.status_code == 500 and not attempt.succeeded

    page = as_user(client, supervisor).get(PAGE)
    (overview,) = page.context["subscriptions"]
    assert overview.waiting == 2
    assert overview.oldest_waiting_at == entries[0].created_at
    assert overview.failing and not overview.paused
    assert overview.recent_failures == [attempt] and overview.last_success is None
    html = page.content.decode()
    assert "2 sự kiện chờ gửi" in html
    assert "HTTP 500" in html and "máy nhận đang bảo trì" in html  # the response's first bytes
    assert "x" * 250 not in html  # only the head of the head
    assert "1 lần gửi lỗi liên tiếp" in html and "thử lại lúc" in html
    assert subscription.secret not in html

    receiver.failing = False
    come_due()
    run_jobs()
    page = client.get(PAGE)
    (overview,) = page.context["subscriptions"]
    assert overview.waiting == 0 and overview.oldest_waiting_at is None
    assert not overview.failing
    assert overview.last_success.entry == entries[1]
    assert overview.recent_failures == [attempt]  # still listed, with its time
    html = page.content.decode()
    assert "Đã gửi hết" in html
    assert f"vị trí {entries[1].position}, mã phản hồi 200" in html


def test_worker_state_is_shown(client, supervisor, make_dossier):
    make_dossier(Status.SUBMITTED)  # its e-mail and slip jobs wait: no worker ran
    backlog = tasks.backlog()
    assert backlog > 0
    oldest = DBTaskResult.objects.ready().order_by("enqueued_at").first()
    DBTaskResult.objects.filter(pk=oldest.pk).update(
        enqueued_at=timezone.now() - dt.timedelta(minutes=3)
    )
    failed = DBTaskResult.objects.ready().exclude(pk=oldest.pk).first()
    DBTaskResult.objects.filter(pk=failed.pk).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path="builtins.RuntimeError",
    )
    page = as_user(client, supervisor).get(PAGE)
    worker = page.context["worker"]
    assert worker.backlog == backlog - 1
    assert 175 <= worker.oldest_due_seconds <= 200
    assert worker.running == 0 and worker.failed_recently == 1
    html = page.content.decode()
    assert "builtins.RuntimeError" in html and failed.task_path in html


# --- what administrators do ----------------------------------------------------------------------


def test_administrator_pauses_resumes_and_replays(client, admin, receiver, failing):
    subscription, _dossier = failing
    as_user(client, admin)
    back = f"{PAGE}#subscription-{subscription.pk}"

    response = client.post(f"{PAGE}{subscription.pk}/pause/")
    assert response.status_code == 302 and response["Location"] == back
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert fresh.state == "paused" and "root" in fresh.paused_reason
    html = client.get(PAGE).content.decode()
    assert "Tạm dừng" in html and fresh.paused_reason in html
    assert f"{PAGE}{subscription.pk}/resume/" in forms_of(html)
    assert f"{PAGE}{subscription.pk}/pause/" not in forms_of(html)
    # Paused twice: nothing changes, and the administrator is told.
    again = client.post(f"{PAGE}{subscription.pk}/pause/", follow=True)
    assert "đã tạm dừng từ trước" in again.content.decode()

    receiver.failing = False
    assert client.post(f"{PAGE}{subscription.pk}/resume/").status_code == 302
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert fresh.state == "active" and fresh.paused_reason == "" and fresh.failures == 0
    run_jobs()  # the resume retried at once
    fresh.refresh_from_db()
    assert fresh.cursor == webhooks.head_position()
    assert client.get(PAGE).context["subscriptions"][0].waiting == 0

    response = client.post(f"{PAGE}{subscription.pk}/replay/", {"after": str(subscription.cursor)})
    assert response.status_code == 302
    fresh.refresh_from_db()
    assert fresh.cursor == subscription.cursor
    page = client.get(PAGE)
    assert page.context["subscriptions"][0].waiting == 2
    assert "sẽ nhận lại các sự kiện sau vị trí" in page.content.decode()
    run_jobs()
    delivered = DeliveryAttempt.objects.filter(subscription=subscription, succeeded=True)
    assert delivered.count() == 4  # both events, once after the resume and once replayed
    assert len({a.webhook_id for a in delivered}) == 2  # with their original ids


@pytest.mark.parametrize("after", ["abc", "-1", "", "99999", "1.5"])
def test_a_bad_replay_position_is_a_form_error(client, admin, failing, after):
    subscription, _dossier = failing
    response = as_user(client, admin).post(f"{PAGE}{subscription.pk}/replay/", {"after": after})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="after-{subscription.pk}-error"' in html
    assert 'aria-invalid="true"' in html
    assert "Chưa gửi lại được" in html
    if after == "99999":
        assert f"từ 0 đến {subscription.cursor}" in html
    assert WebhookSubscription.objects.get(pk=subscription.pk).cursor == subscription.cursor


def test_unknown_subscription_is_404(client, admin, db):
    assert as_user(client, admin).post(f"{PAGE}999/pause/").status_code == 404


def test_domain_actions_refuse_non_administrators(supervisor, failing):
    from dossiers.errors import Forbidden

    subscription, _dossier = failing
    for act in (operations.pause, operations.resume):
        with pytest.raises(Forbidden):
            act(supervisor, subscription)
    with pytest.raises(Forbidden):
        operations.replay(supervisor, subscription, after=0)


# --- cost ----------------------------------------------------------------------------------------


def integration_account(username, agency):
    user = User.objects.create_user(username=username, password="onestop-test")
    Membership.objects.create(user=user, agency=agency, role=Role.INTEGRATION)
    return user


def test_the_page_takes_the_same_queries_for_one_or_many_subscriptions(
    client,
    admin,
    receiver,
    failing,
    commune,
    other_commune,
    procedure,
    make_dossier,
    django_assert_max_num_queries,
):
    as_user(client, admin)
    with CaptureQueriesContext(connection) as one:
        assert client.get(PAGE).status_code == 200
    for n, agency in enumerate([commune, other_commune, commune, other_commune, commune]):
        subscription = subscription_for(
            integration_account(f"system{n}", agency),
            receiver.url,
            event_types=["dossier.received"] if n % 2 else [],
        )
        subscription.agencies.set([agency])
        subscription.procedures.set([procedure] if n % 2 else [])
    make_dossier(Status.RECEIVED)
    run_jobs()  # six subscriptions, each with a failed attempt now
    assert DeliveryAttempt.objects.values("subscription").distinct().count() == 4
    with django_assert_max_num_queries(len(one)):
        page = client.get(PAGE)
    overviews = page.context["subscriptions"]
    assert len(overviews) == 6
    # The integration accounts see their own agency's dossiers only (the commune's here).
    by_owner = {o.subscription.owner.username: o for o in overviews}
    assert by_owner["system1"].waiting == 0  # other commune
    assert by_owner["system0"].waiting == 2 and by_owner["system2"].waiting == 2
    assert by_owner["system4"].waiting == 2


# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_shape_and_counts(client, admin, make_dossier, django_assert_max_num_queries):
    from django.core.cache import cache

    cache.delete("onestop:healthz:webhooks")
    with django_assert_max_num_queries(18):  # 12 + reading and storing the cached counts
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.json()
    assert body == {
        "database": "ok",
        "worker": {
            "backlog": 0,
            "oldest_due_seconds": 0,
            "running": 0,
            "last_sweep_seconds": None,
        },
        "webhooks": {"active": 0, "paused": 0, "lagging": 0},
    }

    tasks.sweep.enqueue()  # a job due now
    paused = subscription_for(admin, "https://example.invalid/hook")
    webhooks.pause(paused, "test")
    lagging = subscription_for(admin, "https://example.invalid/hook")
    fresh = subscription_for(admin, "https://example.invalid/hook")
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    with clock.frozen(an_hour_ago):
        make_dossier(Status.SUBMITTED)  # an event an hour old waits for `lagging`
    # `fresh` delivered up to the head (as if it had sent it all).
    WebhookSubscription.objects.filter(pk=fresh.pk).update(cursor=webhooks.head_position())
    assert lagging.pk

    # The subscriptions' counts are kept for a few seconds (they scan the backlog)...
    assert client.get("/healthz").json()["webhooks"] == {"active": 0, "paused": 0, "lagging": 0}
    cache.delete("onestop:healthz:webhooks")  # ...then counted again
    with django_assert_max_num_queries(18):
        body = client.get("/healthz").json()
    assert body["database"] == "ok"
    assert body["worker"]["backlog"] == tasks.backlog() >= 1
    assert body["worker"]["running"] == 0
    assert body["webhooks"] == {"active": 2, "paused": 1, "lagging": 1}
    assert "Nguyễn" not in client.get("/healthz").content.decode()


def test_healthz_oldest_due_job(client, db):
    tasks.sweep.enqueue()
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=90))
    worker = client.get("/healthz").json()["worker"]
    assert worker["backlog"] == 1 and 90 <= worker["oldest_due_seconds"] < 120
    # A job planned for later is not due.
    DBTaskResult.objects.update(run_after=timezone.now() + dt.timedelta(minutes=5))
    assert client.get("/healthz").json()["worker"]["backlog"] == 0


# The 503 when the database does not answer: tests/test_serving.py (a real failed connection).


# --- accessibility -------------------------------------------------------------------------------

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.mark.django_db(transaction=True)
def test_the_page_has_no_wcag_violations(live_server, browser_page, receiver, make_dossier):
    from axe_playwright_python.sync_playwright import Axe

    admin = User.objects.create_superuser("root", "root@example.vn", "onestop-test")
    subscription = subscription_for(admin, receiver.url, event_types=["dossier.received"])
    paused = subscription_for(admin, receiver.url)
    make_dossier(Status.RECEIVED)
    run_jobs()
    webhooks.pause(paused, "Bảo trì")
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "root")
    page.goto(base + PAGE)
    assert page.locator(f"#subscription-{subscription.pk}").count() == 1

    def violations():
        found = Axe().run(page, options=WCAG).response["violations"]
        return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]

    assert violations() == []
    # A refused replay: the error sits by its field, and the page is still accessible.
    field = page.locator(f"#after-{subscription.pk}")
    field.evaluate("input => input.removeAttribute('max')")
    field.fill("99")
    page.locator(f"#subscription-{subscription.pk} form[action$='/replay/'] button").click()
    page.wait_for_load_state()
    assert page.locator(f"#after-{subscription.pk}-error").count() == 1
    assert violations() == []
