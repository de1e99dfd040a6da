"""How the connections to other systems are doing, for the operations page
(/supervision/integrations/) and /healthz: each webhook subscription's state, how far behind it
is and its latest attempts; the background worker's queue. And the three things administrators
do there: pause, resume, replay.

Every read takes a fixed number of queries, whatever the number of subscriptions: the
subscriptions with their filters and owners' memberships come in one go, what waits for each is
counted in one aggregate, the latest attempts come as sliced prefetches.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, F, Max, Min, Prefetch, Q, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from .. import tasks
from ..errors import Forbidden
from ..models import DeliveryAttempt, FeedEntry, Membership, WebhookSubscription
from ..workflow import EventType
from . import webhooks

log = logging.getLogger(__name__)

# An active subscription whose oldest undelivered event is older than this counts as lagging.
LAGGING_AFTER = dt.timedelta(minutes=5)
RECENT_FAILURES = 5  # failed attempts shown per subscription
RECENT_FAILED_JOBS = 5  # failed jobs listed on the page
FAILED_JOBS_WINDOW = dt.timedelta(hours=24)


# --- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionOverview:
    """One subscription as operations see it (never its secret)."""

    subscription: WebhookSubscription
    waiting: int  # entries still to deliver
    oldest_waiting_at: dt.datetime | None  # when the oldest of them happened (None: up to date)
    recent_failures: list[DeliveryAttempt]  # newest first, at most RECENT_FAILURES
    last_success: DeliveryAttempt | None

    @property
    def paused(self) -> bool:
        return self.subscription.state == WebhookSubscription.State.PAUSED

    @property
    def failing(self) -> bool:
        """Active, but its last attempt failed: a retry is planned."""
        return not self.paused and self.subscription.failing_since is not None

    @property
    def event_types(self) -> list[tuple[str, str]]:
        """(code, label) of the event types asked for; empty: every type."""
        labels = dict(EventType.choices)
        return [(code, str(labels.get(code, code))) for code in self.subscription.event_types]

    @property
    def agency_codes(self) -> list[str]:
        return [a.code for a in self.subscription.agencies.all()]

    @property
    def procedure_codes(self) -> list[str]:
        return [p.code for p in self.subscription.procedures.all()]


def _subscriptions(queryset=None, *, attempts: bool = False):
    """Subscriptions with what `webhooks.pending` reads of them: their agencies and procedures
    and their owners' memberships (which `permissions.memberships_of` keeps on the user object,
    under this name: prefetched here in one query rather than read once per owner)."""
    queryset = WebhookSubscription.objects.all() if queryset is None else queryset
    queryset = (
        queryset.defer("secret")
        .select_related("owner")
        .prefetch_related(
            "agencies",
            "procedures",
            Prefetch(
                "owner__memberships",
                queryset=Membership.objects.select_related("agency"),
                to_attr="_onestop_memberships",
            ),
        )
        .order_by("pk")
    )
    if attempts:
        latest = DeliveryAttempt.objects.select_related("entry").order_by("-attempted_at", "-id")
        queryset = queryset.prefetch_related(
            Prefetch(
                "attempts",
                queryset=latest.filter(succeeded=False)[:RECENT_FAILURES],
                to_attr="recent_failures",
            ),
            Prefetch(
                "attempts", queryset=latest.filter(succeeded=True)[:1], to_attr="last_successes"
            ),
        )
    return queryset


def waiting(subscriptions) -> dict[int, tuple[int, dt.datetime | None]]:
    """For each subscription: how many entries wait for it (`webhooks.pending`) and when the
    oldest of them happened. One aggregate over the feed after the smallest cursor."""
    subscriptions = list(subscriptions)
    if not subscriptions:
        return {}
    aggregates = {}
    for subscription in subscriptions:
        mine = Q(pk__in=webhooks.pending(subscription).order_by().values("pk"))
        aggregates[f"n{subscription.pk}"] = Count("pk", filter=mine)
        aggregates[f"t{subscription.pk}"] = Min("created_at", filter=mine)
    since = min(s.cursor for s in subscriptions)
    found = FeedEntry.objects.filter(position__gt=since).aggregate(**aggregates)
    return {s.pk: (found[f"n{s.pk}"] or 0, found[f"t{s.pk}"]) for s in subscriptions}


def subscriptions_overview() -> list[SubscriptionOverview]:
    """Every subscription, in creation order, with its lag and latest attempts."""
    subscriptions = list(_subscriptions(attempts=True))
    lag = waiting(subscriptions)
    return [
        SubscriptionOverview(
            subscription=s,
            waiting=lag[s.pk][0],
            oldest_waiting_at=lag[s.pk][1],
            recent_failures=list(s.recent_failures),
            last_success=s.last_successes[0] if s.last_successes else None,
        )
        for s in subscriptions
    ]


def subscription_counts(now: dt.datetime | None = None) -> dict[str, int]:
    """Active and paused subscriptions, and the active ones lagging: their oldest undelivered
    event is older than LAGGING_AFTER (an endpoint failing, or no worker delivering)."""
    now = now or timezone.now()
    states = dict(
        WebhookSubscription.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    active = _subscriptions(
        WebhookSubscription.objects.filter(state=WebhookSubscription.State.ACTIVE)
    )
    lagging = sum(
        1
        for _n, oldest in waiting(active).values()
        if oldest is not None and now - oldest > LAGGING_AFTER
    )
    return {
        "active": states.get(WebhookSubscription.State.ACTIVE, 0),
        "paused": states.get(WebhookSubscription.State.PAUSED, 0),
        "lagging": lagging,
    }


# --- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerOverview:
    backlog: int  # jobs due now and not taken (tasks.backlog)
    oldest_due_at: dt.datetime | None  # since when the oldest of them has been due
    oldest_due_seconds: int  # 0 when nothing is due
    running: int
    failed_recently: int  # failed in the last FAILED_JOBS_WINDOW
    recent_failed_jobs: list[DBTaskResult]  # newest first (only when asked for)


def worker_overview(now: dt.datetime | None = None, *, failed_jobs: bool = True) -> WorkerOverview:
    """The worker's queue: what is due and not taken, what runs, what failed lately. A job is
    due from its `run_after`, or from when it was enqueued when it has none."""
    now = now or timezone.now()
    due_since = Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))
    oldest = DBTaskResult.objects.ready().aggregate(oldest=Min(due_since))["oldest"]
    since = now - FAILED_JOBS_WINDOW
    failed = Q(status=TaskResultStatus.FAILED, finished_at__gte=since)
    running = Q(status=TaskResultStatus.RUNNING)
    if failed_jobs:
        counts = DBTaskResult.objects.filter(running | failed).aggregate(
            running=Count("pk", filter=running), failed=Count("pk", filter=failed)
        )
        recent = list(
            DBTaskResult.objects.filter(failed)
            .order_by("-finished_at")
            .only("id", "task_path", "finished_at", "exception_class_path")[:RECENT_FAILED_JOBS]
        )
    else:
        counts = {"running": DBTaskResult.objects.filter(running).count(), "failed": 0}
        recent = []
    return WorkerOverview(
        backlog=tasks.backlog(),
        oldest_due_at=oldest,
        oldest_due_seconds=max(0, int((now - oldest).total_seconds())) if oldest else 0,
        running=counts["running"],
        failed_recently=counts["failed"],
        recent_failed_jobs=recent,
    )


# --- /healthz -----------------------------------------------------------------------------------


HEALTH_CACHE_SECONDS = 15


def last_sweep_at() -> dt.datetime | None:
    """When a worker last swept (or started): each sweep, and each worker as it starts, plans
    the next sweep first, so the planned one was enqueued then. None: no sweep is planned (no
    worker ever ran). One query on the waiting jobs (the task table's partial index)."""
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=tasks.sweep.module_path
    ).aggregate(at=Max("enqueued_at"))["at"]


