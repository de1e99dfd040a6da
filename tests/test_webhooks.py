"""Webhook deliveries to a real HTTP receiver on loopback, run by the real worker code: every
action arrives once, in order, signed; outages lose nothing and keep the order; a long outage
pauses the subscription and tells the administrators; a worker dying after sending sends again
with the same id; a rolled-back action sends nothing; internal targets are refused."""

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient
from standardwebhooks import WebhookVerificationError

from dossiers import services, tasks
from dossiers.demo.scenarios import pdf_upload, step
from dossiers.integrations import feed, national_portal, webhooks
from dossiers.models import DeliveryAttempt, Dossier, FeedEntry, WebhookSubscription
from dossiers.workflow import Action, Status

from . import webhook_support
from .conftest import actor
from .helpers import fire
from .webhook_support import (
    HOOK,
    Receiver,
    come_due,
    delivery_jobs,
    integration_account,
    subscribe,
    verify,
)
from .worker import run_jobs

# The shared fixtures (webhook_support.py), used here by name.
fake_names = webhook_support.fake_names
loopback_only = webhook_support.loopback_only
receiver = webhook_support.receiver

LIFE = [
    "dossier.submitted",
    "dossier.received",
    "dossier.assigned",
    "dossier.proposed",
    "dossier.approved",
    "dossier.returned",
    "dossier.rated",
]


