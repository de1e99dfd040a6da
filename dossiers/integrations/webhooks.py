"""Webhook deliveries: each subscription receives the feed entries it may see and asked for,
one at a time, in feed (commit) order, signed per Standard Webhooks.

- At least once: the subscription's cursor moves past an entry only in the transaction that
  records its successful attempt, so a worker that dies after sending and before recording sends
  the entry again, with the same `webhook-id`, which receivers use to drop the duplicate.
- In order: one worker at a time per subscription (its row is locked, others skip it), and a
  failing entry blocks the ones after it, so nothing overtakes.
- A failing endpoint is retried with growing delays (tasks.backoff) for
  ONESTOP_WEBHOOK_RETRY_HOURS; then the subscription pauses and administrators get an e-mail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time

import httpx
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task
from standardwebhooks import Webhook

from .. import clock
from ..models import DeliveryAttempt, FeedEntry, WebhookSubscription
from ..permissions import integration_agency_ids
from . import feed, national_portal, targets

log = logging.getLogger(__name__)

RESPONSE_HEAD_BYTES = 500


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- who receives what ---------------------------------------------------------------------------


def may_see_personal_data(user) -> bool:
    """Administrators and integration accounts (the provincial platform) may receive the
    applicant's identification when a subscription asks for it."""
    return user.is_superuser or bool(integration_agency_ids(user))


def scope_of(user) -> Q:
    """The feed entries `user` may see: everything for an administrator, the dossiers of their
    agencies for an integration account, nothing for anyone else."""
    if user.is_superuser:
        return Q()
    agencies = integration_agency_ids(user)
    return feed.entries_for_agencies(agencies) if agencies else Q(pk__in=[])


def _filters(subscription: WebhookSubscription) -> Q:
    condition = scope_of(subscription.owner)
    if subscription.event_types:
        condition &= Q(event_type__in=subscription.event_types)
    agencies = [a.pk for a in subscription.agencies.all()]
    if agencies:
        condition &= feed.entries_for_agencies(agencies)
    procedures = [p.pk for p in subscription.procedures.all()]
    if procedures:
        condition &= Q(procedure_id__in=procedures)
    return condition


def pending(subscription: WebhookSubscription):
    """The entries still to deliver to `subscription`, in order."""
    return (
        FeedEntry.objects.filter(position__gt=subscription.cursor)
        .filter(_filters(subscription))
        .order_by("position")
    )


def _matches(subscription: WebhookSubscription, entry: FeedEntry) -> bool:
    return pending(subscription).filter(pk=entry.pk).exists()


def notify_subscribers(entry: FeedEntry) -> None:
    """Inside the action's transaction: a delivery job for each active subscription that wants
    `entry` (a job finding nothing new to send ends at once)."""
    active = WebhookSubscription.objects.filter(state=WebhookSubscription.State.ACTIVE)
    for subscription in active.select_related("owner").prefetch_related("agencies", "procedures"):
        if _matches(subscription, entry):
            deliver_webhooks.enqueue(subscription.pk)


def kick_pending() -> int:
    """A job for every active subscription with entries waiting and no retry planned later
    (the sweep's safety net for jobs lost with a dead worker). Returns how many."""
    now, kicked = timezone.now(), 0
    due = WebhookSubscription.objects.filter(state=WebhookSubscription.State.ACTIVE).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    for subscription in due.select_related("owner"):
        if pending(subscription).exists():
            deliver_webhooks.enqueue(subscription.pk)
            kicked += 1
    return kicked


# --- sending ------------------------------------------------------------------------------------


def body_of(subscription: WebhookSubscription, entry: FeedEntry) -> dict:
    personal = subscription.include_personal_data and may_see_personal_data(subscription.owner)
    if subscription.profile == WebhookSubscription.Profile.NATIONAL_PORTAL:
        return national_portal.message(entry, personal=personal)
    return feed.message(entry, personal=personal)


def signed_headers(secret: str, webhook_id: str, at: dt.datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers: id, timestamp (seconds) and `v1,<base64 HMAC-SHA256>`
    over `id.timestamp.body`."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
        "user-agent": "onestop-webhooks/1",
    }


