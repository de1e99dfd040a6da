"""Firing any action with valid arguments, as a user holding a role that may fire it."""

import datetime as dt

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dossiers import services
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
    return people[roles[0]]


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
    """An API client authenticated with `user`'s token."""
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