def file_through_the_api(citizen, procedure, commune) -> Dossier:
    cache.clear()  # no throttle carried over
    me = APIClient()
    me.force_authenticate(citizen)
    draft = me.post(
        "/api/v1/dossiers/", {"procedure": procedure.code, "agency": commune.code}, format="json"
    ).json()
    url = f"/api/v1/dossiers/{draft['ref']}/"
    me.patch(url, {"form_data": {"full_name": "Nguyễn Văn An", "purpose": "Kết hôn"}}, "json")
    document = procedure.documents.get(required=True, kind="submit")
    attached = me.post(
        f"{url}attachments/", {"document_type": document.pk, "file": pdf_upload()}, "multipart"
    )
    assert attached.status_code == 201, attached.content
    submitted = me.post(f"{url}actions/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    return Dossier.objects.get(code=submitted.json()["code"])


def test_a_dossiers_whole_life_reaches_the_receiver_once_in_order_signed(
    receiver, admin_user, cast, citizen, procedure, commune
):
    subscription = subscribe(admin_user, receiver.url)
    dossier = file_through_the_api(citizen, procedure, commune)
    for action in ("receive", "assign", "propose", "approve", "return_result"):
        dossier = step(dossier, action, cast)
        run_jobs()  # the worker keeps up with some actions, ...
    fire(Action.RATE, dossier, citizen, {})
    run_jobs()
    run_jobs()  # ... and a second run finds nothing more to send

    entries = list(FeedEntry.objects.filter(dossier=dossier).order_by("position"))
    assert [e.event_type for e in entries] == LIFE
    assert receiver.types() == LIFE  # each once, in feed order
    assert receiver.ids() == [feed.webhook_id(e) for e in entries]
    for (headers, body, status), entry in zip(receiver.requests(), entries, strict=True):
        assert status == 200
        assert verify(subscription.secret, headers, body) == feed.message(entry, personal=False)
        assert "applicant" not in verify(subscription.secret, headers, body)["data"]
        assert headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            verify(webhooks.new_secret(), headers, body)  # a wrong secret fails
    tampered = body.replace(dossier.code, "X" + dossier.code[1:])
    with pytest.raises(WebhookVerificationError):
        verify(subscription.secret, headers, tampered)

    subscription.refresh_from_db()
    assert subscription.cursor == entries[-1].position and subscription.failures == 0
    attempts = DeliveryAttempt.objects.filter(subscription=subscription)
    assert attempts.count() == len(LIFE) and all(a.succeeded for a in attempts)
    assert {a.response_head for a in attempts} == {"đã nhận"}
    assert webhooks.lag(subscription) is None


def test_personal_data_only_when_asked(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url, include_personal_data=True)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    ((headers, body, _status),) = receiver.requests()
    data = verify(subscription.secret, headers, body)["data"]
    assert data["applicant"] == {
        "full_name": "Nguyễn Văn An",
        "id_number": "031090001234",
        "date_of_birth": "1990-05-17",
    }


def test_national_portal_profile(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(
        admin_user, receiver.url, profile=WebhookSubscription.Profile.NATIONAL_PORTAL
    )
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    ((headers, body, _status),) = receiver.requests()
    message = verify(subscription.secret, headers, body)
    entry = FeedEntry.objects.get(dossier=dossier, event_type="dossier.received")
    assert message == national_portal.message(entry, personal=False)
    assert message["data"]["MaHoSo"] == dossier.code
    assert message["data"]["TrangThaiHoSo"] == 2 and message["data"]["NgayHenTra"]
    assert "ChuHoSo" not in message["data"]


def test_filters_event_types_and_procedures(
    receiver, admin_user, make_dossier, reception, cast, paused_procedure
):
    first = make_dossier(Status.SUBMITTED)
    second = make_dossier(Status.SUBMITTED, procedure=paused_procedure)
    received_only = subscribe(admin_user, receiver.url, event_types=["dossier.received"])
    other_procedure = subscribe(admin_user, receiver.url + "?p", procedures=[paused_procedure])
    for dossier in (first, second):
        received = services.dossier_receive(actor=actor(reception), dossier=dossier)
        services.dossier_add_note(actor=actor(reception), dossier=received, text="nội bộ")
    step(Dossier.objects.get(pk=first.pk), "assign", cast)
    run_jobs()
    by_subscription = {}
    for headers, body, _status in receiver.requests():
        for s in (received_only, other_procedure):
            try:
                message = verify(s.secret, headers, body)
            except WebhookVerificationError:
                continue
            by_subscription.setdefault(s.pk, []).append(
                (message["type"], message["data"]["dossier"]["code"])
            )
    assert by_subscription[received_only.pk] == [
        ("dossier.received", first.code),
        ("dossier.received", second.code),
    ]
    assert by_subscription[other_procedure.pk] == [("dossier.received", second.code)]


def test_outages_lose_nothing_and_keep_the_order(
    settings, admin_user, make_dossier, reception, cast
):
    """Refused connections, then 500s, then a timeout, then back: each attempt recorded, retries
    planned with growing delays, later events waiting behind the failing one."""
    from pytest_httpserver import HTTPServer

    settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS = 0.2
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    receiver = Receiver(server)
    server.stop()  # the port stays ours: connections are refused
    try:
        dossier = make_dossier(Status.SUBMITTED)
        run_jobs()
        subscription = subscribe(admin_user, receiver.url)
        dossier = services.dossier_receive(actor=actor(reception), dossier=dossier)
        run_jobs()
        (refused,) = DeliveryAttempt.objects.filter(subscription=subscription)
        assert not refused.succeeded and refused.status_code is None
        assert "ConnectError" in refused.error

        # A later event waits behind the failing one: its job sends nothing.
        step(dossier, "assign", cast)
        assert len(delivery_jobs(ready_only=True)) == 1
        run_jobs()
        assert DeliveryAttempt.objects.filter(subscription=subscription).count() == 1

        server.start()
        receiver.mode = "error"
        come_due()
        run_jobs()
        receiver.mode = "slow"
        come_due()
        run_jobs()
        receiver.mode = "ok"
        come_due()
        run_jobs()
    finally:
        if server.is_running():
            server.stop()

    attempts = list(DeliveryAttempt.objects.filter(subscription=subscription).order_by("id"))
    assert [(a.entry.event_type, a.succeeded) for a in attempts] == [
        ("dossier.received", False),
        ("dossier.received", False),
        ("dossier.received", False),
        ("dossier.received", True),
        ("dossier.assigned", True),
    ]
    refused, error, timeout, ok, _next = attempts
    assert error.status_code == 500 and error.response_head.startswith("lỗi máy nhận xxx")
    assert len(error.response_head.encode()) <= webhooks.RESPONSE_HEAD_BYTES
    assert timeout.status_code is None and "Timeout" in timeout.error
    assert timeout.duration_ms >= 200
    assert ok.status_code == 200 and ok.response_head == "đã nhận"
    assert {a.webhook_id for a in attempts[:4]} == {attempts[0].webhook_id}
    # What the receiver saw: the 500 and the good answers (the timed-out request too, late).
    assert receiver.types() == ["dossier.received", "dossier.received", "dossier.assigned"]
    subscription.refresh_from_db()
    assert (subscription.failures, subscription.failing_since) == (0, None)
    assert subscription.next_attempt_at is None


def test_retries_are_planned_with_growing_delays(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    receiver.mode = "error"
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    delays = []
    for _attempt in range(4):
        run_jobs()
        subscription.refresh_from_db()
        last = DeliveryAttempt.objects.filter(subscription=subscription).first()
        (retry,) = delivery_jobs()
        assert retry.run_after == subscription.next_attempt_at  # not due yet
        assert not delivery_jobs(ready_only=True)
        delays.append(round((retry.run_after - last.attempted_at).total_seconds()))
        come_due()
    assert delays == [5, 10, 20, 40]
    assert subscription.failures == 4


def test_a_long_outage_pauses_and_tells_the_administrators(
    receiver, admin_user, commune, make_dossier, reception, settings
):
    owner = integration_account("platform", commune, email="platform@example.vn")
    first, second = make_dossier(Status.SUBMITTED), make_dossier(Status.SUBMITTED)
    run_jobs()
    mail.outbox.clear()
    subscription = subscribe(owner, receiver.url)
    receiver.mode = "error"
    services.dossier_receive(actor=actor(reception), dossier=first)
    run_jobs()
    # Failing since longer than ONESTOP_WEBHOOK_RETRY_HOURS: the next failure pauses.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now()
        - dt.timedelta(hours=settings.ONESTOP_WEBHOOK_RETRY_HOURS, minutes=1)
    )
    come_due()
    run_jobs()
    subscription.refresh_from_db()
    assert subscription.state == WebhookSubscription.State.PAUSED
    assert subscription.paused_reason.startswith("2 lần gửi lỗi liên tiếp")
    assert not delivery_jobs()  # no retry planned
    to_admins, to_owner = [m for m in mail.outbox if "tạm dừng" in m.subject]
    assert to_admins.to == [admin_user.email] and to_owner.to == ["platform@example.vn"]
    assert f"#{subscription.pk}" in to_admins.subject and receiver.url in to_admins.body

    # Paused: events wait (no job), then resume delivers them all, in order.
    services.dossier_receive(actor=actor(reception), dossier=second)
    assert not delivery_jobs()
    run_jobs()
    assert receiver.types() == []
    receiver.mode = "ok"
    webhooks.resume(subscription)
    run_jobs()
    assert [b["data"]["dossier"]["code"] for _h, b in receiver.accepted()] == [
        first.code,
        second.code,
    ]
    subscription.refresh_from_db()
    assert subscription.state == "active" and subscription.paused_reason == ""


def test_a_mail_server_down_retries_the_pause_notice(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    mail.outbox.clear()
    subscription = subscribe(admin_user, receiver.url)
    receiver.mode = "error"
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - dt.timedelta(days=2)
    )
    come_due()
    with mock.patch.object(webhooks, "send_mail", side_effect=ConnectionRefusedError("smtp")):
        run_jobs()
    (retry,) = DBTaskResult.objects.filter(
        task_path=webhooks.tell_paused.module_path, status=TaskResultStatus.READY
    )
    assert retry.args_kwargs["args"][2] == 2 and retry.run_after > timezone.now()
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_jobs()
    (notice,) = [m for m in mail.outbox if "tạm dừng" in m.subject]
    assert notice.to == [admin_user.email]


def test_a_worker_killed_between_sending_and_recording_sends_again_with_the_same_id(
    receiver, admin_user, make_dossier, reception, settings
):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    subscription = subscribe(admin_user, receiver.url)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    (job,) = delivery_jobs(ready_only=True)
    job.claim("doomed-worker")  # as the worker takes it

    class Killed(BaseException):
        pass

    # The POST goes out; the process dies before the delivery is recorded: the transaction
    # that would have moved the cursor rolls back.
    with mock.patch.object(webhooks, "_progress", side_effect=Killed), pytest.raises(Killed):
        webhooks.deliver_pending(subscription.pk)
    assert len(receiver.requests()) == 1
    assert not DeliveryAttempt.objects.filter(subscription=subscription).exists()
    subscription.refresh_from_db()
    assert subscription.cursor == webhooks.head_position() - 1

    # The sweep finds the job still marked running long after it started: ready again.
    settings.ONESTOP_STALE_JOB_SECONDS = 60
    DBTaskResult.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert tasks.requeue_stale() == 1
    run_jobs()
    (first, second) = receiver.requests()
    entry = FeedEntry.objects.get(event_type="dossier.received")
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == feed.webhook_id(entry)
    assert verify(subscription.secret, second[0], second[1])["type"] == "dossier.received"
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert attempt.succeeded
    subscription.refresh_from_db()
    assert subscription.cursor == webhooks.head_position()


def test_a_rolled_back_action_sends_nothing(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    subscribe(admin_user, receiver.url)
    entries = FeedEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.dossier_receive(actor=actor(reception), dossier=dossier)
        assert FeedEntry.objects.count() == entries + 1 and delivery_jobs()  # inside, yes
        raise RuntimeError("the request failed after the action")
    assert FeedEntry.objects.count() == entries
    assert not delivery_jobs()
    run_jobs()
    assert receiver.requests() == []
    assert Dossier.objects.get(pk=dossier.pk).status == Status.SUBMITTED


def test_kick_pending_recovers_a_lost_job(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    DBTaskResult.objects.filter(task_path=webhooks.deliver_webhooks.module_path).delete()
    assert webhooks.lag(subscription) is not None
    assert webhooks.kick_pending() == 1
    run_jobs()
    assert receiver.types() == ["dossier.received"]
    assert webhooks.kick_pending() == 0


# --- server-side request forgery -------------------------------------------------------------


def test_a_target_that_became_internal_is_refused_and_recorded(
    fake_names, admin_user, make_dossier, reception
):
    fake_names.names["hooks.example.test"] = "93.184.216.34"
    subscription = subscribe(admin_user, "https://hooks.example.test/onestop")
    dossier = make_dossier(Status.SUBMITTED)
    fake_names.names["hooks.example.test"] = "10.0.0.7"  # the name now points inside
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert not attempt.succeeded and attempt.status_code is None
    assert "10.0.0.7" in attempt.error and "nội bộ" in attempt.error
    subscription.refresh_from_db()
    assert subscription.failures == 1 and subscription.next_attempt_at is not None


def test_delivery_connects_to_the_address_it_checked(
    fake_names, receiver, admin_user, make_dossier, reception
):
    """DNS rebinding: the name is resolved once per attempt, for the check, and the connection
    goes to that address; a second lookup (here: failing) is never made."""
    name = "hooks.example.test"
    fake_names.names[name] = ["127.0.0.1", "127.0.0.1", None, None]
    url = receiver.url.replace("127.0.0.1", name)
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, url)  # lookup 1
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()  # lookup 2, then straight to 127.0.0.1
    ((headers, body, status),) = receiver.requests()
    assert status == 200 and headers["host"] == f"{name}:{receiver.server.port}"
    assert verify(subscription.secret, headers, body)["type"] == "dossier.received"
    assert fake_names.lookups == [name, name]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a00:1]/",
        "http://2130706433/",
        "http://0.0.0.0/",
        "ftp://93.184.216.34/",
        "http://user:pw@93.184.216.34/",
        "http://[::1/",
    ],
)
def test_internal_and_unusable_targets_are_refused(url):
    with pytest.raises(webhooks.targets.TargetRefused):
        webhooks.targets.check(url)


