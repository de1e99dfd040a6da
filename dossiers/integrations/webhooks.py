"""Webhook deliveries: each subscription receives the feed entries it may see and asked for,
one at a time, in feed (commit) order, signed per Standard Webhooks.

- At least once: the subscription's cursor moves past an entry only in the transaction that
  records its successful attempt, so a worker that dies after sending and before recording sends
  the entry again, with the same `webhook-id`, which receivers use to drop the duplicate.
- In order: one worker at a time per subscription (its row is locked, others skip it), and a
  failing entry blocks the ones after it, so nothing overtakes.
- A failing endpoint is retried with growing delays (clock.backoff, counted from the end of the
  failed attempt) for ONESTOP_WEBHOOK_RETRY_HOURS; then the subscription pauses and the
  administrators (and the owner) get an e-mail, sent by a job written with the pause.
- Only to public addresses (targets.py), checked before every attempt; the connection goes to
  the address just checked.

Subscriptions are created, changed and deleted here too (`subscription_create`, …): the API and
the admin are thin over these functions and the same checks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import json
import logging
import secrets
import ssl
import time

import certifi
import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from .. import clock
from ..errors import Forbidden, ValidationFailed
from ..models import DeliveryAttempt, FeedEntry, WebhookSubscription
from ..permissions import integration_agency_ids
from . import feed, national_portal, targets

log = logging.getLogger(__name__)

RESPONSE_HEAD_BYTES = 500
# How long a lease outlives the longest POST (seconds).
LEASE_MARGIN = 5


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- who receives what ---------------------------------------------------------------------------


def may_see_personal_data(user) -> bool:
    """Administrators and integration accounts (the provincial platform) may receive the
    applicant's identification when a subscription asks for it."""
    return user.is_active and (user.is_superuser or bool(integration_agency_ids(user)))


def scope_of(user) -> Q:
    """The feed entries `user` may see: everything for an administrator, the dossiers of their
    agencies for an integration account, nothing for anyone else."""
    if not user.is_active:  # a deactivated partner receives nothing more
        return Q(pk__in=[])
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
    """Inside the action's transaction: one job that will wake the subscriptions wanting
    `entry` (`fan_out`). A constant cost per action, however many subscriptions there are: the
    action holds the feed's head until it commits, so it must not linger."""
    if WebhookSubscription.objects.filter(state=WebhookSubscription.State.ACTIVE).exists():
        fan_out.enqueue(entry.pk)


@task(queue_name="webhooks")
def fan_out(entry_id: int) -> None:
    """The worker's job: a delivery job for each active subscription that wants the entry (a
    delivery job finding nothing new to send ends at once)."""
    entry = FeedEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        return
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
    at = at.astimezone(dt.UTC)  # the library reads the instant's wall clock as UTC
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
        "user-agent": "onestop-webhooks/1",
    }


def _text(value: str) -> str:
    """Text a database column can hold (PostgreSQL refuses NUL characters)."""
    return value.replace("\x00", "\ufffd")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate store, loaded once per process (loading it took 40 ms per delivery).
    Connections themselves are not pooled: each goes to the address just checked, with its
    own host name, and a connection opened for one name must not carry another's request."""
    return ssl.create_default_context(cafile=certifi.where())


