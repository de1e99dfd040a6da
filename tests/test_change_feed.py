"""The change feed, GET /api/v1/events/: every fed event once, in commit order, across pages,
scoped to what the caller sees, with personal data only for those allowed."""

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from rest_framework.test import APIClient

from dossiers.demo import scenarios
from dossiers.integrations import feed
from dossiers.models import Dossier, FeedEntry, Membership
from dossiers.workflow import Action, EventType, Role, Status

from .conftest import _user
from .helpers import client_of, fire

URL = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


@pytest.fixture
def portal(commune):
    """The provincial platform's account for the commune."""
    user = _user("portal-commune")
    Membership.objects.create(user=user, agency=commune, role=Role.INTEGRATION)
    return user


@pytest.fixture
def other_portal(other_commune):
    user = _user("portal-other")
    Membership.objects.create(user=user, agency=other_commune, role=Role.INTEGRATION)
    return user


def page(client, after=None, limit=None) -> dict:
    params = {k: v for k, v in {"after": after, "limit": limit}.items() if v is not None}
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"events", "next", "has_more"}
    return body


def read_all(client, after=None, limit=2) -> tuple[list[dict], str, int]:
    """Every event after `after`, page by page; also the last cursor and the number of pages."""
    events, pages = [], 0
    while True:
        body = page(client, after, limit)
        pages += 1
        assert len(body["events"]) <= limit
        events += body["events"]
        after = body["next"]
        if not body["has_more"]:
            return events, after, pages


def fed_types(dossier) -> list[str]:
    """The dossier's events that other systems are told of, in the order they happened."""
    return [
        e.event_type
        for e in Dossier.objects.get(pk=dossier.pk).events.order_by("seq")
        if e.event_type in feed.FED_EVENTS
    ]


def of(events, dossier) -> list[dict]:
    return [e for e in events if e["data"]["dossier"]["code"] == dossier.code]


# --- every event, once, in order -----------------------------------------------------------------


def test_a_dossiers_whole_life_in_order_once_across_pages(make_dossier, portal, people, citizen):
    dossier = make_dossier(Status.RETURNED)
    dossier = fire(Action.NOTE, dossier, people[Role.RECEPTION], people)  # internal: not fed
    dossier = fire(Action.RATE, dossier, citizen, people)
    expected = fed_types(dossier)
    assert expected == [
        EventType.SUBMITTED,
        EventType.RECEIVED,
        EventType.ASSIGNED,
        EventType.PROPOSED,
        EventType.APPROVED,
        EventType.RETURNED,
        EventType.RATED,
    ]

    events, cursor, pages = read_all(client_of(portal), limit=2)

    assert [e["type"] for e in events] == expected
    assert pages == 4  # 2 + 2 + 2 + 1
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions))
    assert cursor == str(positions[-1])
    seqs = [e["data"]["step"]["seq"] for e in events]
    assert seqs == sorted(seqs)
    # The very bodies the webhooks send, plus the id and the position.
    for event in events:
        entry = FeedEntry.objects.get(position=event["position"])
        assert event["id"] == feed.webhook_id(entry) == f"evt_{entry.position}"
        assert event == {
            "id": feed.webhook_id(entry),
            "position": entry.position,
            **feed.message(entry, personal=True),
        }
    assert events[-1]["data"]["dossier"]["status"] == Status.RETURNED
    assert events[-1]["data"]["dossier"]["rating"] == "satisfied"
    # Read again from the last cursor: nothing new, and the cursor stays.
    assert page(client_of(portal), cursor, 2) == {"events": [], "next": cursor, "has_more": False}


def test_default_limit_and_a_full_last_page(make_dossier, portal):
    for _i in range(2):
        make_dossier(Status.RECEIVED)  # two events each
    body = page(client_of(portal))
    assert len(body["events"]) == 4 and body["has_more"] is False
    first = page(client_of(portal), limit=4)
    assert len(first["events"]) == 4 and first["has_more"] is False  # exactly full: no more
    head = page(client_of(portal), limit=3)
    assert head["has_more"] is True and head["next"] == str(head["events"][-1]["position"])