def test_allowed_networks_let_an_internal_target_through(settings):
    settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert [str(a) for a in webhooks.targets.check("http://10.20.1.2:8080/x")] == ["10.20.1.2"]
    with pytest.raises(webhooks.targets.TargetRefused):
        webhooks.targets.check("http://10.21.1.2/")


def test_pinned_url_keeps_the_host_for_the_header_and_tls():
    import ipaddress

    address = ipaddress.ip_address("93.184.216.34")
    assert webhooks.targets.pinned("https://hooks.example.test/a?b=1", address) == (
        "https://93.184.216.34:443/a?b=1",
        {"host": "hooks.example.test"},
        {"sni_hostname": "hooks.example.test"},
    )
    v6 = ipaddress.ip_address("2001:db8::1")
    assert webhooks.targets.pinned("http://hooks.example.test:8080", v6) == (
        "http://[2001:db8::1]:8080/",
        {"host": "hooks.example.test:8080"},
        {},
    )


def test_a_response_with_nul_bytes_is_recorded(receiver, admin_user, make_dossier, reception):
    from werkzeug import Response

    receiver.server.clear_all_handlers()
    receiver.server.expect_request(HOOK, method="POST").respond_with_response(
        Response(b"ok\x00\xff", status=202)
    )
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert attempt.succeeded and attempt.status_code == 202 and "\x00" not in attempt.response_head


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_worker_per_subscription_and_an_owners_others_are_not_held_up(
    settings, admin_user, make_dossier, reception
):
    """While a worker is sending to one subscription (its row locked), another worker skips
    that subscription but delivers the owner's other subscription at once."""
    import threading

    from django.db import connection
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    arrived, release = threading.Event(), threading.Event()

    def slow(request):
        arrived.set()
        release.wait(10)
        return Response("đã nhận")

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/slow", method="POST").respond_with_handler(slow)
    server.expect_request("/fast", method="POST").respond_with_data("đã nhận")
    server.start()
    outcome = {}
    try:
        dossier = make_dossier(Status.SUBMITTED)
        one = subscribe(admin_user, server.url_for("/slow").replace("localhost", "127.0.0.1"))
        two = subscribe(admin_user, server.url_for("/fast").replace("localhost", "127.0.0.1"))
        services.dossier_receive(actor=actor(reception), dossier=dossier)

        def worker():
            try:
                outcome["slow"] = webhooks.deliver_pending(one.pk)
            finally:
                connection.close()

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            assert arrived.wait(10)
            outcome["same"] = webhooks.deliver_pending(one.pk)  # taken: skipped
            outcome["fast"] = webhooks.deliver_pending(two.pk)
        finally:
            release.set()
            thread.join(15)
    finally:
        server.stop()
    assert outcome == {"slow": 1, "same": 0, "fast": 1}
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == 2