def _post(subscription: WebhookSubscription, entry: FeedEntry) -> DeliveryAttempt:
    """One attempt, as it went (never raises). The connection goes to the address just checked
    (not to a second resolution of the name), only the head of the response is read, and the
    whole attempt ends within ONESTOP_WEBHOOK_TIMEOUT_SECONDS, however slowly the receiver
    answers. No database transaction is open meanwhile."""
    at = timezone.now()  # signed in whole seconds (the header and the signature floor it)
    webhook_id = feed.webhook_id(entry)
    attempt = DeliveryAttempt(
        subscription=subscription, entry=entry, webhook_id=webhook_id, attempted_at=at
    )
    started = time.monotonic()
    try:
        body = json.dumps(body_of(subscription, entry), ensure_ascii=False, separators=(",", ":"))
        address = targets.check(subscription.url)[0]
        url, host, extensions = targets.pinned(subscription.url, address)
        headers = signed_headers(subscription.secret, webhook_id, at, body) | host
        deadline = settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS
        status, head = _run_to_deadline(
            lambda: _send(url, headers, body.encode(), extensions, deadline), deadline
        )
        attempt.status_code = status
        attempt.succeeded = 200 <= status < 300
        attempt.response_head = _text(head.decode("utf-8", "replace"))
    except targets.TargetRefused as refused:
        attempt.error = str(refused)
    except TimeoutError:
        attempt.error = (
            f"Timeout: no complete answer within {settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS} s"
        )
    except Exception as error:  # any failure is the attempt's outcome, never the worker's
        attempt.error = _text(f"{type(error).__name__}: {error}"[:2000])
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    return attempt


def _run_to_deadline(make_coroutine, deadline: float):
    """Run a coroutine to completion or TimeoutError at `deadline` seconds (httpx's own
    timeouts are per step: a receiver dripping one byte at a time would never time out). In a
    thread of its own when this thread already runs an event loop."""

    def run():
        return asyncio.run(asyncio.wait_for(make_coroutine(), deadline))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def _send(url, headers, content: bytes, extensions, timeout) -> tuple[int, bytes]:
    """POST and read the status and the first bytes of the answer."""
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=_tls_context()) as client,
        client.stream(
            "POST", url, content=content, headers=headers, extensions=extensions
        ) as response,
    ):
        head = b""
        try:
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= RESPONSE_HEAD_BYTES:
                    break
        except httpx.HTTPError:
            pass  # after the status line, a broken body does not undo the receiver's answer
        return response.status_code, head[:RESPONSE_HEAD_BYTES]


@task(queue_name="webhooks")
def deliver_webhooks(subscription_id: int) -> None:
    """The worker's job: deliver a subscription's pending entries."""
    deliver_pending(subscription_id)


def deliver_pending(subscription_id: int, *, limit: int = 100) -> int:
    """Deliver up to `limit` pending entries of one subscription, in order; stops at the first
    failure (and plans the retry). Returns how many were delivered.

    Each entry takes two short transactions around the POST, never one across it: the first
    leases the subscription (one worker at a time; the lease outlives any POST by a margin),
    the second records the attempt and moves the cursor if the lease is still this worker's.
    A worker that dies after sending leaves the lease to run out, and the next worker sends the
    same entry again (at least once, same webhook-id)."""
    token = secrets.token_hex(8)
    delivered = 0
    try:
        while delivered < limit:
            leased = _lease(subscription_id, token)
            if isinstance(leased, dt.datetime):
                # Another worker holds the lease: it carries on, or, if it died, the lease runs
                # out then; one job waits for that moment.
                _plan_after_lease(subscription_id, leased)
                return delivered
            if leased is None:
                return delivered
            subscription, entry = leased
            attempt = _post(subscription, entry)
            with transaction.atomic():
                current = (
                    WebhookSubscription.objects.select_for_update(of=("self",))
                    .filter(pk=subscription_id)
                    .first()
                )
                if current is None or current.lease != token:
                    return delivered  # deleted, or the lease ran out and another took over
                attempt.save()
                if not attempt.succeeded:
                    _failed(current, attempt, timezone.now())
                    return delivered
                if entry.position > current.cursor:  # a replay may have moved it back meanwhile
                    _progress(current, cursor=entry.position)
                delivered += 1
        deliver_webhooks.enqueue(subscription_id)  # more to send: another job carries on
        return delivered
    finally:
        WebhookSubscription.objects.filter(pk=subscription_id, lease=token).update(
            lease="", leased_until=None
        )


