"""The one authorization rule: permissions.authorize decides every write, and the pages and the
API list what a user may do with the same function."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from rest_framework.test import APIClient

from dossiers import services
from dossiers.errors import DomainError, Forbidden, NotFound
from dossiers.models import Dossier
from dossiers.office.forms import ACTION_FORMS
from dossiers.permissions import FileAction, authorize, available_actions
from dossiers.services import ACTION_SERVICES
from dossiers.workflow import EDGES, Action, Role, Status

from .conftest import actor
from .helpers import fire

# Input that every service refuses (400) once the caller is allowed to act.
INVALID_INPUT = {
    Action.REFUSE: dict(reason=""),
    Action.REQUEST_SUPPLEMENT: dict(documents=[], reason=""),
    Action.ASSIGN: dict(assignee=None),
    Action.PROPOSE: dict(outcome="bogus"),
    Action.SEND_BACK: dict(reason=""),
    Action.REQUEST_PAYMENT: dict(amount_vnd=-5),
    Action.RECORD_PAYMENT: dict(receipt_number=""),
    Action.RETURN_RESULT: dict(delivery="bogus"),
    Action.WITHDRAW: dict(reason=""),
    Action.STOP: dict(reason=""),
    Action.RESCHEDULE: dict(new_due_at=None, reason=""),
    Action.RATE: dict(rating="bogus"),
    Action.NOTE: dict(text=""),
}
NEVER = {  # a role holder who may never fire the action on a dossier of the first commune
    action: sorted(
        {Role.CITIZEN, Role.RECEPTION, Role.SPECIALIST, Role.LEADER}
        - {r for e in EDGES if e.action == action for r in e.roles}
    )
    for action in ACTION_SERVICES
}


def _unchanged(dossier):
    fresh = Dossier.objects.get(pk=dossier.pk)
    return (fresh.status, fresh.version, fresh.event_seq) == (
        dossier.status,
        dossier.version,
        dossier.event_seq,
    )


def _first_source(action):
    return next(e.source for e in EDGES if e.action == action)


@pytest.mark.parametrize("action", sorted(ACTION_SERVICES))
def test_a_role_that_may_never_act_gets_403_before_input_or_version(
    action, make_dossier, fee_later_procedure, request, supervisor
):
    dossier = make_dossier(_first_source(action), procedure=fee_later_procedure)
    outsiders = [supervisor] + [request.getfixturevalue(r) for r in NEVER[action]]
    # A draft is its applicant's alone: to anyone else it does not exist.
    expected = NotFound if dossier.status == Status.DRAFT else Forbidden
    for user in outsiders:
        with pytest.raises(expected):
            ACTION_SERVICES[action](
                actor=actor(user),
                dossier=dossier,
                expected_version=dossier.version - 1,  # stale, and the input is wrong too
                **INVALID_INPUT.get(action, {}),
            )
    assert _unchanged(dossier)


def test_a_supervisor_upload_is_403_before_the_file_is_read(make_dossier, supervisor):
    dossier = make_dossier(Status.SUPPLEMENT_REQUESTED)
    files_before = dossier.attachments.count()
    fake = SimpleUploadedFile("x.pdf", b"not a pdf")
    for purpose in ("application", "supplement", "result", "bogus"):
        with pytest.raises(Forbidden):
            services.attachment_add(
                actor=actor(supervisor), dossier=dossier, upload=fake, purpose=purpose
            )
    client = APIClient()
    client.force_authenticate(supervisor)
    for purpose in ("supplement", "bogus"):
        response = client.post(
            f"/api/v1/dossiers/{dossier.code}/attachments/",
            {"file": SimpleUploadedFile("x.pdf", b"not a pdf"), "purpose": purpose},
            format="multipart",
        )
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "forbidden"
    assert dossier.attachments.count() == files_before


@pytest.mark.parametrize("action", [Action.REFUSE, Action.RESCHEDULE, Action.NOTE])
def test_api_answers_403_before_reading_the_body(action, make_dossier, supervisor, leader):
    dossier = make_dossier(_first_source(action))
    for user in (supervisor, leader if action == Action.REFUSE else supervisor):
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            f"/api/v1/dossiers/{dossier.code}/actions/{action}/",
            {"version": "not a number", "reason": 12, "new_due_at": "yesterday"},
            format="json",
        )
        assert response.status_code == 403, response.content
    assert _unchanged(dossier)


def test_office_form_of_a_foreign_action_is_403_not_a_form_error(client, make_dossier, reception):
    dossier = make_dossier(Status.PENDING_APPROVAL)
    client.force_login(reception)
    response = client.post(f"/office/dossiers/{dossier.pk}/act/approve/", {"version": "x"})
    assert response.status_code == 403
    assert "Lãnh đạo" in response.content.decode()
    assert _unchanged(dossier)


def test_authorize_names_role_and_agency(make_dossier, reception, leader, commune):
    dossier = make_dossier(Status.SUBMITTED)
    authority = authorize(reception, dossier, Action.RECEIVE)
    assert (authority.role, authority.agency) == (Role.RECEPTION, commune)
    with pytest.raises(Forbidden) as raised:
        authorize(leader, dossier, Action.RECEIVE)
    assert "Cán bộ một cửa" in str(raised.value.message)
    draft = make_dossier(Status.DRAFT)
    assert authorize(draft.applicant_user, draft, FileAction.EDIT_DRAFT).role == Role.CITIZEN


# Every status, and the states whose guards go beyond the status: rescheduled once, rated.
STATES = [*Status.values, "processing+rescheduled", "returned+rated"]


# Every state with a procedure whose fees are due later, and every state the plain procedure
# can reach (it never waits for payment).
CASES = [(s, "fee_later_procedure") for s in STATES] + [
    (s, "procedure") for s in STATES if s != Status.AWAITING_PAYMENT
]


@pytest.mark.parametrize(("state", "which_procedure"), CASES)
def test_what_is_listed_is_exactly_what_the_services_accept(
    state,
    which_procedure,
    make_dossier,
    request,
    citizen,
    reception,
    specialist,
    specialist2,
    leader,
):
    """For every user and action: listed by available_actions if and only if firing it (with
    valid input) succeeds. The page cannot offer what the service refuses, nor hide what it
    accepts."""
    people = {
        "citizen": citizen,
        "reception": reception,
        "specialist": specialist,
        "specialist2": specialist2,
        "leader": leader,
    }
    status, _plus, extra = state.partition("+")
    dossier = make_dossier(status, procedure=request.getfixturevalue(which_procedure))
    if extra:
        action, by = {"rescheduled": (Action.RESCHEDULE, leader), "rated": (Action.RATE, citizen)}[
            extra
        ]
        fire(action, dossier, by, people)
    for name, user in people.items():
        listed = set(available_actions(user, Dossier.objects.get(pk=dossier.pk)))
        for action in ACTION_SERVICES:
            try:
                with transaction.atomic():
                    fire(action, Dossier.objects.get(pk=dossier.pk), user, people)
                    raise _Undo()
            except _Undo:
                accepted = True
            except DomainError:
                accepted = False
            assert (action in listed) == accepted, (status, name, action)


class _Undo(Exception):
    """Rolls a fired action back so the next one starts from the same dossier."""


def test_pages_and_api_list_the_same_actions(client, make_dossier, specialist, specialist2):
    dossier = make_dossier(Status.PROCESSING)  # assigned to `specialist`
    for user, may_propose in ((specialist, True), (specialist2, False)):
        expected = available_actions(user, dossier)
        assert (Action.PROPOSE in expected) is may_propose
        client.force_login(user)
        page = client.get(f"/office/dossiers/{dossier.pk}/")
        shown = [action.value for action, _form in page.context["forms"]]
        assert shown == [a for a in expected if a in ACTION_FORMS]
        api = APIClient()
        api.force_authenticate(user)
        detail = api.get(f"/api/v1/dossiers/{dossier.code}/").json()
        assert detail["available_actions"] == expected


def test_citizen_and_supervisor_lists(make_dossier, citizen, supervisor):
    dossier = make_dossier(Status.SUBMITTED)
    assert available_actions(citizen, dossier) == [Action.WITHDRAW]
    assert available_actions(supervisor, dossier) == []
    returned = make_dossier(Status.RETURNED)
    assert available_actions(citizen, returned) == [Action.RATE]
    services.dossier_rate(actor=actor(citizen), dossier=returned, rating=Dossier.Rating.SATISFIED)
    assert available_actions(citizen, Dossier.objects.get(pk=returned.pk)) == []


def test_every_action_service_is_marked_with_its_own_action():
    for action, service in ACTION_SERVICES.items():
        assert service.action == action


# The answers users and API clients already knew stay what they were.
def test_error_classes_and_messages_are_kept(
    make_dossier, procedure, commune, reception, specialist, specialist2, leader
):
    from dossiers.errors import InvalidTransition, ValidationFailed
    from dossiers.models import Attachment

    from .conftest import actor as act
    from .helpers import pdf_upload

    processing = make_dossier(Status.PROCESSING)  # the procedure has no fee due later
    with pytest.raises(ValidationFailed, match="không có nghĩa vụ tài chính nộp sau"):
        services.dossier_request_payment(actor=act(specialist), dossier=processing, amount_vnd=1000)
    received = make_dossier(Status.RECEIVED)
    result = dict(upload=pdf_upload(), purpose=Attachment.Purpose.RESULT)
    with pytest.raises(Forbidden, match="Chỉ chuyên viên xử lý được tải lên kết quả"):
        services.attachment_add(actor=act(specialist), dossier=received, **result)
    with pytest.raises(Forbidden, match="được phân công"):  # the result is the assignee's
        services.attachment_add(actor=act(specialist2), dossier=processing, **result)
    returned = make_dossier(Status.RETURNED)
    with pytest.raises(InvalidTransition, match="đã kết thúc"):
        services.attachment_add(actor=act(specialist), dossier=returned, **result)
    with pytest.raises(Forbidden) as raised:
        services.dossier_assign(actor=act(specialist), dossier=received, assignee=specialist)
    assert "Lãnh đạo, Cán bộ một cửa" in str(raised.value.message)
    walk_in = services.dossier_intake(
        actor=act(reception),
        procedure=procedure,
        agency=commune,
        applicant={"full_name": "Lê Thị Cúc", "id_number": "031180009999"},
        form_data={"full_name": "Lê Thị Cúc", "purpose": "Kết hôn"},
        papers_seen=[d.pk for d in procedure.documents.all()],
    )
    services.dossier_assign(actor=act(leader), dossier=walk_in, assignee=specialist)
    scan = dict(upload=pdf_upload(), document=procedure.documents.first())
    with pytest.raises(InvalidTransition, match="vừa được tiếp nhận"):
        services.attachment_add(actor=act(reception), dossier=walk_in, **scan)


def test_api_draft_edit_and_creation_refuse_staff_before_reading_the_body(
    make_dossier, reception, supervisor
):
    draft = make_dossier(Status.DRAFT)
    for user in (reception, supervisor):
        client = APIClient()
        client.force_authenticate(user)
        created = client.post("/api/v1/dossiers/", {"procedure": 12}, format="json")
        assert created.status_code == 403, created.content
    owner = APIClient()
    owner.force_authenticate(draft.applicant_user)
    submitted = make_dossier(Status.SUBMITTED)
    edit = owner.patch(
        f"/api/v1/dossiers/{submitted.code}/", {"form_data": "not a dict"}, format="json"
    )
    assert edit.status_code == 400  # the owner may edit (drafts): the body is read
    stranger = APIClient()
    stranger.force_authenticate(supervisor)
    refused = stranger.patch(
        f"/api/v1/dossiers/{submitted.code}/", {"form_data": "not a dict"}, format="json"
    )
    assert refused.status_code == 403, refused.content


def test_the_office_page_offers_no_citizen_action_on_an_officials_own_dossier(
    client, make_dossier, reception
):
    dossier = make_dossier(Status.SUBMITTED)
    Dossier.objects.filter(pk=dossier.pk).update(applicant_user=reception)
    mine = Dossier.objects.get(pk=dossier.pk)
    assert Action.WITHDRAW in available_actions(reception, mine)  # as its applicant
    client.force_login(reception)
    page = client.get(f"/office/dossiers/{mine.pk}/")
    assert Action.WITHDRAW not in [a.value for a, _form in page.context["forms"]]
