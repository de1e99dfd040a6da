"""E-mails are sent by the worker, never by the action: they never break an action, nothing
leaves for an action that rolled back, and failures are retried."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dossiers import notify, services
from dossiers.errors import ValidationFailed
from dossiers.models import OutgoingEmail
from dossiers.workflow import Status

from .conftest import actor
from .worker import ready_jobs, run_jobs


class DownMailServer(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server unreachable")


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
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    received = services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert received.status == Status.RECEIVED
    run_jobs()
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert (email.state, email.attempts) == ("pending", 1)
    assert "unreachable" in email.last_error
    # The job planned its own retry, later (it is not ready yet).
    (retry,) = DBTaskResult.objects.filter(task_path=notify.send_email.module_path, status="READY")
    assert retry.args_kwargs["args"] == [email.pk] and retry.run_after > timezone.now()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_jobs()  # the mails of the steps that built the dossier
    mail.outbox.clear()
    call_command("send_notifications")
    email.refresh_from_db()
    assert email.state == "sent" and email.attempts == 2
    assert email.subject in [m.subject for m in mail.outbox]
    assert not OutgoingEmail.objects.filter(state="pending").exists()


def test_retries_give_up_after_a_limit(make_dossier, reception, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    dossier = make_dossier(Status.SUBMITTED)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    for _attempt in range(notify.MAX_ATTEMPTS + 2):
        notify.retry()
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert (email.state, email.attempts) == ("failed", notify.MAX_ATTEMPTS)
