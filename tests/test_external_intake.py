"""Dossiers sent by other systems, POST /api/v1/dossiers/intake/: created once per sender's
reference, only by an integration account of the receiving agency, checked as a whole (no
partial write), and then handled by the office like an online filing."""

import datetime as dt
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from dossiers import audit, clock, indicators, services, tokens
from dossiers.demo.scenarios import pdf_upload
from dossiers.errors import Forbidden, ValidationFailed
from dossiers.integrations import feed
from dossiers.models import (
    Attachment,
    Channel,
    Dossier,
    DossierCodeSequence,
    DossierEvent,
    FeedEntry,
    Membership,
    OutgoingEmail,
)
from dossiers.office import queues
from dossiers.workflow import Action, EventType, Role, Status
from dossiers.worktime import WorkCalendar

from .conftest import _user, actor
from .helpers import client_of, fire
from .worker import run_jobs

URL = "/api/v1/dossiers/intake/"
SUBMITTED_AT = "2026-11-20T08:30:00+07:00"


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


def _integration(username, agency):
    user = _user(username)
    Membership.objects.create(user=user, agency=agency, role=Role.INTEGRATION)
    return user


@pytest.fixture
def portal(commune):
    """The national portal's account for the commune."""
    return _integration("dvcqg", commune)


@pytest.fixture
def platform(commune):
    """Another sender for the same commune: the provincial platform."""
    return _integration("platform", commune)


@pytest.fixture
def other_portal(other_commune):
    return _integration("dvcqg-other", other_commune)


def required_papers(procedure) -> list[int]:
    return [d.pk for d in procedure.documents.all() if d.must_be_uploaded(Channel.ONLINE)]


@pytest.fixture
def body(procedure, commune):
    return {
        "procedure": procedure.code,
        "agency": commune.code,
        "channel": Channel.NATIONAL_PORTAL,
        "reference": "G22.99-261120-000123",
        "applicant": {
            "full_name": "Lê Thị Cúc",
            "id_number": "031088001111",
            "date_of_birth": "1988-03-02",
            "phone": "0987654321",
            "email": "cuc@example.vn",
            "address": "Thôn Tây, xã Vĩnh Bảo, Hải Phòng",
        },
        "form_data": {"full_name": "Lê Thị Cúc", "purpose": "Kết hôn"},
        "papers": required_papers(procedure),
        "submitted_at": SUBMITTED_AT,
    }


def send(user, body):
    return client_of(user).post(URL, body, format="json")


def nothing_written():
    return (
        Dossier.objects.count(),
        DossierEvent.objects.count(),
        FeedEntry.objects.count(),
        DossierCodeSequence.objects.count(),
        OutgoingEmail.objects.count(),
    ) == (0, 0, 0, 0, 0)


def error_of(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- created once --------------------------------------------------------------------------------


def test_a_sent_dossier_arrives_submitted_with_code_event_and_feed(portal, body, commune):
    response = send(portal, body)

    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["status"], shown["national_status_code"], shown["channel"]) == (
        Status.SUBMITTED,
        1,
        Channel.NATIONAL_PORTAL,
    )
    assert shown["code"].startswith(f"{commune.code}-") and shown["ref"] == shown["code"]
    assert response["Location"].endswith(f"/api/v1/dossiers/{shown['code']}/")
    assert shown["available_actions"] == []  # the sender never acts
    dossier = Dossier.objects.get()
    assert dossier.sent_by == portal and dossier.external_ref == body["reference"]
    assert dossier.applicant_user is None
    assert dossier.applicant["full_name"] == "Lê Thị Cúc"
    assert dossier.form_data == {"full_name": "Lê Thị Cúc", "purpose": "Kết hôn"}
    assert dossier.submitted_at == dt.datetime.fromisoformat(SUBMITTED_AT)
    assert dossier.received_at is None and dossier.due_at is None  # the clock starts at reception
    (event,) = dossier.events.all()
    assert (event.event_type, event.role, event.agency, event.actor) == (
        EventType.SUBMITTED,
        Role.INTEGRATION,
        commune,
        portal,
    )
    assert (event.from_status, event.to_status) == ("", Status.SUBMITTED)
    assert event.data["reference"] == body["reference"]
    assert event.data["papers"] == sorted(body["papers"])
    assert event.data["channel"] == Channel.NATIONAL_PORTAL
    assert audit.verify_dossier(dossier) is None
    # What goes out: the feed entry (the webhooks' and the change feed's) and the e-mail.
    entry = FeedEntry.objects.get(dossier=dossier)
    assert entry.event_type == EventType.SUBMITTED and entry.payload["dossier"]["channel"] == 4
    assert OutgoingEmail.objects.get(dossier=dossier).to == "cuc@example.vn"
    # No file travels: the papers stay with the sender.
    assert not dossier.attachments.exists()


