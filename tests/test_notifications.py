"""E-mails are sent by the worker, never by the action: they never break an action, nothing
leaves for an action that rolled back, and failures are retried with growing delays for days
(through a real SMTP peer on loopback that refuses), then shown to the official and to the
administrator, who may retry."""

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from dossiers import clock, notify, services, tasks
from dossiers.errors import ValidationFailed
from dossiers.formatting import vn_datetime
from dossiers.models import OutgoingEmail
from dossiers.workflow import Status

from . import smtp_support
from .conftest import actor
from .smtp_support import closed_port, use_smtp
from .worker import ready_jobs, run_jobs

# The real SMTP peer on loopback (smtp_support.py), used here by name.
smtp_peer = smtp_support.smtp_peer


def test_status_change_mails_the_applicant_through_the_worker(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()  # the mails of the steps that built the dossier
    mail.outbox.clear()
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert mail.outbox == []  # the action does not wait on the mail server
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert [j.args_kwargs["args"] for j in ready_jobs(notify.send_email)] == [[email.pk]]
    run_jobs()
    (message,) = mail.outbox
    assert message.to == ["citizen@example.vn"]
    assert dossier.code in message.subject and "Được tiếp nhận" in message.subject
    assert "Ngày hẹn trả kết quả" in message.body
    assert OutgoingEmail.objects.get(event__event_type="dossier.received").state == "sent"


def test_supplement_request_lists_the_documents(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    document = dossier.procedure.documents.first()
    run_jobs()  # the mails of the steps that built the dossier
    mail.outbox.clear()
    services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[document.pk], reason="Ảnh bị mờ"
    )
    run_jobs()
    (message,) = mail.outbox
    assert document.name in message.body and "Ảnh bị mờ" in message.body


def test_internal_notes_are_never_mailed(make_dossier, reception):
    dossier = make_dossier(Status.RECEIVED)
    run_jobs()  # the mails of the steps that built the dossier
    mail.outbox.clear()
    services.dossier_add_note(actor=actor(reception), dossier=dossier, text="Nội bộ: gọi lại")
    run_jobs()
    assert mail.outbox == []
    assert not OutgoingEmail.objects.filter(body__contains="Nội bộ").exists()


def test_a_refused_action_queues_nothing(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    before = OutgoingEmail.objects.count()
    jobs_before = len(ready_jobs())
    with pytest.raises(ValidationFailed):
        services.dossier_refuse(actor=actor(reception), dossier=dossier, reason="")
    assert OutgoingEmail.objects.count() == before
    assert len(ready_jobs()) == jobs_before


def test_mail_server_down_does_not_fail_the_action_and_is_retried(
    make_dossier, reception, settings
):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()  # the mails of the steps that built the dossier
    use_smtp(settings, closed_port())  # nothing listens: connection refused
    received = services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert received.status == Status.RECEIVED
    run_jobs()
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert (email.state, email.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in email.last_error
    # The job planned its own retry, a minute later (it is not ready yet).
    (retry,) = DBTaskResult.objects.filter(task_path=notify.send_email.module_path, status="READY")
    assert retry.args_kwargs["args"] == [email.pk] and retry.run_after > timezone.now()
    assert email.next_attempt_at - email.last_attempt_at == dt.timedelta(minutes=1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    call_command("send_notifications")
    email.refresh_from_db()
    assert email.state == "sent" and email.attempts == 2 and email.next_attempt_at is None
    assert email.subject in [m.subject for m in mail.outbox]
    assert not OutgoingEmail.objects.filter(state="pending").exists()


def come_due() -> None:
    """The planned e-mail jobs are due on the real clock (the tests move the domain's clock)."""
    DBTaskResult.objects.filter(
        task_path=notify.send_email.module_path, status=TaskResultStatus.READY
    ).update(run_after=timezone.now() - dt.timedelta(seconds=1))


def _refused_until_given_up(smtp_peer, dossier, reception, *, reply):
    """Receive `dossier` while the mail server refuses the recipient, then let the worker try at
    each planned moment (the domain's clock moved there) until it gives up. Returns the e-mail,
    the moments of its attempts, and what the official's page said after the first failure."""
    smtp_peer.refuse(reply)
    start = timezone.now()
    with clock.frozen(start):
        services.dossier_receive(actor=actor(reception), dossier=dossier)
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    asked_before, moments, now = smtp_peer.recipients_asked(), [], start
    while True:
        with clock.frozen(now):
            come_due()
            run_jobs()
        email.refresh_from_db()
        moments.append(email.last_attempt_at)
        if email.state != "pending":
            break
        # One job, planned for the next try (not due yet on the real clock).
        assert not ready_jobs(notify.send_email)
        (planned,) = DBTaskResult.objects.filter(
            task_path=notify.send_email.module_path, status=TaskResultStatus.READY
        )
        assert planned.run_after > timezone.now() and planned.args_kwargs["args"] == [email.pk]
        now = email.next_attempt_at
    assert smtp_peer.recipients_asked() - asked_before == email.attempts == len(moments)
    return email, start, moments


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "554 5.7.1 Rejected"])
def test_refused_mail_is_retried_with_growing_delays_for_days_then_given_up(
    smtp_peer, make_dossier, reception, reply
):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    assert len(smtp_peer.messages) == 1  # the submission's mail went through the peer
    email, start, moments = _refused_until_given_up(smtp_peer, dossier, reception, reply=reply)

    minutes = [round((b - a).total_seconds() / 60) for a, b in itertools.pairwise(moments)]
    # 1 minute, doubling, at most 6 hours apart; the last try at the end of the 3 days.
    assert minutes[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360]
    assert set(minutes[10:-1]) == {360} and 0 < minutes[-1] <= 360
    assert moments[0] == start and moments[-1] == start + dt.timedelta(days=3)
    assert email.attempts == 21 > 6  # past the old limit of six tries
    assert (email.state, email.next_attempt_at) == ("failed", None)
    assert reply.split()[0] in email.last_error and "SMTPRecipientsRefused" in email.last_error
    assert not DBTaskResult.objects.filter(
        task_path=notify.send_email.module_path, status=TaskResultStatus.READY
    ).exists()  # given up: no job left
    assert len(smtp_peer.messages) == 1


def test_the_retry_period_is_a_setting(smtp_peer, make_dossier, reception, settings):
    settings.ONESTOP_EMAIL_RETRY_DAYS = 0.5
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    email, start, moments = _refused_until_given_up(
        smtp_peer, dossier, reception, reply="451 4.3.0 Try again later"
    )
    assert moments[-1] == start + dt.timedelta(hours=12) and email.state == "failed"
    assert email.attempts == 11  # 511 minutes of doubling (10 tries), then the rest of 12 hours


def test_the_official_sees_that_the_applicant_was_not_told(
    smtp_peer, make_dossier, reception, client
):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    smtp_peer.refuse("451 4.3.0 Try again later")
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    client.force_login(reception)
    page = client.get(reverse("office:dossier", args=[dossier.pk])).content.decode()
    assert "Chưa gửi được thư báo cho người nộp" in page and "sẽ thử lại lúc" in page
    assert "451" in page

    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    with clock.frozen(notify.give_up_at(email)):
        come_due()
        run_jobs()
    email.refresh_from_db()
    assert email.state == "failed"
    page = client.get(reverse("office:dossier", args=[dossier.pk])).content.decode()
    assert "Không gửi được thư báo cho người nộp" in page
    assert f"lần cuối {vn_datetime(email.last_attempt_at)}" in page and "451" in page
    assert "Chưa gửi được" not in page


def test_an_administrator_finds_the_failures_and_retries_one(
    smtp_peer, make_dossier, reception, admin_client
):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    smtp_peer.refuse("554 5.7.1 Rejected")
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    with clock.frozen(notify.give_up_at(email)):
        run_jobs()
    email.refresh_from_db()
    assert email.state == "failed"

    changelist = reverse("admin:dossiers_outgoingemail_changelist")
    listed = admin_client.get(changelist, {"state__exact": "failed"})
    assert [e.pk for e in listed.context["cl"].result_list] == [email.pk]
    assert "554" in listed.content.decode()

    smtp_peer.accept()
    response = admin_client.post(
        changelist, {"action": "retry_selected", "_selected_action": [email.pk]}
    )
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.state == "pending"
    run_jobs()  # due at once
    email.refresh_from_db()
    assert email.state == "sent" and email.last_error == ""
    assert smtp_peer.messages[-1]["Subject"] and dossier.code in smtp_peer.messages[-1]["Subject"]
    assert admin_client.get(changelist, {"state__exact": "failed"}).context["cl"].result_count == 0


def test_an_officer_without_the_right_cannot_retry(smtp_peer, make_dossier, reception, client):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    smtp_peer.refuse("554 5.7.1 Rejected")
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    with clock.frozen(notify.give_up_at(email)):
        run_jobs()
    reception.is_staff = True
    reception.save(update_fields=["is_staff"])
    reception.user_permissions.add(Permission.objects.get(codename="view_outgoingemail"))
    client.force_login(reception)
    changelist = reverse("admin:dossiers_outgoingemail_changelist")
    assert email.pk in [e.pk for e in client.get(changelist).context["cl"].result_list]
    client.post(changelist, {"action": "retry_selected", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert email.state == "failed"


def test_the_sweep_replans_a_lost_job_for_the_next_try(smtp_peer, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    run_jobs()
    smtp_peer.refuse("451 4.3.0 Try again later")
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    run_jobs()
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    DBTaskResult.objects.filter(task_path=notify.send_email.module_path).delete()  # lost
    tasks.sweep.call()
    (planned,) = DBTaskResult.objects.filter(
        task_path=notify.send_email.module_path, status=TaskResultStatus.READY
    )
    # Planned for the next try, a minute after the failure (not at once, nor "no time").
    delay = planned.run_after - timezone.now()
    assert dt.timedelta(seconds=50) < delay <= dt.timedelta(minutes=1)
    assert not ready_jobs(notify.send_email)
    assert email.attempts == 1