def _plan_after_lease(subscription_id: int, until: dt.datetime) -> None:
    """A delivery job at `until` for the subscription, unless one is planned already."""
    planned = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=deliver_webhooks.module_path,
        args_kwargs__args=[subscription_id],
        run_after__gte=until,
    )
    if not planned.exists():
        deliver_webhooks.using(run_after=until).enqueue(subscription_id)


def _lease(subscription_id: int, token: str):
    """(subscription, next entry) leased to `token`; or the end of another worker's lease; or
    None: nothing to send now, paused, or waiting for a planned retry."""
    with transaction.atomic():
        subscription = (
            # Only the subscription's row: `of` keeps the owner's user row (joined) unlocked.
            WebhookSubscription.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .filter(pk=subscription_id, state=WebhookSubscription.State.ACTIVE)
            .first()
        )
        if subscription is None:
            return None
        now = timezone.now()
        taken = subscription.lease not in ("", token)
        if taken and subscription.leased_until and subscription.leased_until > now:
            return subscription.leased_until  # another worker is sending
        if subscription.next_attempt_at and subscription.next_attempt_at > now:
            return None  # its retry job is planned
        entry = pending(subscription).first()
        if entry is None:
            return None
        until = now + dt.timedelta(seconds=settings.ONESTOP_WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN)
        WebhookSubscription.objects.filter(pk=subscription_id).update(
            lease=token, leased_until=until
        )
        return subscription, entry


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
        with translation.override(settings.LANGUAGE_CODE):
            reason = _(
                "%(failures)s lần gửi lỗi liên tiếp từ %(since)s UTC; lần cuối: %(last)s"
            ) % {
                "failures": failures,
                "since": f"{failing_since:%Y-%m-%d %H:%M}",
                "last": attempt.status_code or attempt.error,
            }
        reason = reason[:255]
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            state=WebhookSubscription.State.PAUSED,
            paused_reason=reason,
            failures=failures,
            failing_since=failing_since,
            next_attempt_at=None,
        )
        _record_state(subscription.pk)
        # A job in this transaction: the e-mail leaves exactly when the pause is committed.
        tell_paused.enqueue(subscription.pk, reason)
        return
    retry_at = now + clock.backoff(failures)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failures=failures, failing_since=failing_since, next_attempt_at=retry_at
    )
    deliver_webhooks.using(run_after=retry_at).enqueue(subscription.pk)


MAX_MAIL_ATTEMPTS = 6


def administrators_emails() -> list[str]:
    """Whom a paused subscription is told to: active administrators with an address and
    settings.ADMINS."""
    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    found = list(users.order_by("pk").values_list("email", flat=True))
    found += [email for _name, email in getattr(settings, "ADMINS", [])]
    return list(dict.fromkeys(found))


@task()
def tell_paused(subscription_id: int, reason: str, attempt: int = 1) -> None:
    """The worker's job: tell administrators (and the subscription's owner) that a subscription
    paused. A mail server that is down is retried with growing delays."""
    subscription = (
        WebhookSubscription.objects.select_related("owner").filter(pk=subscription_id).first()
    )
    if subscription is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("onestop: đăng ký nhận sự kiện #%(id)s đã tạm dừng") % {"id": subscription.pk}
        message = "\n".join(
            [
                _("Địa chỉ nhận: %(url)s") % {"url": subscription.url},
                _("Lý do: %(reason)s") % {"reason": reason},
                _(
                    "Không có sự kiện nào bị mất: sau khi địa chỉ nhận hoạt động trở lại, hãy "
                    "tiếp tục đăng ký (trang quản trị hoặc API) để gửi tiếp từ chỗ đã dừng."
                ),
            ]
        )
    admins = administrators_emails()
    owner = subscription.owner.email
    batches = [admins] if admins else []
    if owner and owner not in admins:
        batches.append([owner])
    if not batches:
        log.warning("subscription %s paused; nobody to tell (no address)", subscription_id)
    try:
        for recipients in batches:
            send_mail(subject, message, None, recipients)
    except Exception:  # the mail server: try again later
        log.exception("could not tell that subscription %s paused", subscription_id)
        if attempt < MAX_MAIL_ATTEMPTS:
            tell_paused.using(run_after=timezone.now() + clock.backoff(attempt, base=60)).enqueue(
                subscription_id, reason, attempt + 1
            )