def test_the_same_reference_again_answers_the_first_dossier(portal, body):
    first = send(portal, body)
    again = send(portal, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # Even with a changed body: the reference is the key (the first filing stands).
    changed = send(portal, {**body, "applicant": {"full_name": "Người khác"}, "papers": []})
    assert changed.status_code == 200 and changed.json()["code"] == first.json()["code"]
    assert Dossier.objects.count() == 1
    assert DossierEvent.objects.count() == FeedEntry.objects.count() == 1
    assert DossierCodeSequence.objects.get().last == 1


def test_a_reference_reused_for_another_procedure_is_refused(portal, body, paused_procedure):
    send(portal, body)
    reused = send(portal, {**body, "procedure": paused_procedure.code, "papers": []})
    assert list(error_of(reused, 400)["fields"]) == ["reference"]
    assert Dossier.objects.count() == 1


def test_another_sender_with_the_same_reference_makes_its_own_dossier(portal, platform, body):
    first = send(portal, body)
    other = send(platform, {**body, "channel": Channel.OTHER_SYSTEM})
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["code"] != other.json()["code"]
    assert set(Dossier.objects.values_list("sent_by__username", "channel")) == {
        ("dvcqg", Channel.NATIONAL_PORTAL),
        ("platform", Channel.OTHER_SYSTEM),
    }


# --- who may send --------------------------------------------------------------------------------


def test_an_integration_account_of_another_agency_gets_403(other_portal, body):
    error = error_of(send(other_portal, body), 403)
    assert error["code"] == "forbidden"
    assert nothing_written()


@pytest.mark.parametrize("who", ["reception", "leader", "supervisor", "citizen"])
def test_anyone_but_an_integration_account_gets_403_whatever_the_body(request, who, body):
    user = request.getfixturevalue(who)
    assert error_of(send(user, body), 403)["code"] == "forbidden"
    assert error_of(send(user, {"nonsense": True}), 403)["code"] == "forbidden"
    assert nothing_written()


def test_anonymous_gets_401(body):
    assert APIClient().post(URL, body, format="json").status_code == 401


def test_the_service_authorizes_through_permissions(reception, procedure, commune, body):
    with pytest.raises(Forbidden):
        services.dossier_receive_external(
            actor=actor(reception),
            procedure=procedure,
            agency=commune,
            channel=Channel.NATIONAL_PORTAL,
            reference="X-1",
            applicant=body["applicant"],
            form_data=body["form_data"],
            papers=body["papers"],
        )
    assert nothing_written()


def test_the_route_does_not_clash_with_the_dossier_detail(portal, reception, body):
    code = send(portal, body).json()["code"]
    assert client_of(reception).get(f"/api/v1/dossiers/{code}/").status_code == 200
    assert client_of(portal).get(f"/api/v1/dossiers/{code}/").status_code == 200
    assert client_of(portal).get(URL).status_code == 405


# --- checked as a whole, no partial write --------------------------------------------------------


def test_invalid_applicant_and_form_are_400_with_every_field_and_nothing_written(portal, body):
    bad = {
        **body,
        "applicant": {**body["applicant"], "full_name": " ", "id_number": "12", "email": "x@"},
        "form_data": {"full_name": "Lê Thị Cúc", "purpose": "Đi chơi", "extra": "?"},
    }
    error = error_of(send(portal, bad), 400)
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {
        "applicant.full_name",
        "applicant.id_number",
        "applicant.email",
        "form_data.purpose",
        "form_data.extra",
    }
    assert nothing_written()


@pytest.mark.parametrize(
    "change, fields",
    [
        ({"papers": []}, {"documents"}),
        ({"papers": [999999]}, {"papers", "documents"}),
        ({"channel": Channel.ONLINE}, {"channel"}),
        ({"channel": "portal"}, {"channel"}),
        ({"reference": ""}, {"reference"}),
        ({"reference": "x" * 101}, {"reference"}),
        ({"procedure": "0.000000"}, {"procedure"}),
        ({"agency": "999.99.99.H99"}, {"agency"}),
        ({"applicant": "Lê Thị Cúc"}, {"applicant.non_field_errors"}),
        ({"applicant": {"full_name": ["a"]}}, {"applicant.full_name"}),
        ({"papers": ["one"]}, {"papers.0"}),
        ({"form_data": []}, {"form_data"}),
        ({"submitted_at": "2099-01-01T00:00:00+07:00"}, {"submitted_at"}),
        ({"submitted_at": "hôm qua"}, {"submitted_at"}),
    ],
)
def test_each_invalid_part_is_named(portal, body, change, fields):
    error = error_of(send(portal, {**body, **change}), 400)
    assert set(error["fields"]) == fields, error
    assert nothing_written()


def test_a_missing_required_paper_is_named(portal, body, procedure):
    error = error_of(send(portal, {**body, "papers": []}), 400)
    assert error["fields"]["documents"] == [
        d.name for d in procedure.documents.all() if d.must_be_uploaded(Channel.ONLINE)
    ]


def test_an_inactive_procedure_or_one_not_taken_online(portal, body, procedure):
    procedure.channels = [Channel.COUNTER]
    procedure.save()
    assert set(error_of(send(portal, body), 400)["fields"]) == {"procedure"}
    procedure.channels, procedure.active = [], False
    procedure.save()
    assert set(error_of(send(portal, body), 400)["fields"]) == {"procedure"}
    assert nothing_written()


def test_without_a_filing_time_it_is_now(portal, body):
    body.pop("submitted_at")
    assert send(portal, body).status_code == 201
    dossier = Dossier.objects.get()
    assert dossier.submitted_at == dossier.created_at


def test_the_service_refuses_a_channel_of_its_own(portal, procedure, commune, body):
    with pytest.raises(ValidationFailed) as refused:
        services.dossier_receive_external(
            actor=actor(portal),
            procedure=procedure,
            agency=commune,
            channel=Channel.COUNTER,
            reference="X-2",
            applicant=body["applicant"],
            form_data=body["form_data"],
            papers=body["papers"],
        )
    assert set(refused.value.fields) == {"channel"}
    assert nothing_written()


# --- then the office handles it like an online filing --------------------------------------------


def test_reception_receives_it_and_it_runs_to_the_result(portal, body, people, reception):
    code = send(portal, body).json()["code"]
    dossier = Dossier.objects.get(code=code)
    now, calendar = clock.now(), WorkCalendar.current()
    waiting = queues.office_dossiers(reception).filter(
        queues.tab_condition("receive", reception, now, calendar)
    )
    assert dossier in waiting
    run_jobs()  # the acknowledgement slip renders for a dossier without an applicant account
    assert dossier.slips.filter(kind="acknowledgement").exists()

    dossier = services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert dossier.status == Status.RECEIVED and dossier.due_at is not None
    for action in (Action.ASSIGN, Action.PROPOSE, Action.APPROVE, Action.RETURN_RESULT):
        dossier = fire(action, Dossier.objects.get(pk=dossier.pk), _who(action, people), people)
    assert dossier.status == Status.RETURNED
    assert audit.verify_dossier(dossier) is None
    # The sender follows it on the change feed, with the applicant it sent.
    events = client_of(portal).get("/api/v1/events/").json()["events"]
    assert [e["type"] for e in events] == [
        EventType.SUBMITTED,
        EventType.RECEIVED,
        EventType.ASSIGNED,
        EventType.PROPOSED,
        EventType.APPROVED,
        EventType.RETURNED,
    ]
    assert events[0]["data"]["applicant"]["full_name"] == "Lê Thị Cúc"
    assert events[0]["data"]["dossier"]["channel"] == Channel.NATIONAL_PORTAL
    assert {e["type"] for e in events} <= feed.FED_EVENTS


def _who(action, people):
    return {
        Action.ASSIGN: people[Role.RECEPTION],
        Action.PROPOSE: people["specialist2"],
        Action.APPROVE: people[Role.LEADER],
        Action.RETURN_RESULT: people[Role.RECEPTION],
    }[action]


def test_reception_asks_for_papers_and_records_them_as_for_a_walk_in(portal, body, reception):
    dossier = Dossier.objects.get(code=send(portal, body).json()["code"])
    first = dossier.procedure.documents.order_by("order", "id").first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[first.pk], reason="Cần bản scan."
    )
    assert dossier.status == Status.SUPPLEMENT_REQUESTED
    services.attachment_add(
        actor=actor(reception),
        dossier=dossier,
        upload=pdf_upload("bo-sung.pdf"),
        document=first,
        purpose=Attachment.Purpose.SUPPLEMENT,
    )
    dossier = services.dossier_supplement(
        actor=actor(reception), dossier=Dossier.objects.get(pk=dossier.pk)
    )
    assert dossier.status == Status.SUBMITTED
    dossier = services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert dossier.status == Status.RECEIVED


