"""E-mail to the applicant on every status change and on supplement requests.

`queue()` runs inside the action's transaction (the e-mail exists exactly when the action
committed); `send()` runs after commit and never raises; `retry()` re-sends what failed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from . import clock
from .formatting import vn_datetime
from .models import Dossier, DossierEvent, OutgoingEmail
from .workflow import EventType, Status

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


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
        if dossier.due_at and dossier.status not in (Status.REFUSED, Status.WITHDRAWN):
            lines += [_("Ngày hẹn trả kết quả: %(due)s") % {"due": vn_datetime(dossier.due_at)}]
        lines += [
            "",
            _("Tra cứu hồ sơ: %(url)s/lookup/?code=%(code)s (mã tra cứu in trên giấy tiếp nhận).")
            % {"url": settings.ONESTOP_PUBLIC_URL.rstrip("/"), "code": dossier.code},
            "",
            dossier.receiving_agency.one_stop_unit or dossier.receiving_agency.name,
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


def send(ids) -> int:
    """Send the given pending e-mails; failures are recorded, never raised. Returns sent count."""
    sent = 0
    for email in OutgoingEmail.objects.filter(pk__in=ids, state=OutgoingEmail.State.PENDING):
        email.attempts += 1
        try:
            send_mail(email.subject, email.body, None, [email.to], fail_silently=False)
        except Exception as exc:  # any transport error: keep for retry
            log.warning(
                "e-mail %s to %s failed (attempt %s): %s", email.pk, email.to, email.attempts, exc
            )
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.state = OutgoingEmail.State.FAILED
        else:
            email.state, email.sent_at, email.last_error = OutgoingEmail.State.SENT, clock.now(), ""
            sent += 1
        email.save(update_fields=["attempts", "last_error", "state", "sent_at"])
    return sent


def retry(limit: int = 500) -> tuple[int, int]:
    """Re-send pending e-mails, oldest first. Returns (tried, sent)."""
    ids = list(
        OutgoingEmail.objects.filter(state=OutgoingEmail.State.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return len(ids), send(ids)


@task()
def send_email(email_id: int) -> None:
    """The worker's job: send one e-mail; a transport failure plans the next try with a growing
    delay (after MAX_ATTEMPTS the e-mail is marked failed)."""
    send([email_id])
    email = OutgoingEmail.objects.filter(pk=email_id).only("state", "attempts").first()
    if email is not None and email.state == OutgoingEmail.State.PENDING:
        retry_at = timezone.now() + clock.backoff(email.attempts)
        send_email.using(run_after=retry_at).enqueue(email_id)