# --- subscriptions: who manages them, creating and changing them (the API and the admin) ------


def may_subscribe(user) -> bool:
    """Administrators and integration accounts manage webhook subscriptions."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or integration_agency_ids(user))
    )


def subscriptions_of(user):
    """The subscriptions `user` manages: every one for an administrator, their own for an
    integration account, none for anyone else."""
    subscriptions = WebhookSubscription.objects.select_related("owner")
    if user.is_superuser:
        return subscriptions
    if may_subscribe(user):
        return subscriptions.filter(owner=user)
    return subscriptions.none()


def _problems(owner, *, url=None, event_types=None, agencies=None) -> dict[str, list[str]]:
    """What is wrong with a subscription's settings, by field (empty: nothing)."""
    problems: dict[str, list[str]] = {}
    if url is not None:
        try:
            targets.check(url)
        except targets.TargetRefused as refused:
            problems["url"] = [str(refused)]
    if event_types is not None:
        unknown = sorted(set(event_types) - feed.FED_EVENTS)
        if unknown:
            problems["event_types"] = [
                _("Không có loại sự kiện này: %(types)s.") % {"types": ", ".join(unknown)}
            ]
    if agencies is not None and not owner.is_superuser:
        allowed = integration_agency_ids(owner)
        outside = sorted(a.code for a in agencies if a.pk not in allowed)
        if outside:
            problems["agencies"] = [
                _("Tài khoản không được nhận sự kiện của cơ quan: %(codes)s.")
                % {"codes": ", ".join(outside)}
            ]
    return problems


def validate(owner, *, url=None, event_types=None, agencies=None) -> None:
    """Raise ValidationFailed (by field) unless `owner` may subscribe with these settings: a
    target outside internal networks (targets.check), known event types, and for an
    integration account only its own agencies."""
    if not may_subscribe(owner):
        raise Forbidden(
            _("Chỉ quản trị viên và tài khoản hệ thống kết nối được đăng ký nhận sự kiện.")
        )
    problems = _problems(owner, url=url, event_types=event_types, agencies=agencies)
    if problems:
        raise ValidationFailed(fields=problems)


def initialize(subscription: WebhookSubscription) -> str:
    """A new subscription's signing secret (returned: shown once, never again), its start at
    the head of the feed (only new events; `replay` sends older ones) and its creation time."""
    subscription.secret = new_secret()
    subscription.cursor = head_position()
    subscription.created_at = clock.now()
    return subscription.secret


def subscription_create(
    *,
    owner,
    url: str,
    event_types=(),
    agencies=(),
    procedures=(),
    profile: str = WebhookSubscription.Profile.STANDARD,
    include_personal_data: bool = False,
) -> WebhookSubscription:
    """A new subscription of `owner` (agencies and procedures are model instances; empty means
    all the owner may see). Its `secret` is readable on the returned object, once."""
    agencies, procedures = list(agencies), list(procedures)
    validate(owner, url=url, event_types=event_types, agencies=agencies)
    with transaction.atomic():
        subscription = WebhookSubscription(
            owner=owner,
            url=url,
            event_types=sorted(set(event_types)),
            profile=profile,
            include_personal_data=include_personal_data,
        )
        initialize(subscription)
        subscription.save()
        subscription.agencies.set(agencies)
        subscription.procedures.set(procedures)
    return subscription


SETTINGS = ("url", "event_types", "agencies", "procedures", "profile", "include_personal_data")