def health() -> dict:
    """What /healthz answers: the database answers, the worker's queue, the subscriptions'
    states. Counts only, no personal data; a database that does not answer raises DatabaseError.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    now = timezone.now()
    worker = worker_overview(now, failed_jobs=False)
    last_sweep = last_sweep_at()
    return {
        "database": "ok",
        "worker": {
            "backlog": worker.backlog,
            "oldest_due_seconds": worker.oldest_due_seconds,
            "running": worker.running,
            "last_sweep_seconds": (
                max(0, int((now - last_sweep).total_seconds())) if last_sweep else None
            ),
        },
        # Recounted at most every HEALTH_CACHE_SECONDS: it scans the backlog, and /healthz is
        # open to anyone.
        "webhooks": cache.get_or_set(
            "onestop:healthz:webhooks", lambda: subscription_counts(now), HEALTH_CACHE_SECONDS
        ),
    }


# --- what administrators do ---------------------------------------------------------------------


def _administrator(user) -> None:
    if not (user.is_authenticated and user.is_active and user.is_superuser):
        raise Forbidden(
            _("Chỉ quản trị viên được tạm dừng, tiếp tục hoặc gửi lại đăng ký nhận sự kiện.")
        )


def pause(user, subscription: WebhookSubscription) -> bool:
    """An administrator pauses a subscription (False: it was paused already)."""
    _administrator(user)
    if not WebhookSubscription.objects.filter(
        pk=subscription.pk, state=WebhookSubscription.State.ACTIVE
    ).exists():
        return False
    with translation.override(settings.LANGUAGE_CODE):  # stored, read by everyone
        reason = _("Quản trị viên %(username)s tạm dừng trên trang vận hành.") % {
            "username": user.get_username()
        }
    webhooks.pause(subscription, reason)
    log.info("subscription %s paused by %s", subscription.pk, user.get_username())
    return True


def resume(user, subscription: WebhookSubscription) -> bool:
    """An administrator resumes a paused subscription, retried at once from where it stopped
    (False: it was active already)."""
    _administrator(user)
    if not WebhookSubscription.objects.filter(
        pk=subscription.pk, state=WebhookSubscription.State.PAUSED
    ).exists():
        return False
    webhooks.resume(subscription)
    log.info("subscription %s resumed by %s", subscription.pk, user.get_username())
    return True


def replay(user, subscription: WebhookSubscription, *, after: int) -> None:
    """An administrator has every entry after feed position `after` delivered again
    (ValidationFailed on `after` outside 0..the subscription's cursor)."""
    _administrator(user)
    webhooks.replay(subscription, after=after)
    log.info("subscription %s replayed after %s by %s", subscription.pk, after, user.get_username())