def test_a_receiver_dripping_its_answer_is_cut_at_the_deadline(
    receiver, admin_user, make_dossier, reception, settings
):
    """httpx's timeouts are per read: an answer dribbling in a byte at a time never trips them.
    The attempt as a whole ends at ONESTOP_WEBHOOK_TIMEOUT_SECONDS and counts as a failure."""
    import time

    from werkzeug import Response

    def drip():
        for _i in range(40):
            time.sleep(0.05)
            yield b"."

    settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.server.clear_all_handlers()
    receiver.server.expect_request(HOOK, method="POST").respond_with_handler(
        lambda request: Response(drip(), status=200)
    )
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    started = time.monotonic()
    run_jobs()
    assert time.monotonic() - started < 1.8  # not the 2 s the receiver would take
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert not attempt.succeeded and attempt.error.startswith("Timeout")
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert fresh.failures == 1 and fresh.next_attempt_at is not None and fresh.lease == ""


def test_any_failure_while_sending_is_an_attempt_not_a_crash(
    receiver, admin_user, make_dossier, reception, monkeypatch
):
    """Not only network errors: whatever goes wrong is recorded and retried like a failure."""

    def broken(*args, **kwargs):
        raise UnicodeEncodeError("ascii", "bücher", 1, 2, "not ascii")

    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    monkeypatch.setattr(webhooks, "signed_headers", broken)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    (attempt,) = DeliveryAttempt.objects.filter(subscription=subscription)
    assert not attempt.succeeded and attempt.error.startswith("UnicodeEncodeError")
    assert WebhookSubscription.objects.get(pk=subscription.pk).failures == 1


