"""Who may fire what, on which dossier; the guards of each action; no partial writes on refusal."""

import datetime as dt

import pytest

from dossiers import services
from dossiers.demo.scenarios import pdf_upload
from dossiers.errors import (
    ChangedMeanwhile,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from dossiers.models import Attachment, Dossier, ProcedureDocument
from dossiers.workflow import Status
from dossiers.worktime import WorkCalendar

from .conftest import actor


def unchanged(dossier):
    fresh = Dossier.objects.get(pk=dossier.pk)
    return (
        fresh.status == dossier.status
        and fresh.version == dossier.version
        and (fresh.events.count() == dossier.event_seq)
    )


@pytest.mark.parametrize(
    ("status", "call", "who", "error"),
    [
        (Status.SUBMITTED, "dossier_receive", "citizen", Forbidden),
        (Status.SUBMITTED, "dossier_receive", "specialist", Forbidden),
        (Status.SUBMITTED, "dossier_receive", "leader", Forbidden),
        (Status.SUBMITTED, "dossier_receive", "supervisor", Forbidden),
        (Status.SUBMITTED, "dossier_receive", "reception2", NotFound),
        (Status.DRAFT, "dossier_submit", "citizen2", NotFound),
        (Status.DRAFT, "dossier_submit", "reception", NotFound),
        (Status.PENDING_APPROVAL, "dossier_approve", "specialist", Forbidden),
        (Status.PENDING_APPROVAL, "dossier_approve", "reception", Forbidden),
        (Status.PENDING_APPROVAL, "dossier_approve", "supervisor", Forbidden),
        (Status.RESOLVED, "dossier_return_result", "leader", Forbidden),
        (Status.RETURNED, "dossier_rate", "reception", Forbidden),
        (Status.RETURNED, "dossier_rate", "citizen2", NotFound),
    ],
)
def test_role_refusals(
    status, call, who, error, make_dossier, request, citizen2, reception2, supervisor
):
    dossier = make_dossier(status)
    user = request.getfixturevalue(who)
    kwargs = {
        "dossier_return_result": {"delivery": "counter"},
        "dossier_rate": {"rating": "satisfied"},
    }
    with pytest.raises(error) as raised:
        getattr(services, call)(actor=actor(user), dossier=dossier, **kwargs.get(call, {}))
    assert str(raised.value.message)  # always a message for the user
    assert unchanged(dossier)


def test_forbidden_message_names_the_roles(make_dossier, citizen):
    dossier = make_dossier(Status.SUBMITTED)
    with pytest.raises(Forbidden) as raised:
        services.dossier_receive(actor=actor(citizen), dossier=dossier)
    assert "Cán bộ một cửa" in str(raised.value.message)


def test_reassign_is_for_leaders_not_reception(make_dossier, reception, leader, specialist2):
    dossier = make_dossier(Status.PROCESSING)
    with pytest.raises(Forbidden):
        services.dossier_assign(actor=actor(reception), dossier=dossier, assignee=specialist2)
    moved = services.dossier_assign(actor=actor(leader), dossier=dossier, assignee=specialist2)
    assert moved.assignee == specialist2
    assert moved.events.last().data["previous_assignee"] == "specialist"


def test_only_the_assignee_proposes(make_dossier, specialist2):
    dossier = make_dossier(Status.PROCESSING)
    with pytest.raises(Forbidden):
        services.dossier_propose(actor=actor(specialist2), dossier=dossier, outcome="granted")
    assert unchanged(dossier)


def test_assignee_must_be_a_specialist_of_the_competent_agency(make_dossier, leader, reception):
    dossier = make_dossier(Status.RECEIVED)
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_assign(actor=actor(reception), dossier=dossier, assignee=leader)
    assert "assignee" in raised.value.fields
    assert unchanged(dossier)


def test_submit_requires_the_required_documents(cast, procedure, commune, citizen):
    from dossiers.demo.scenarios import new_draft

    draft = new_draft(cast=cast, procedure=procedure, agency=commune, with_documents=False)
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_submit(actor=actor(citizen), dossier=draft)
    assert raised.value.fields["documents"] == ["Tờ khai cấp Giấy xác nhận tình trạng hôn nhân"]
    assert unchanged(draft)
    assert Dossier.objects.get(pk=draft.pk).code is None


def test_submit_validates_the_form(cast, procedure, commune, citizen):
    from dossiers.demo.scenarios import new_draft

    draft = new_draft(cast=cast, procedure=procedure, agency=commune)
    services.dossier_update_draft(actor=actor(citizen), dossier=draft, form_data={"full_name": "X"})
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_submit(actor=actor(citizen), dossier=Dossier.objects.get(pk=draft.pk))
    assert set(raised.value.fields) == {"purpose"}


def test_submit_snapshots_the_profile_and_assigns_a_code(make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    assert dossier.applicant["full_name"] == "Nguyễn Văn An"
    assert dossier.applicant["id_number"] == "031090001234"
    assert dossier.code.startswith("000.01.27.H27-")


@pytest.mark.parametrize(
    ("form_data", "field"),
    [
        ({"purpose": "Du lịch"}, "purpose"),  # not one of the choices
        ({"unknown": "x"}, "unknown"),
        ({"full_name": "x" * 300}, "full_name"),
    ],
)
def test_form_data_is_validated_against_the_procedure(procedure, form_data, field):
    with pytest.raises(ValidationFailed) as raised:
        services.validate_form_data(procedure, form_data)
    assert field in raised.value.fields


def test_reasons_are_required(make_dossier, reception, leader, citizen):
    submitted = make_dossier(Status.SUBMITTED)
    with pytest.raises(ValidationFailed):
        services.dossier_refuse(actor=actor(reception), dossier=submitted, reason="  ")
    with pytest.raises(ValidationFailed):
        services.dossier_withdraw(actor=actor(citizen), dossier=submitted, reason="")
    processing = make_dossier(Status.PROCESSING)
    with pytest.raises(ValidationFailed):
        services.dossier_stop(actor=actor(leader), dossier=processing, reason="")
    pending = make_dossier(Status.PENDING_APPROVAL)
    with pytest.raises(ValidationFailed):
        services.dossier_send_back(actor=actor(leader), dossier=pending, reason="")
    assert unchanged(submitted) and unchanged(processing) and unchanged(pending)


def test_supplement_request_only_lists_the_procedures_documents(
    make_dossier, reception, paused_procedure
):
    dossier = make_dossier(Status.SUBMITTED)
    foreign = ProcedureDocument.objects.filter(procedure=paused_procedure).first()
    with pytest.raises(ValidationFailed):
        services.dossier_request_supplement(
            actor=actor(reception), dossier=dossier, documents=[foreign.pk], reason="Thiếu"
        )
    with pytest.raises(ValidationFailed):
        services.dossier_request_supplement(
            actor=actor(reception), dossier=dossier, documents=[], reason="Thiếu"
        )
    assert unchanged(dossier)


def test_intake_supplement_goes_back_to_submitted(make_dossier, reception, citizen):
    dossier = make_dossier(Status.SUBMITTED)
    document = dossier.procedure.documents.first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[document.pk], reason="Ảnh mờ"
    )
    assert dossier.status == Status.SUPPLEMENT_REQUESTED
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_supplement(actor=actor(citizen), dossier=dossier)
    assert raised.value.fields["documents"] == [document.name]
    services.attachment_add(
        actor=actor(citizen),
        dossier=dossier,
        upload=pdf_upload(),
        document=document,
        purpose=Attachment.Purpose.SUPPLEMENT,
    )
    back = services.dossier_supplement(
        actor=actor(citizen), dossier=Dossier.objects.get(pk=dossier.pk)
    )
    assert back.status == Status.SUBMITTED
    assert back.requested_documents == []
    assert back.due_at is None  # the clock has not started: nothing received yet


def test_propose_needs_a_result_document_and_reasons_for_denial(make_dossier, specialist):
    dossier = make_dossier(Status.PROCESSING)
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_propose(actor=actor(specialist), dossier=dossier, outcome="granted")
    assert "result" in raised.value.fields
    services.attachment_add(
        actor=actor(specialist),
        dossier=dossier,
        upload=pdf_upload(),
        purpose=Attachment.Purpose.RESULT,
    )
    dossier = Dossier.objects.get(pk=dossier.pk)
    with pytest.raises(ValidationFailed) as raised:
        services.dossier_propose(actor=actor(specialist), dossier=dossier, outcome="denied")
    assert "note" in raised.value.fields
    proposed = services.dossier_propose(
        actor=actor(specialist), dossier=dossier, outcome="denied", note="Không đủ điều kiện."
    )
    assert proposed.outcome == Dossier.Outcome.DENIED


def test_reschedule_once_only(make_dossier, specialist):
    dossier = make_dossier(Status.PROCESSING)
    calendar = WorkCalendar.current()
    new_due = calendar.closing(
        calendar.next_working_day(dossier.due_at.astimezone(calendar.tz).date())
    )
    once = services.dossier_reschedule(
        actor=actor(specialist), dossier=dossier, new_due_at=new_due, reason="Cần xác minh."
    )
    assert once.due_at == new_due
    assert once.original_due_at == dossier.original_due_at  # on-time is judged on the original
    assert once.status == Status.PROCESSING
    later = calendar.closing(calendar.next_working_day(new_due.date()))
    with pytest.raises(InvalidTransition):
        services.dossier_reschedule(
            actor=actor(specialist), dossier=once, new_due_at=later, reason="Lần nữa."
        )


def test_reschedule_must_move_forward_into_office_hours(make_dossier, specialist):
    dossier = make_dossier(Status.PROCESSING)
    with pytest.raises(ValidationFailed):
        services.dossier_reschedule(
            actor=actor(specialist),
            dossier=dossier,
            new_due_at=dossier.due_at - dt.timedelta(days=1),
            reason="Sớm hơn?",
        )
    calendar = WorkCalendar.current()
    night = dt.datetime.combine(
        calendar.next_working_day(dossier.due_at.astimezone(calendar.tz).date()),
        dt.time(22, 0),
        tzinfo=calendar.tz,
    )
    with pytest.raises(ValidationFailed):
        services.dossier_reschedule(
            actor=actor(specialist), dossier=dossier, new_due_at=night, reason="Ban đêm"
        )
    assert unchanged(dossier)


def test_reschedule_refused_less_than_a_working_day_before_due(make_dossier, specialist):
    from dossiers import clock

    dossier = make_dossier(Status.PROCESSING)
    calendar = WorkCalendar.current()
    almost_due = dossier.due_at - dt.timedelta(hours=2)
    new_due = calendar.closing(
        calendar.next_working_day(dossier.due_at.astimezone(calendar.tz).date())
    )
    with clock.frozen(almost_due), pytest.raises(InvalidTransition):
        services.dossier_reschedule(
            actor=actor(specialist), dossier=dossier, new_due_at=new_due, reason="Muộn"
        )


def test_rating_once(make_dossier, citizen):
    dossier = make_dossier(Status.RETURNED)
    rated = services.dossier_rate(actor=actor(citizen), dossier=dossier, rating="very_satisfied")
    assert rated.rating == "very_satisfied"
    with pytest.raises(InvalidTransition):
        services.dossier_rate(actor=actor(citizen), dossier=rated, rating="unsatisfied")
    with pytest.raises(ValidationFailed):
        services.dossier_rate(actor=actor(citizen), dossier=rated, rating="meh")


def test_stale_version_is_changed_meanwhile(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    stale = Dossier.objects.get(pk=dossier.pk)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    with pytest.raises(ChangedMeanwhile) as raised:
        services.dossier_refuse(actor=actor(reception), dossier=stale, reason="Sai thẩm quyền")
    assert "tải lại" in str(raised.value.message)
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RECEIVED


def test_expected_version_from_a_form(make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    with pytest.raises(ChangedMeanwhile):
        services.dossier_receive(
            actor=actor(reception), dossier=dossier, expected_version=dossier.version - 1
        )
    assert (
        services.dossier_receive(
            actor=actor(reception), dossier=dossier, expected_version=dossier.version
        ).status
        == Status.RECEIVED
    )


def test_reception_withdraws_only_walk_in_dossiers(make_dossier, reception, procedure, commune):
    account_dossier = make_dossier(Status.RECEIVED)
    with pytest.raises(Forbidden):
        services.dossier_withdraw(actor=actor(reception), dossier=account_dossier, reason="Rút")
    walk_in = services.dossier_intake(
        actor=actor(reception),
        procedure=procedure,
        agency=commune,
        applicant={"full_name": "Lê Thị Cúc", "id_number": "031180009999"},
        form_data={"full_name": "Lê Thị Cúc", "purpose": "Kết hôn"},
        papers_seen=[d.pk for d in procedure.documents.all()],
    )
    withdrawn = services.dossier_withdraw(actor=actor(reception), dossier=walk_in, reason="Xin rút")
    assert withdrawn.status == Status.WITHDRAWN


def test_event_records_actor_role_agency_and_ip(make_dossier, commune):
    dossier = make_dossier(Status.RECEIVED)
    event = dossier.events.get(event_type="dossier.received")
    assert event.actor.username == "reception"
    assert event.role == "reception"
    assert event.agency == commune
    assert event.ip == "127.0.0.1"
    assert event.data["due_at"] == dossier.due_at.isoformat()


def test_permissions_come_from_the_role_groups(make_dossier, reception):
    """Removing a permission from the reception group takes the action away from reception."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    dossier = make_dossier(Status.SUBMITTED)
    Group.objects.get(name="reception").permissions.remove(
        Permission.objects.get(codename="receive_dossier")
    )
    fresh_user = get_user_model().objects.get(pk=reception.pk)  # no per-request cache
    with pytest.raises(Forbidden):
        services.dossier_receive(actor=actor(fresh_user), dossier=dossier)
    assert unchanged(dossier)
