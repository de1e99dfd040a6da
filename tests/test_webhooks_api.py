"""The webhook subscriptions API (/api/v1/webhooks/) and admin: who may subscribe to what, the
secret shown once, changes, deliveries, replay, and targets in internal networks refused."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from dossiers import services
from dossiers.integrations import feed, webhooks
from dossiers.models import DeliveryAttempt, FeedEntry, WebhookSubscription
from dossiers.workflow import Status

from . import webhook_support
from .conftest import actor
from .webhook_support import (
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

API = "/api/v1/webhooks/"


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


def client_of(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.fixture
def platform(commune):
    """The commune's integration account (another system, e.g. the provincial platform)."""
    return integration_account("platform", commune)


@pytest.fixture
def other_platform(other_commune):
    return integration_account("other-platform", other_commune)


# --- create, read, change, delete ----------------------------------------------------------------


def test_create_answers_the_secret_once(receiver, platform, commune, procedure):
    created = client_of(platform).post(
        API,
        {
            "url": receiver.url,
            "event_types": ["dossier.received", "dossier.returned"],
            "agencies": [commune.code],
            "procedures": [procedure.code],
            "profile": "national_portal",
            "include_personal_data": True,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"] == receiver.url and body["owner"] == "platform"
    assert body["event_types"] == ["dossier.received", "dossier.returned"]
    assert (body["agencies"], body["procedures"]) == ([commune.code], [procedure.code])
    assert (body["profile"], body["include_personal_data"]) == ("national_portal", True)
    assert (body["state"], body["cursor"]) == ("active", webhooks.head_position())
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert subscription.secret == body["secret"] and subscription.owner == platform

    listed = client_of(platform).get(API).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]
    detail = client_of(platform).get(f"{API}{body['id']}/").json()
    for shown in (listed["results"][0], detail):
        assert "secret" not in shown and body["secret"] not in str(shown)
        assert shown == {k: v for k, v in body.items() if k != "secret"}


def test_a_new_subscription_gets_only_new_events(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    created = client_of(admin_user).post(API, {"url": receiver.url}, format="json").json()
    run_jobs()
    assert receiver.requests() == []
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    ((headers, body, _status),) = receiver.requests()
    assert verify(created["secret"], headers, body)["type"] == "dossier.received"


def test_defaults_and_validation(receiver, admin_user):
    admin = client_of(admin_user)
    created = admin.post(API, {"url": receiver.url}, format="json").json()
    assert (created["event_types"], created["agencies"], created["procedures"]) == ([], [], [])
    assert (created["profile"], created["include_personal_data"]) == ("standard", False)
    bad = admin.post(
        API,
        {
            "url": "not a url",
            "event_types": ["dossier.note_added"],
            "agencies": ["999.99.99.H99"],
            "profile": "soap",
        },
        format="json",
    )
    assert bad.status_code == 400
    fields = error_of(bad)["fields"]
    assert set(fields) == {"url", "event_types", "agencies", "profile"}
    assert error_of(admin.post(API, {}, format="json"))["fields"].keys() == {"url"}


def test_integration_accounts_subscribe_to_their_own_agencies_only(
    receiver, platform, admin_user, commune, other_commune
):
    outside = client_of(platform).post(
        API, {"url": receiver.url, "agencies": [commune.code, other_commune.code]}, format="json"
    )
    assert outside.status_code == 400
    error = error_of(outside)
    assert error["code"] == "validation_failed" and list(error["fields"]) == ["agencies"]
    assert other_commune.code in error["fields"]["agencies"][0]
    assert not WebhookSubscription.objects.exists()
    mine = client_of(platform).post(
        API, {"url": receiver.url, "agencies": [commune.code]}, format="json"
    )
    assert mine.status_code == 201
    # An administrator may name any agency.
    theirs = client_of(admin_user).post(
        API, {"url": receiver.url, "agencies": [other_commune.code]}, format="json"
    )
    assert theirs.status_code == 201


def test_an_integration_account_receives_no_other_communes_events(
    receiver, platform, make_dossier, other_commune, reception
):
    created = client_of(platform).post(API, {"url": receiver.url}, format="json").json()
    ours = make_dossier(Status.SUBMITTED)
    theirs = make_dossier(Status.SUBMITTED, agency=other_commune)
    services.dossier_receive(actor=actor(reception), dossier=ours)
    run_jobs()
    codes = {b["data"]["dossier"]["code"] for _h, b in receiver.accepted()}
    assert codes == {ours.code} and theirs.code not in str(receiver.requests())
    assert receiver.types() == ["dossier.submitted", "dossier.received"]
    for headers, body, _status in receiver.requests():
        verify(created["secret"], headers, body)


@pytest.mark.parametrize("who", ["citizen", "reception", "specialist", "leader", "supervisor"])
def test_everyone_else_is_forbidden(request, who, admin_user, receiver):
    subscription = subscribe(admin_user, receiver.url)
    user = request.getfixturevalue(who)
    client = client_of(user)
    for response in (
        client.get(API),
        client.post(API, {"url": receiver.url}, format="json"),
        client.get(f"{API}{subscription.pk}/"),
        client.patch(f"{API}{subscription.pk}/", {"url": receiver.url}, format="json"),
        client.delete(f"{API}{subscription.pk}/"),
        client.get(f"{API}{subscription.pk}/deliveries/"),
        client.post(f"{API}{subscription.pk}/replay/", {"after": 0}, format="json"),
    ):
        assert response.status_code == 403, response.content
        assert error_of(response)["code"] == "permission_denied"
    assert WebhookSubscription.objects.count() == 1


def test_anonymous_is_told_to_authenticate():
    assert APIClient().get(API).status_code == 401


def test_someone_elses_subscription_is_not_found(receiver, platform, other_platform, admin_user):
    mine = subscribe(platform, receiver.url)
    theirs = subscribe(other_platform, receiver.url)
    client = client_of(platform)
    assert [s["id"] for s in client.get(API).json()["results"]] == [mine.pk]
    for response in (
        client.get(f"{API}{theirs.pk}/"),
        client.patch(f"{API}{theirs.pk}/", {"event_types": []}, format="json"),
        client.delete(f"{API}{theirs.pk}/"),
        client.get(f"{API}{theirs.pk}/deliveries/"),
        client.post(f"{API}{theirs.pk}/replay/", {"after": 0}, format="json"),
        client.get(f"{API}999999/"),
    ):
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()
    # Administrators manage every subscription.
    listed = client_of(admin_user).get(API).json()["results"]
    assert [s["id"] for s in listed] == [mine.pk, theirs.pk]


def test_patch_changes_settings_and_pauses_and_resumes(
    receiver, platform, procedure, make_dossier, reception
):
    subscription = subscribe(platform, receiver.url)
    client = client_of(platform)
    url = f"{API}{subscription.pk}/"
    changed = client.patch(
        url,
        {"event_types": ["dossier.received"], "procedures": [procedure.code]},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["event_types"], body["procedures"]) == (["dossier.received"], [procedure.code])
    assert body["url"] == receiver.url and "secret" not in body
    assert subscription.history.count() == 2  # who changed what, kept

    paused = client.patch(url, {"state": "paused"}, format="json").json()
    assert paused["state"] == "paused" and paused["paused_reason"]
    dossier = make_dossier(Status.SUBMITTED)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    assert receiver.requests() == []
    resumed = client.patch(url, {"state": "active"}, format="json").json()
    assert (resumed["state"], resumed["paused_reason"]) == ("active", "")
    run_jobs()
    assert receiver.types() == ["dossier.received"]  # the submission was filtered out

    refused = client.patch(url, {"url": "http://169.254.169.254/latest/"}, format="json")
    assert refused.status_code == 400 and list(error_of(refused)["fields"]) == ["url"]
    subscription.refresh_from_db()
    assert subscription.url == receiver.url


def test_a_new_url_is_tried_at_once(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url.replace("/hook", "/gone"))
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()  # 500 from the receiver: no handler for /gone
    subscription.refresh_from_db()
    assert subscription.failures == 1 and not delivery_jobs(ready_only=True)
    fixed = client_of(admin_user).patch(
        f"{API}{subscription.pk}/", {"url": receiver.url}, format="json"
    )
    assert fixed.json()["failures"] == 0 and fixed.json()["next_attempt_at"] is None
    run_jobs()
    assert receiver.types() == ["dossier.received"]


def test_delete_removes_the_subscription_and_its_deliveries(
    receiver, platform, make_dossier, reception, specialist
):
    subscription = subscribe(platform, receiver.url)
    dossier = make_dossier(Status.SUBMITTED)
    dossier = services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    assert DeliveryAttempt.objects.filter(subscription=subscription).count() == 2
    assert client_of(platform).delete(f"{API}{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    assert not DeliveryAttempt.objects.exists()
    assert client_of(platform).get(f"{API}{subscription.pk}/").status_code == 404
    services.dossier_assign(actor=actor(reception), dossier=dossier, assignee=specialist)
    run_jobs()
    assert len(receiver.requests()) == 2


def test_deliveries_newest_first_paginated(receiver, admin_user, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    receiver.mode = "error"
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    receiver.mode = "ok"
    come_due()
    run_jobs()
    client = client_of(admin_user)
    page = client.get(f"{API}{subscription.pk}/deliveries/", {"page_size": 1}).json()
    (newest,) = page["results"]
    entry = FeedEntry.objects.get(event_type="dossier.received")
    assert newest["succeeded"] and newest["status_code"] == 200
    assert newest["webhook_id"] == feed.webhook_id(entry) and newest["position"] == entry.position
    assert newest["event_type"] == "dossier.received" and newest["response_head"] == "đã nhận"
    assert newest["duration_ms"] >= 0 and newest["attempted_at"]
    (older,) = client.get(page["next"]).json()["results"]
    assert (older["succeeded"], older["status_code"]) == (False, 500)
    assert older["response_head"].startswith("lỗi máy nhận")
    assert older["id"] < newest["id"]


def test_replay_sends_again_with_the_original_ids(receiver, admin_user, make_dossier, cast):
    from dossiers.demo.scenarios import step

    dossier = make_dossier(Status.SUBMITTED)
    subscription = subscribe(admin_user, receiver.url)
    start = subscription.cursor
    dossier = step(dossier, "receive", cast)
    step(dossier, "assign", cast)
    run_jobs()
    first = receiver.ids()
    assert len(first) == 2
    client = client_of(admin_user)
    replayed = client.post(f"{API}{subscription.pk}/replay/", {"after": start}, format="json")
    assert replayed.status_code == 202 and replayed.json()["cursor"] == start
    run_jobs()
    assert receiver.ids() == first + first
    # Before the subscription existed: older events, on request, in order.
    again = client.post(f"{API}{subscription.pk}/replay/", {"after": 0}, format="json")
    assert again.status_code == 202
    run_jobs()
    assert receiver.types()[4:] == ["dossier.submitted", "dossier.received", "dossier.assigned"]
    assert receiver.ids()[5:] == first

    head = webhooks.head_position()
    for after in (head + 1, -1, "x"):
        refused = client.post(f"{API}{subscription.pk}/replay/", {"after": after}, format="json")
        assert refused.status_code == 400 and list(error_of(refused)["fields"]) == ["after"]
    assert WebhookSubscription.objects.get(pk=subscription.pk).cursor == head


# --- server-side request forgery -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/",
    ],
)
def test_internal_targets_are_refused_without_the_allow_list(admin_user, url):
    response = client_of(admin_user).post(API, {"url": url}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert list(error["fields"]) == ["url"] and "nội bộ" in error["fields"]["url"][0]
    assert not WebhookSubscription.objects.exists()


def test_a_public_name_is_accepted(fake_names, admin_user):
    fake_names.names["hooks.example.test"] = "93.184.216.34"
    response = client_of(admin_user).post(
        API, {"url": "https://hooks.example.test/onestop"}, format="json"
    )
    assert response.status_code == 201
    fake_names.names["nowhere.example.test"] = None
    unknown = client_of(admin_user).post(
        API, {"url": "https://nowhere.example.test/"}, format="json"
    )
    assert "phân giải" in error_of(unknown)["fields"]["url"][0]


# --- the admin ---------------------------------------------------------------------------------


def test_admin_creates_a_subscription_and_shows_the_secret_once(
    receiver, admin_client, admin_user, commune, procedure
):
    add = reverse("admin:dossiers_webhooksubscription_add")
    assert admin_client.get(add).status_code == 200
    form = {
        "owner": admin_user.pk,
        "url": receiver.url,
        "event_types": ["dossier.received"],
        "agencies": [commune.pk],
        "procedures": [procedure.pk],
        "profile": "standard",
    }
    response = admin_client.post(add, form, follow=True)
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(subscription.secret in m for m in shown)
    assert subscription.cursor == webhooks.head_position()
    assert list(subscription.agencies.all()) == [commune]
    change = reverse("admin:dossiers_webhooksubscription_change", args=[subscription.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and subscription.secret not in page.content.decode()

    refused = admin_client.post(add, {**form, "url": "http://10.0.0.1/"})
    assert refused.status_code == 200 and "nội bộ" in refused.content.decode()
    assert WebhookSubscription.objects.count() == 1


def test_admin_edits_checks_and_keeps_progress(receiver, admin_client, admin_user):
    subscription = subscribe(admin_user, receiver.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(cursor=7)
    change = reverse("admin:dossiers_webhooksubscription_change", args=[subscription.pk])
    form = {"url": receiver.url + "?v=2", "profile": "national_portal", "event_types": []}
    assert admin_client.post(change, form).status_code == 302
    subscription.refresh_from_db()
    assert (subscription.profile, subscription.cursor) == ("national_portal", 7)
    assert subscription.url.endswith("?v=2")
    refused = admin_client.post(change, {**form, "url": "http://[::1]/"})
    assert refused.status_code == 200
    subscription.refresh_from_db()
    assert subscription.url.endswith("?v=2")


def test_admin_refuses_an_owner_who_may_not_subscribe(receiver, admin_client, citizen):
    add = reverse("admin:dossiers_webhooksubscription_add")
    response = admin_client.post(
        add, {"owner": citizen.pk, "url": receiver.url, "profile": "standard"}
    )
    assert response.status_code == 200 and not WebhookSubscription.objects.exists()


def test_admin_pauses_resumes_and_deletes(receiver, admin_client, admin_user, make_dossier):
    subscription = subscribe(admin_user, receiver.url)
    make_dossier(Status.SUBMITTED)
    run_jobs()
    changelist = reverse("admin:dossiers_webhooksubscription_changelist")
    action = {"_selected_action": [subscription.pk]}
    admin_client.post(changelist, {**action, "action": "pause_selected"})
    assert WebhookSubscription.objects.get().state == "paused"
    admin_client.post(changelist, {**action, "action": "resume_selected"})
    assert WebhookSubscription.objects.get().state == "active"
    assert admin_client.get(changelist).status_code == 200

    attempts = reverse("admin:dossiers_deliveryattempt_changelist")
    assert admin_client.get(attempts).status_code == 200
    attempt = DeliveryAttempt.objects.first()
    view = reverse("admin:dossiers_deliveryattempt_change", args=[attempt.pk])
    assert admin_client.get(view).status_code == 200
    assert admin_client.post(view, {"error": "sửa"}).status_code == 403
    assert reverse("admin:dossiers_deliveryattempt_changelist")
    delete_attempt = reverse("admin:dossiers_deliveryattempt_delete", args=[attempt.pk])
    assert admin_client.post(delete_attempt, {"post": "yes"}).status_code == 403

    delete = reverse("admin:dossiers_webhooksubscription_delete", args=[subscription.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not WebhookSubscription.objects.exists() and not DeliveryAttempt.objects.exists()