def test_an_event_committed_between_pages_comes_on_the_next_page(make_dossier, portal, people):
    first = make_dossier(Status.RECEIVED)  # submitted, received
    second = make_dossier(Status.SUBMITTED)  # submitted
    client = client_of(portal)

    one = page(client, limit=2)
    assert [e["type"] for e in one["events"]] == [EventType.SUBMITTED, EventType.RECEIVED]
    assert one["has_more"] is True
    # While the reader is between pages, two actions commit.
    fire(Action.ASSIGN, Dossier.objects.get(pk=first.pk), people[Role.RECEPTION], people)
    fire(Action.RECEIVE, Dossier.objects.get(pk=second.pk), people[Role.RECEPTION], people)

    rest, cursor, _pages = read_all(client, after=one["next"], limit=2)
    assert [(e["data"]["dossier"]["code"], e["type"]) for e in rest] == [
        (second.code, EventType.SUBMITTED),
        (first.code, EventType.ASSIGNED),
        (second.code, EventType.RECEIVED),
    ]
    seen = [e["position"] for e in one["events"] + rest]
    assert (
        seen
        == sorted(set(seen))
        == list(FeedEntry.objects.order_by("position").values_list("position", flat=True))
    )
    # And one more after the reader caught up: the next read from its cursor has exactly it.
    fire(Action.NOTE, Dossier.objects.get(pk=second.pk), people[Role.RECEPTION], people)
    fire(Action.ASSIGN, Dossier.objects.get(pk=second.pk), people[Role.RECEPTION], people)
    after = page(client, cursor, 2)
    assert [e["type"] for e in after["events"]] == [EventType.ASSIGNED]
    assert after["events"][0]["position"] == int(cursor) + 1


def test_a_rolled_back_action_adds_nothing(make_dossier, portal, people):
    dossier = make_dossier(Status.SUBMITTED)
    client = client_of(portal)
    _events, cursor, _pages = read_all(client)

    with pytest.raises(RuntimeError), transaction.atomic():
        fire(Action.RECEIVE, dossier, people[Role.RECEPTION], people)
        assert FeedEntry.objects.filter(dossier=dossier).count() == 2
        raise RuntimeError("the action's transaction fails after the entry was written")

    assert page(client, cursor) == {"events": [], "next": cursor, "has_more": False}
    assert FeedEntry.objects.filter(dossier=dossier).count() == 1
    # The action done again for real takes the next position: no gap for the reader to wait on.
    fire(Action.RECEIVE, Dossier.objects.get(pk=dossier.pk), people[Role.RECEPTION], people)
    again = page(client, cursor)
    assert [(e["type"], e["position"]) for e in again["events"]] == [
        (EventType.RECEIVED, int(cursor) + 1)
    ]


# --- scopes and personal data --------------------------------------------------------------------


@pytest.fixture
def two_communes(make_dossier, cast, citizen2, procedure, other_commune):
    """A received dossier of the commune (the citizen's) and a submitted one of the other
    commune (citizen2's)."""
    here = make_dossier(Status.RECEIVED)
    other_cast = scenarios.Cast(
        citizen=citizen2, reception=cast.reception, specialist=cast.specialist, leader=cast.leader
    )
    there = scenarios.make_dossier(
        Status.SUBMITTED, cast=other_cast, procedure=procedure, agency=other_commune
    )
    return here, there


def _codes(events) -> set[str]:
    return {e["data"]["dossier"]["code"] for e in events}


def _personal(events) -> set[bool]:
    return {"applicant" in e["data"] for e in events}


def test_an_integration_account_reads_its_own_communes_events_only(
    two_communes, portal, other_portal
):
    here, there = two_communes
    mine, _cursor, _pages = read_all(client_of(portal))
    assert _codes(mine) == {here.code} and len(mine) == 2
    theirs, _cursor, _pages = read_all(client_of(other_portal))
    assert _codes(theirs) == {there.code} and len(theirs) == 1
    # Each with the applicant's identification: they carry the dossiers of their agencies.
    assert _personal(mine) == _personal(theirs) == {True}
    assert mine[0]["data"]["applicant"] == {
        "full_name": "Nguyễn Văn An",
        "id_number": "031090001234",
        "date_of_birth": "1990-05-17",
    }
    assert theirs[0]["data"]["applicant"]["full_name"] == "Trần Thị Bình"


def test_a_citizen_reads_their_own_dossiers_events_only(two_communes, citizen, citizen2):
    here, there = two_communes
    mine, _cursor, _pages = read_all(client_of(citizen))
    assert _codes(mine) == {here.code} and len(mine) == 2
    assert _personal(mine) == {True}  # their own identification
    theirs, _cursor, _pages = read_all(client_of(citizen2))
    assert _codes(theirs) == {there.code}


def test_officials_read_their_agencies_with_personal_data_supervisors_without(
    two_communes, reception, reception2, supervisor
):
    here, there = two_communes
    office, _cursor, _pages = read_all(client_of(reception))
    assert _codes(office) == {here.code} and _personal(office) == {True}
    elsewhere, _cursor, _pages = read_all(client_of(reception2))
    assert _codes(elsewhere) == {there.code} and _personal(elsewhere) == {True}
    province, _cursor, _pages = read_all(client_of(supervisor))
    assert _codes(province) == {here.code, there.code} and _personal(province) == {False}
    # Without the identification, the rest of the body is the same.
    entry = FeedEntry.objects.get(position=province[0]["position"])
    assert province[0]["data"] == feed.message(entry, personal=False)["data"]


