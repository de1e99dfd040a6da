"""E-mails go out after commit, never break an action, and are retried."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from dossiers import services
from dossiers.errors import ValidationFailed
from dossiers.models import OutgoingEmail
from dossiers.workflow import Status

from .conftest import actor


class DownMailServer(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server unreachable")


def test_status_change_mails_the_applicant_after_commit(
    make_dossier, reception, django_capture_on_commit_callbacks
):
    dossier = make_dossier(Status.SUBMITTED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == ["citizen@example.vn"]
    assert dossier.code in message.subject and "Được tiếp nhận" in message.subject
    assert "Ngày hẹn trả kết quả" in message.body
    assert OutgoingEmail.objects.get(event__event_type="dossier.received").state == "sent"


def test_supplement_request_lists_the_documents(
    make_dossier, reception, django_capture_on_commit_callbacks
):
    dossier = make_dossier(Status.SUBMITTED)
    document = dossier.procedure.documents.first()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_request_supplement(
            actor=actor(reception), dossier=dossier, documents=[document.pk], reason="Ảnh bị mờ"
        )
    (message,) = mail.outbox
    assert document.name in message.body and "Ảnh bị mờ" in message.body


def test_internal_notes_are_never_mailed(
    make_dossier, reception, django_capture_on_commit_callbacks
):
    dossier = make_dossier(Status.RECEIVED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_add_note(actor=actor(reception), dossier=dossier, text="Nội bộ: gọi lại")
    assert mail.outbox == []
    assert not OutgoingEmail.objects.filter(body__contains="Nội bộ").exists()


def test_a_refused_action_queues_nothing(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    before = OutgoingEmail.objects.count()
    with pytest.raises(ValidationFailed):
        services.dossier_refuse(actor=actor(reception), dossier=dossier, reason="")
    assert OutgoingEmail.objects.count() == before


def test_mail_server_down_does_not_fail_the_action_and_is_retried(
    make_dossier, reception, settings, django_capture_on_commit_callbacks
):
    dossier = make_dossier(Status.SUBMITTED)
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        received = services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert received.status == Status.RECEIVED
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert (email.state, email.attempts) == ("pending", 1)
    assert "unreachable" in email.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    call_command("send_notifications")
    email.refresh_from_db()
    assert email.state == "sent" and email.attempts == 2
    assert email.subject in [m.subject for m in mail.outbox]
    assert not OutgoingEmail.objects.filter(state="pending").exists()


def test_retries_give_up_after_a_limit(make_dossier, reception, settings):
    from dossiers import notify

    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    dossier = make_dossier(Status.SUBMITTED)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    for _attempt in range(notify.MAX_ATTEMPTS + 2):
        notify.retry()
    email = OutgoingEmail.objects.get(event__event_type="dossier.received")
    assert (email.state, email.attempts) == ("failed", notify.MAX_ATTEMPTS)
