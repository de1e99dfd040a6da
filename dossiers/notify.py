"""E-mail to the applicant on every status change and on supplement requests.

`queue()` runs inside the action's transaction (the e-mail exists exactly when the action
committed); `send()` runs after commit and never raises; `retry()` re-sends what is pending now.

A failed send is tried again by the worker with growing delays (1 minute, doubling, at most
6 hours apart) until ONESTOP_EMAIL_RETRY_DAYS have passed since the e-mail was written; the
last try falls on that moment, and if it fails too the e-mail is failed for good: the
official's dossier page says the applicant was not told (`undelivered`), and an administrator
finds it in the admin (state "failed") and may try it again (`retry_failed`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from . import appointment, clock, links, payment
from .formatting import vn_datetime
from .models import Dossier, DossierEvent, OutgoingEmail
from .workflow import EventType, Status

log = logging.getLogger(__name__)

# The delay before the n-th retry: RETRY_FIRST, doubling, at most RETRY_CAP (clock.backoff).
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=6)


# Events the applicant hears about (status changes, the supplement request, a new appointment).
NOTIFIED = {
    EventType.SUBMITTED,
    EventType.INTAKE,
    EventType.RECEIVED,
    EventType.REFUSED,
    EventType.SUPPLEMENT_REQUESTED,
    EventType.SUPPLEMENTED,
    EventType.ASSIGNED,
    EventType.APPROVED,
    EventType.PAYMENT_REQUESTED,
    # The clock runs again: the new appointment (and its new slip).
    EventType.PAYMENT_RECORDED,
    EventType.RETURNED,
    EventType.WITHDRAWN,
    EventType.STOPPED,
    EventType.RESCHEDULED,
}


def recipient(dossier: Dossier) -> str:
    if dossier.applicant_user_id and dossier.applicant_user.email:
        return dossier.applicant_user.email
    return dossier.applicant.get("email", "")


def compose(dossier: Dossier, event: DossierEvent) -> tuple[str, str]:
    """Subject and body, in Vietnamese, in plain language (no internal notes)."""
    with translation.override(settings.LANGUAGE_CODE):
        status = Status(dossier.status).label
        subject = _("Hồ sơ %(code)s: %(status)s") % {"code": dossier.code, "status": status}
        lines = [
            _("Kính gửi %(name)s,") % {"name": dossier.applicant_name or _("Quý ông/bà")},
            "",
            _("Hồ sơ %(code)s (%(procedure)s) hiện ở trạng thái: %(status)s.")
            % {"code": dossier.code, "procedure": dossier.procedure.name, "status": status},
        ]
        if event.data.get("assisted"):
            # Assisted filing (services/assisted.py): the person learns who filed in their name.
            lines += [
                _(
                    "Hồ sơ được cán bộ %(official)s nộp trực tuyến thay bạn tại %(place)s. "
                    "Nếu bạn không yêu cầu việc này, vui lòng báo ngay cho cơ quan."
                )
                % {
                    "official": event.data.get("assisted_by_name", ""),
                    "place": dossier.reception_name,
                }
            ]
        if event.event_type == EventType.SUPPLEMENT_REQUESTED:
            lines += ["", _("Giấy tờ cần bổ sung:")]
            lines += [f"- {name}" for name in event.data.get("document_names", [])]
            lines += [_("Lý do: %(reason)s") % {"reason": event.note}]
        elif event.event_type in (EventType.REFUSED, EventType.STOPPED, EventType.WITHDRAWN):
            lines += [_("Lý do: %(reason)s") % {"reason": event.note}]
        elif event.event_type == EventType.RESCHEDULED:
            lines += [
                _("Cơ quan xin lỗi vì chậm trả kết quả. Lý do: %(reason)s")
                % {"reason": event.note},
            ]
        when = appointment.current(dossier, with_since=False)
        if when.paused:
            lines += [
                _(
                    "Ngày hẹn trả kết quả: %(paused)s. Ngày hẹn mới được báo khi thời hạn "
                    "giải quyết được tính tiếp."
                )
                % {"paused": when.paused_text}
            ]
        elif dossier.due_at and dossier.status not in (Status.REFUSED, Status.WITHDRAWN):
            lines += [_("Ngày hẹn trả kết quả: %(due)s") % {"due": vn_datetime(dossier.due_at)}]
        if event.event_type == EventType.PAYMENT_REQUESTED:
            lines += ["", *payment.instructions_text(dossier, event)]
        lines += [
            "",
            _("Tra cứu hồ sơ: %(url)s/lookup/?code=%(code)s (mã tra cứu in trên giấy tiếp nhận).")
            % {"url": links.public_base_url(), "code": dossier.code},
            "",
            dossier.reception_name,
        ]
    return subject, "\n".join(lines)


def queue(dossier: Dossier, event: DossierEvent) -> OutgoingEmail | None:
    """Inside the action's transaction: write the e-mail (the worker sends it, tasks.send_email)."""
    if event.event_type not in NOTIFIED or not dossier.code:
        return None
    to = recipient(dossier)
    if not to:
        return None
    subject, body = compose(dossier, event)
    email = OutgoingEmail.objects.create(
        dossier=dossier,
        event=event,
        to=to,
        subject=subject[:255],
        body=body,
        created_at=clock.now(),
    )
    return email