def test_no_account_no_events(two_communes, db):
    assert read_all(client_of(_user("nobody")))[0] == []  # neither citizen profile nor role
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_an_administrator_gets_personal_data_of_what_they_see(two_communes, commune):
    here, _there = two_communes
    admin = _user("admin", is_superuser=True, is_staff=True)
    Membership.objects.create(user=admin, agency=commune, role=Role.SUPERVISOR)
    events, _cursor, _pages = read_all(client_of(admin))
    # The one visibility rule: what their roles show them (here the commune), with the data.
    assert here.code in _codes(events) and _personal(events) == {True}


# --- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"after": "٣"}, "after"),  # a digit, but not an ASCII one
        ({"after": "9" * 19}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-3"}, "limit"),
    ],
)
def test_malformed_cursor_or_limit_is_a_400(portal, params, field):
    response = client_of(portal).get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and list(error["fields"]) == [field]


def test_both_malformed_are_reported_together(portal):
    response = client_of(portal).get(URL, {"after": "x", "limit": "x"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"after", "limit"}


def test_the_largest_page_and_a_cursor_past_the_head(make_dossier, portal):
    make_dossier(Status.SUBMITTED)
    assert len(page(client_of(portal), limit=500)["events"]) == 1
    assert page(client_of(portal), after="999999") == {
        "events": [],
        "next": "999999",
        "has_more": False,
    }


def test_entries_for_refuses_out_of_range_arguments(portal):
    with pytest.raises(ValueError):
        feed.entries_for(portal, after=-1, limit=10)
    with pytest.raises(ValueError):
        feed.entries_for(portal, after=0, limit=feed.MAX_PAGE + 1)


# --- PostgreSQL: a reader paging while writers commit --------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reader_paging_during_concurrent_commits_misses_nothing(make_dossier, portal, people):
    """Writers receive dossiers in parallel threads while a reader pages with limit=2 from its
    cursor; then the reader drains. It has every entry, each once, in position order."""
    dossiers = [make_dossier(Status.SUBMITTED) for _i in range(12)]
    reception = people[Role.RECEPTION]
    errors = []

    def write(batch):
        try:
            for dossier in batch:
                fire(Action.RECEIVE, Dossier.objects.get(pk=dossier.pk), reception, people)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(dossiers[i::3],)) for i in range(3)]
    client = client_of(portal)
    seen, cursor = [], None
    for writer in writers:
        writer.start()
    while any(w.is_alive() for w in writers):
        body = page(client, cursor, 2)
        seen += [e["position"] for e in body["events"]]
        cursor = body["next"]
        time.sleep(0.01)
    for writer in writers:
        writer.join(timeout=60)
    rest, _cursor, _pages = read_all(client, cursor, 2)
    seen += [e["position"] for e in rest]

    assert errors == []
    everything = list(FeedEntry.objects.order_by("position").values_list("position", flat=True))
    assert len(everything) == 24
    assert seen == everything == list(range(everything[0], everything[0] + 24))


def test_a_citizen_reads_only_what_their_timeline_shows(make_dossier, people, citizen):
    """Proposals and send-backs are internal; who handled a step, internal reasons and the
    result's files before approval are not the applicant's to read (as in their timeline)."""
    dossier = make_dossier(Status.PROCESSING)
    fire(Action.PROPOSE, dossier, people["specialist"], people)
    fire(
        Action.SEND_BACK,
        Dossier.objects.get(pk=dossier.pk),
        people["leader"],
        people,
        reason="Nội bộ: kiểm tra lại lý lịch",
    )
    fire(
        Action.REQUEST_SUPPLEMENT,
        Dossier.objects.get(pk=dossier.pk),
        people["specialist"],
        people,
        reason="Ảnh CCCD bị mờ",
    )
    mine, _next, _pages = read_all(client_of(citizen), limit=50)
    mine = of(mine, dossier)
    types = [e["type"] for e in mine]
    assert EventType.PROPOSED not in types and EventType.SENT_BACK not in types
    assert types[-1] == EventType.SUPPLEMENT_REQUESTED
    assert all(e["data"]["step"]["actor_name"] == "" for e in mine)
    assert "Nội bộ" not in str(mine)
    assert mine[-1]["data"]["step"]["note"] == "Ảnh CCCD bị mờ"  # a reason they must act on
    assert "document_names" in mine[-1]["data"]["step"]["details"]
    staff, _next, _pages = read_all(client_of(people["leader"]), limit=50)
    staff = of(staff, dossier)
    assert EventType.SENT_BACK in [e["type"] for e in staff]  # staff read every step
    assert any(e["data"]["step"]["actor_name"] for e in staff)