def _post(subscription: WebhookSubscription, entry: FeedEntry) -> DeliveryAttempt:
    """One attempt, as it went (never raises)."""
    at = timezone.now().replace(microsecond=0)
    webhook_id = feed.webhook_id(entry)
    attempt = DeliveryAttempt(
        subscription=subscription, entry=entry, webhook_id=webhook_id, attempted_at=at
    )
    body = json.dumps(body_of(subscription, entry), ensure_ascii=False, separators=(",", ":"))
    started = time.monotonic()
    try:
        targets.check(subscription.url)
        response = httpx.post(
            subscription.url,
            content=body.encode(),
            headers=signed_headers(subscription.secret, webhook_id, at, body),
            timeout=settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except targets.TargetRefused as refused:
        attempt.error = str(refused)
    except httpx.HTTPError as error:
        attempt.error = f"{type(error).__name__}: {error}"[:2000] or type(error).__name__
    else:
        attempt.status_code = response.status_code
        attempt.succeeded = 200 <= response.status_code < 300
        attempt.response_head = response.content[:RESPONSE_HEAD_BYTES].decode("utf-8", "replace")
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    return attempt


@task(queue_name="webhooks")
def deliver_webhooks(subscription_id: int) -> None:
    """The worker's job: deliver a subscription's pending entries."""
    deliver_pending(subscription_id)


def deliver_pending(subscription_id: int, *, limit: int = 100) -> int:
    """Deliver up to `limit` pending entries of one subscription, in order; stops at the first
    failure (and plans the retry). Returns how many were delivered."""
    delivered = 0
    while delivered < limit:
        with transaction.atomic():
            subscription = (
                WebhookSubscription.objects.select_for_update(skip_locked=True)
                .select_related("owner")
                .filter(pk=subscription_id, state=WebhookSubscription.State.ACTIVE)
                .first()
            )
            if subscription is None:  # paused, deleted, or another worker is on it
                return delivered
            now = timezone.now()
            if subscription.next_attempt_at and subscription.next_attempt_at > now:
                return delivered  # its retry job is planned
            entry = pending(subscription).first()
            if entry is None:
                return delivered
            attempt = _post(subscription, entry)
            attempt.save()
            if attempt.succeeded:
                _progress(subscription, cursor=entry.position)
                delivered += 1
                continue
            _failed(subscription, attempt, now)
            return delivered
    deliver_webhooks.enqueue(subscription_id)  # more to send: another job carries on
    return delivered


def _progress(subscription: WebhookSubscription, **fields) -> None:
    # A queryset update: delivery progress is not a change of the subscription's settings, so
    # it leaves no history row.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failures=0, failing_since=None, next_attempt_at=None, **fields
    )


def _failed(subscription: WebhookSubscription, attempt: DeliveryAttempt, now) -> None:
    failing_since = subscription.failing_since or now
    failures = subscription.failures + 1
    if now - failing_since >= dt.timedelta(hours=settings.ONESTOP_WEBHOOK_RETRY_HOURS):
        reason = (
            f"{failures} failed attempts since {failing_since:%Y-%m-%d %H:%M} UTC; last: "
            f"{attempt.status_code or attempt.error}"
        )[:255]
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            state=WebhookSubscription.State.PAUSED,
            paused_reason=reason,
            failures=failures,
            failing_since=failing_since,
            next_attempt_at=None,
        )
        transaction.on_commit(lambda: _tell_admins(subscription, reason))
        return
    retry_at = now + clock.backoff(failures)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failures=failures, failing_since=failing_since, next_attempt_at=retry_at
    )
    deliver_webhooks.using(run_after=retry_at).enqueue(subscription.pk)


def _tell_admins(subscription: WebhookSubscription, reason: str) -> None:
    subject = f"onestop: webhook subscription #{subscription.pk} paused"
    message = f"{subscription.url}\n{reason}\nResume it in the admin once the endpoint works."
    mail_admins(subject, message, fail_silently=True)
    owner_email = subscription.owner.email
    if owner_email:
        from django.core.mail import send_mail

        send_mail(subject, message, None, [owner_email], fail_silently=True)


# --- what administrators do ---------------------------------------------------------------------


def pause(subscription: WebhookSubscription, reason: str = "") -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        state=WebhookSubscription.State.PAUSED, paused_reason=reason[:255], next_attempt_at=None
    )


def resume(subscription: WebhookSubscription) -> None:
    """Active again, retrying at once from where it stopped."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            state=WebhookSubscription.State.ACTIVE,
            paused_reason="",
            failures=0,
            failing_since=None,
            next_attempt_at=None,
        )
        deliver_webhooks.enqueue(subscription.pk)


def replay(subscription: WebhookSubscription, *, after: int) -> None:
    """Deliver again every entry after feed position `after` (each with its original id)."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            cursor=max(0, after), failures=0, failing_since=None, next_attempt_at=None
        )
        deliver_webhooks.enqueue(subscription.pk)


def lag(subscription: WebhookSubscription) -> dt.datetime | None:
    """When the oldest entry still waiting for this subscription happened (None: up to date)."""
    oldest = pending(subscription).values_list("created_at", flat=True).first()
    return oldest


def head_position() -> int:
    """The newest feed position (a new subscription starts after it)."""
    last = FeedEntry.objects.order_by("-position").values_list("position", flat=True).first()
    return last or 0
