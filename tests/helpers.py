"""Firing any action with valid arguments, as a user holding a role that may fire it."""

import datetime as dt
import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from dossiers import second_factor, services, tokens
from dossiers.demo.scenarios import pdf_upload
from dossiers.models import Attachment, Dossier
from dossiers.workflow import EDGES, Action, Role, Status, edge_for
from dossiers.worktime import WorkCalendar

from .conftest import actor


def user_for(action, status, people):
    """Someone who may fire `action` in `status`, else someone who may fire it in some status."""
    edge = edge_for(action, status)
    roles = (
        sorted(edge.roles)
        if edge
        else sorted({r for e in EDGES if e.action == action for r in e.roles})
    )
    if action == Action.REQUEST_SUPPLEMENT:
        roles = [Role.RECEPTION if status == Status.SUBMITTED else Role.SPECIALIST]
    if action == Action.WITHDRAW:
        roles = [Role.CITIZEN]
    # The payment account (integration) records only gateway payments: tests/test_payments.py.
    return people[next(role for role in roles if role in people)]


def fire(action, dossier: Dossier, user, people, **overrides):
    a = actor(user)
    procedure = dossier.procedure
    if action == Action.SUPPLEMENT and dossier.status == Status.SUPPLEMENT_REQUESTED:
        for doc_id in dossier.requested_documents:
            services.attachment_add(
                actor=a,
                dossier=dossier,
                upload=pdf_upload(),
                purpose=Attachment.Purpose.SUPPLEMENT,
                document=procedure.documents.get(pk=doc_id),
            )
        dossier = Dossier.objects.get(pk=dossier.pk)
    if action == Action.PROPOSE and dossier.status == Status.PROCESSING:
        services.attachment_add(
            actor=a,
            dossier=dossier,
            upload=pdf_upload("ket-qua.pdf"),
            purpose=Attachment.Purpose.RESULT,
        )
        dossier = Dossier.objects.get(pk=dossier.pk)
    kwargs = {
        Action.REFUSE: dict(reason="Không thuộc thẩm quyền."),
        Action.REQUEST_SUPPLEMENT: dict(
            documents=[procedure.documents.order_by("id").first().pk], reason="Thiếu bản rõ nét."
        ),
        Action.ASSIGN: dict(assignee=people.get("specialist2")),
        Action.PROPOSE: dict(outcome=Dossier.Outcome.GRANTED, note="Đủ điều kiện."),
        Action.SEND_BACK: dict(reason="Kiểm tra lại."),
        Action.REQUEST_PAYMENT: dict(amount_vnd=35000),
        Action.RECORD_PAYMENT: dict(receipt_number="BL-1"),
        Action.RETURN_RESULT: dict(delivery=Dossier.Delivery.COUNTER),
        Action.WITHDRAW: dict(reason="Không còn nhu cầu."),
        Action.STOP: dict(reason="Người yêu cầu đề nghị dừng."),
        Action.RESCHEDULE: dict(new_due_at=_later_due(dossier), reason="Cần xác minh."),
        Action.RATE: dict(rating=Dossier.Rating.SATISFIED),
        Action.NOTE: dict(text="Đã gọi điện cho công dân."),
    }.get(action, {})
    kwargs.update(overrides)
    return services.ACTION_SERVICES[action](actor=a, dossier=dossier, **kwargs)


def _later_due(dossier):
    calendar = WorkCalendar.current()
    if dossier.due_at is None:
        return dt.datetime(2030, 1, 2, 16, 0, tzinfo=calendar.tz)
    return calendar.closing(
        calendar.next_working_day(dossier.due_at.astimezone(calendar.tz).date())
    )


def client_of(user) -> APIClient:
    """An API client authenticated with a new token of `user`'s."""
    client = APIClient()
    _token, key = tokens.issue(user, "test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- the staff's second factor ------------------------------------------------------------------


def enrol_totp(user) -> TOTPDevice:
    """`user`'s confirmed authenticator (made once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def current_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the person's authenticator app shows now (django-otp's own TOTP)."""
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0 - steps_ahead * device.step,
        digits=device.digits,
        drift=device.drift,
    )
    return f"{code:0{device.digits}d}"


def fresh_code(device: TOTPDevice) -> str:
    """A code the device accepts now: each time step's code is accepted once, so when this
    step's was used, the next step's (accepted too: a phone's clock may run a little ahead),
    and when both were, wait."""
    while True:
        device.refresh_from_db()
        now_t = (int(time.time()) - device.t0) // device.step + device.drift
        for ahead in range(device.tolerance + 1):
            if now_t + ahead > device.last_t:
                return current_code(device, steps_ahead=ahead)
        time.sleep(0.5)


def recovery_code(user) -> str:
    """One new recovery code for `user` (an authenticator is enrolled too, as a staff account
    with a second factor has)."""
    enrol_totp(user)
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=second_factor.RECOVERY_NAME, defaults={"confirmed": True}
    )
    code = StaticToken.random_token()
    device.token_set.create(token=code)
    return code


def pass_second_factor(client, user) -> None:
    """What a staff login's second step does, for a test client already logged in: a real
    verification of a fresh recovery code, its device recorded in the session as django-otp's
    login does."""
    device = second_factor.verify(user, recovery_code(user))
    assert device is not None
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def browser_log_in(page, base: str, username: str, password: str = "onestop-test") -> None:
    """Log in in a real browser as a person does: the password, then for staff the code their
    authenticator app shows (an authenticator is enrolled for them first if they have none)."""
    from django.contrib.auth import get_user_model

    from dossiers.permissions import needs_second_factor

    user = get_user_model().objects.get(username=username)
    device = enrol_totp(user) if needs_second_factor(user) else None
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    if device is not None:
        page.wait_for_url("**/accounts/security/verify/**")
        page.locator("#id_code").fill(fresh_code(device))
        page.locator("#id_code").press("Enter")
        page.wait_for_load_state()