def test_an_unfinished_delivery_holds_no_lock_and_a_dead_workers_lease_runs_out(
    receiver, admin_user, make_dossier, reception, monkeypatch
):
    """While the POST is in flight no transaction is open (an administrator's pause is not kept
    waiting); a worker that died mid-way leaves a lease that expires, then the entry goes again."""
    from django.db import connection

    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    seen = []
    real_post = webhooks._post

    def post_and_look(*args, **kwargs):
        seen.append(connection.in_atomic_block and len(connection.savepoint_ids))
        raise SystemExit("the worker dies while sending")

    monkeypatch.setattr(webhooks, "_post", post_and_look)
    with pytest.raises(SystemExit):
        webhooks.deliver_pending(subscription.pk)
    assert seen == [0]  # only the test's own transaction: no savepoint of the delivery's
    # The lease is released on the way out (a killed process would leave it to expire).
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        lease="someone-dead", leased_until=timezone.now() + dt.timedelta(seconds=30)
    )
    monkeypatch.setattr(webhooks, "_post", real_post)
    DBTaskResult.objects.all().delete()
    assert webhooks.deliver_pending(subscription.pk) == 0  # still leased: left alone...
    assert webhooks.deliver_pending(subscription.pk) == 0
    (planned,) = delivery_jobs()  # ...with one job for when the lease runs out
    lease_end = WebhookSubscription.objects.get(pk=subscription.pk).leased_until
    assert planned.run_after == lease_end
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        leased_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert webhooks.deliver_pending(subscription.pk) == 1
    assert receiver.types() == ["dossier.received"]


def test_an_actions_cost_does_not_grow_with_the_subscriptions(
    receiver, admin_user, make_dossier, reception
):
    """The action holds the feed's head until it commits: it writes one fan-out job, and the
    worker works out who wants the event."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_of_one_receive():
        dossier = make_dossier(Status.SUBMITTED)
        with CaptureQueriesContext(connection) as captured:
            services.dossier_receive(actor=actor(reception), dossier=dossier)
        return len(captured)

    subscribe(admin_user, receiver.url)
    queries_of_one_receive()  # first use: per-user caches fill
    with_one = queries_of_one_receive()
    for _i in range(9):
        subscribe(admin_user, receiver.url)
    assert queries_of_one_receive() == with_one
    run_jobs()
    assert len(receiver.requests()) >= 3 + 10  # and every subscription got its events