def test_reception_may_refuse_it_or_record_its_withdrawal(portal, platform, body, reception):
    refused = Dossier.objects.get(code=send(portal, body).json()["code"])
    refused = services.dossier_refuse(actor=actor(reception), dossier=refused, reason="Sai nơi.")
    assert refused.status == Status.REFUSED
    withdrawn = Dossier.objects.get(code=send(platform, body).json()["code"])
    withdrawn = services.dossier_withdraw(
        actor=actor(reception), dossier=withdrawn, reason="Người nộp đề nghị rút."
    )
    assert withdrawn.status == Status.WITHDRAWN


def test_received_dossiers_from_other_systems_count_as_online(
    portal, platform, body, reception, supervisor, make_dossier
):
    make_dossier(Status.RECEIVED)  # online on onestop's own portal
    for sender, channel in ((portal, Channel.NATIONAL_PORTAL), (platform, Channel.OTHER_SYSTEM)):
        dossier = Dossier.objects.get(
            code=send(sender, {**body, "channel": channel}).json()["code"]
        )
        services.dossier_receive(actor=actor(reception), dossier=dossier)
    services.dossier_intake(
        actor=actor(reception),
        procedure=Dossier.objects.first().procedure,
        agency=reception.memberships.get().agency,
        applicant={"full_name": "Phạm Văn Dũng"},
        form_data=body["form_data"],
        papers_seen=body["papers"],
    )
    figures = indicators.headline(supervisor, indicators.Scope.of(), clock.now())
    assert (figures["received"], figures["received_online"], figures["received_counter"]) == (
        4,
        3,
        1,
    )
    assert figures["online_share"] == 75.0


# --- PostgreSQL: ten identical requests at once --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_identical_requests_create_one_dossier(portal, body):
    token = tokens.issue(portal, "portal")[1]
    barrier = threading.Barrier(10)
    outcomes = [None] * 10

    def run(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait(timeout=10)
            response = client.post(URL, body, format="json")
            outcomes[index] = (response.status_code, response.json().get("code"))
        except Exception as exc:  # pragma: no cover - shown by the assertion
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(o[0] for o in outcomes if isinstance(o, tuple))
    assert statuses == [200] * 9 + [201], outcomes
    assert len({o[1] for o in outcomes}) == 1  # every answer names the one dossier
    dossier = Dossier.objects.get(sent_by=portal, external_ref=body["reference"])
    assert dossier.events.count() == 1
    assert FeedEntry.objects.filter(dossier=dossier).count() == 1
    assert DossierCodeSequence.objects.get().last == 1  # the losers' numbers rolled back