def retry_period() -> dt.timedelta:
    return dt.timedelta(days=settings.ONESTOP_EMAIL_RETRY_DAYS)


def give_up_at(email: OutgoingEmail) -> dt.datetime:
    """When the last try of `email` falls: its retry period after it was written (or retried)."""
    return (email.retry_since or email.created_at) + retry_period()


def _failed(email: OutgoingEmail, exc: Exception, now: dt.datetime) -> None:
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    last = give_up_at(email)
    if now >= last:
        email.state, email.next_attempt_at = OutgoingEmail.State.FAILED, None
        log.error(
            "e-mail %s to %s given up after %s attempts: %s",
            email.pk,
            email.to,
            email.attempts,
            email.last_error,
        )
        return
    delay = clock.backoff(
        email.attempts, base=RETRY_FIRST.total_seconds(), cap=RETRY_CAP.total_seconds()
    )
    email.next_attempt_at = min(now + delay, last)  # the last try at the end of the period
    log.warning(
        "e-mail %s to %s failed (attempt %s, next at %s): %s",
        email.pk,
        email.to,
        email.attempts,
        email.next_attempt_at,
        email.last_error,
    )


def send(ids) -> int:
    """Send the given pending e-mails; failures are recorded, never raised. Returns sent count."""
    sent = 0
    for email in OutgoingEmail.objects.filter(pk__in=ids, state=OutgoingEmail.State.PENDING):
        now = clock.now()
        email.attempts += 1
        email.last_attempt_at = now
        try:
            send_mail(email.subject, email.body, None, [email.to], fail_silently=False)
        except Exception as exc:  # any transport error: keep for retry
            _failed(email, exc, now)
        else:
            email.state, email.sent_at, email.last_error = OutgoingEmail.State.SENT, now, ""
            email.next_attempt_at = None
            sent += 1
        email.save(
            update_fields=[
                "attempts",
                "last_error",
                "state",
                "sent_at",
                "last_attempt_at",
                "next_attempt_at",
            ]
        )
    return sent


def retry(limit: int = 500) -> tuple[int, int]:
    """Send pending e-mails now, oldest first, whenever their next try was planned (the
    `send_notifications` command). Returns (tried, sent)."""
    ids = list(
        OutgoingEmail.objects.filter(state=OutgoingEmail.State.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return len(ids), send(ids)


def plan(email: OutgoingEmail) -> None:
    """Enqueue the job that sends `email` when its next try is due. Jobs run on the real clock
    (timezone.now(), what workers read): the delay is measured on the domain's clock."""
    delay = max(dt.timedelta(0), (email.next_attempt_at or clock.now()) - clock.now())
    send_email.using(run_after=timezone.now() + delay).enqueue(email.pk)


def retry_failed(email_id: int) -> bool:
    """An administrator tries a failed e-mail again: pending once more, with a new retry period
    from now, sent by the worker at once. False when it is not failed (sent or still trying)."""
    now = clock.now()
    updated = OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.FAILED).update(
        state=OutgoingEmail.State.PENDING, retry_since=now, next_attempt_at=now
    )
    if updated:
        plan(OutgoingEmail.objects.get(pk=email_id))
    return bool(updated)


def undelivered(dossier: Dossier) -> list[OutgoingEmail]:
    """The e-mails to the applicant of `dossier` that did not go: failed for good, or failing
    and waiting for their next try (newest first)."""
    return list(
        dossier.emails.exclude(state=OutgoingEmail.State.SENT)
        .exclude(last_error="")
        .order_by("-created_at", "-pk")
    )


@task()
def send_email(email_id: int) -> None:
    """The worker's job: send one e-mail when its try is due; a transport failure plans the
    next try with a growing delay (`send`), until the retry period ends."""
    email = OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.PENDING).first()
    if email is None:
        return
    if email.next_attempt_at and email.next_attempt_at > clock.now():
        return  # early (a duplicate job): the job planned for that try, or the sweep, sends it
    send([email_id])
    email.refresh_from_db(fields=["state", "next_attempt_at"])
    if email.state == OutgoingEmail.State.PENDING:
        plan(email)