def subscription_update(subscription: WebhookSubscription, **changes) -> WebhookSubscription:
    """Change a subscription's settings (SETTINGS) and, with `state`, pause or resume it. A new
    URL is checked and, like a resume, retried at once. Delivery progress is left alone."""
    unknown = set(changes) - {*SETTINGS, "state"}
    if unknown:
        raise TypeError(f"not a subscription setting: {', '.join(sorted(unknown))}")
    if "agencies" in changes:
        changes["agencies"] = list(changes["agencies"])
    validate(
        subscription.owner,
        url=changes.get("url"),
        event_types=changes.get("event_types"),
        agencies=changes.get("agencies"),
    )
    state = changes.pop("state", None)
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    with transaction.atomic():
        fields = [f for f in SETTINGS if f in changes and f not in ("agencies", "procedures")]
        for field in fields:
            setattr(subscription, field, changes[field])
        if fields:
            # Only the settings: the delivery progress a worker writes meanwhile stays.
            subscription.save(update_fields=fields)
        if "agencies" in changes:
            subscription.agencies.set(changes["agencies"])
        if "procedures" in changes:
            subscription.procedures.set(changes["procedures"])
        paused = WebhookSubscription.objects.filter(
            pk=subscription.pk, state=WebhookSubscription.State.PAUSED
        ).exists()
        if state == WebhookSubscription.State.PAUSED and not paused:
            with translation.override(settings.LANGUAGE_CODE):
                pause(subscription, _("Tạm dừng theo yêu cầu."))
        elif state == WebhookSubscription.State.ACTIVE and paused:
            resume(subscription)
        elif not paused and "url" in changes:
            _retry_now(subscription)  # the new address is tried at once
        elif not paused and changes:
            deliver_webhooks.enqueue(subscription.pk)  # new filters may let entries through
    subscription.refresh_from_db()
    return subscription


def subscription_delete(subscription: WebhookSubscription) -> None:
    """Delete a subscription and its delivery record (a job still planned finds nothing)."""
    subscription.delete()


# --- what administrators and owners do ----------------------------------------------------------


def _record_state(subscription_id: int) -> None:
    """A history row for a change of state made with update() (which writes none): the state
    and the pause reason are in the subscription's sealed history, and the current row must
    match its newest history row (integrity.verify_history)."""
    row = WebhookSubscription.objects.get(pk=subscription_id)
    row.save(update_fields=["state", "paused_reason"])


def pause(subscription: WebhookSubscription, reason: str = "") -> None:
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            state=WebhookSubscription.State.PAUSED,
            paused_reason=reason[:255],
            next_attempt_at=None,
        )
        _record_state(subscription.pk)


def _retry_now(subscription: WebhookSubscription, **fields) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failures=0, failing_since=None, next_attempt_at=None, **fields
    )
    deliver_webhooks.enqueue(subscription.pk)


def resume(subscription: WebhookSubscription) -> None:
    """Active again, retrying at once from where it stopped."""
    with transaction.atomic():
        _retry_now(subscription, state=WebhookSubscription.State.ACTIVE, paused_reason="")
        _record_state(subscription.pk)


def replay(subscription: WebhookSubscription, *, after: int) -> None:
    """Deliver again every entry after feed position `after` (each with its original id). The
    cursor only moves back: entries not delivered yet are never skipped."""
    current = WebhookSubscription.objects.values_list("cursor", flat=True).get(pk=subscription.pk)
    if after < 0 or after > current:
        raise ValidationFailed(
            fields={
                "after": [
                    _("Chỉ gửi lại được từ một vị trí từ 0 đến %(cursor)s (đã gửi đến đó).")
                    % {"cursor": current}
                ]
            }
        )
    with transaction.atomic():
        _retry_now(subscription, cursor=after)


def lag(subscription: WebhookSubscription) -> dt.datetime | None:
    """When the oldest entry still waiting for this subscription happened (None: up to date)."""
    oldest = pending(subscription).values_list("created_at", flat=True).first()
    return oldest


def head_position() -> int:
    """The newest feed position (a new subscription starts after it)."""
    last = FeedEntry.objects.order_by("-position").values_list("position", flat=True).first()
    return last or 0
