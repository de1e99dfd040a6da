"""The office queue, its searches, the API list and the supervisors' logs at provincial scale:
capped tab counts, the due order read branch by branch, searches served by indexes, and a
number of queries that depends neither on the rows nor on the page."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from dossiers import queries
from dossiers.models import Dossier, DossierEvent, Membership
from dossiers.office import queues
from dossiers.permissions import visibility_branches, visibility_filter
from dossiers.workflow import Role, Status
from dossiers.worktime import WorkCalendar

from .conftest import is_postgres


def rows_of(response):
    return [r["dossier"] for r in response.context["rows"]]


def counts_of(response):
    return {t.key: count for t, count in response.context["tabs"]}


# --- capped counts -------------------------------------------------------------------------


def test_tab_counts_are_exact_up_to_the_bound_then_shown_as_bound_plus(
    client, make_dossier, reception, settings
):
    settings.ONESTOP_QUEUE_COUNT_LIMIT = 3
    client.force_login(reception)
    for expected in (1, 2, 3):
        make_dossier(Status.SUBMITTED)
        assert counts_of(client.get("/office/"))["receive"] == expected
    make_dossier(Status.SUBMITTED)
    response = client.get("/office/")
    assert counts_of(response)["receive"] == "3+"
    assert "Chờ tiếp nhận (3+)" in response.content.decode()
    # The tab still lists every dossier, page after page: only the count is capped.
    assert len(rows_of(response)) == 4
    assert counts_of(response)["approve"] == 0


def test_every_tab_count_matches_its_list(client, make_dossier, reception, specialist, settings):
    settings.ONESTOP_QUEUE_COUNT_LIMIT = 1000
    for status in (
        Status.SUBMITTED,
        Status.SUBMITTED,
        Status.RECEIVED,
        Status.PROCESSING,
        Status.PENDING_APPROVAL,
        Status.SUPPLEMENT_REQUESTED,
        Status.RESOLVED,
        Status.RETURNED,
    ):
        make_dossier(status)
    for user in (reception, specialist):
        client.force_login(user)
        counts = counts_of(client.get("/office/"))
        for tab in queues.tabs():
            if tab.key != "all":
                listed = rows_of(client.get("/office/", {"tab": tab.key}))
                assert counts[tab.key] == len(listed), (user, tab.key)
        assert counts["all"] is None


# --- the due order, branch by branch -------------------------------------------------------


def test_the_union_of_branches_pages_exactly_as_the_plain_or(
    make_dossier, reception, commune, other_commune, province
):
    # An official of two agencies: dossiers received by either, one decided by the other.
    Membership.objects.create(user=reception, agency=other_commune, role=Role.RECEPTION)
    made = [make_dossier(Status.RECEIVED) for _i in range(3)]
    made += [make_dossier(Status.SUBMITTED, agency=other_commune) for _i in range(2)]
    made += [make_dossier(Status.RETURNED) for _i in range(2)]
    Dossier.objects.filter(pk=made[0].pk).update(competent_agency=other_commune)
    reception = type(reception).objects.get(pk=reception.pk)  # memberships read afresh
    base = queries.ordered(Dossier.objects.exclude(status=Status.DRAFT))
    plain = base.filter(visibility_filter(reception))
    expected, cursor = [], ""
    while True:
        page, cursor = queries.keyset_page(plain, cursor, key="due_sort", size=2)
        expected += page
        if not cursor:
            break
    assert len(expected) == len(made)
    walked, cursor = [], ""
    while True:
        page, cursor = queries.keyset_page_of_union(
            base, visibility_branches(reception), cursor, key="due_sort", size=2
        )
        assert len(page) <= 2
        walked += page
        if not cursor:
            break
    assert walked == expected


def test_visibility_branches_cover_the_visibility_rule(
    make_dossier, citizen, reception, reception2, supervisor, other_commune
):
    make_dossier(Status.DRAFT)
    make_dossier(Status.RECEIVED)
    make_dossier(Status.SUBMITTED, agency=other_commune)
    for user in (citizen, reception, reception2, supervisor):
        by_rule = set(Dossier.objects.filter(visibility_filter(user)))
        by_branches = set()
        for branch in visibility_branches(user):
            by_branches |= set(Dossier.objects.filter(branch))
        assert by_rule == by_branches, user


def test_due_sort_follows_the_legal_due_date(make_dossier):
    waiting = make_dossier(Status.SUBMITTED)
    running = make_dossier(Status.PROCESSING)
    waiting, running = (Dossier.objects.get(pk=d.pk) for d in (waiting, running))
    assert waiting.due_sort == queries.FAR_FUTURE
    assert running.due_sort == running.original_due_at


# --- searches --------------------------------------------------------------------------------


def test_search_by_name_id_number_and_code_in_every_list(client, make_dossier, reception, db):
    dossier = make_dossier(Status.PROCESSING)
    make_dossier(Status.SUBMITTED)
    dossier = Dossier.objects.get(pk=dossier.pk)
    id_number = dossier.applicant["id_number"]
    api = APIClient()
    api.force_authenticate(reception)
    client.force_login(reception)
    for query, expect_one in (
        (dossier.code, True),
        (dossier.code.lower(), True),
        (f"  {dossier.code}  ", True),
        (id_number, False),  # the same applicant filed both
        (dossier.code[:-2], False),  # part of a code: a substring, as before
        (id_number[3:], False),
        ("NGUYỄN văn AN", False),
    ):
        rows = rows_of(client.get("/office/", {"tab": "all", "q": query}))
        listed = api.get("/api/v1/dossiers/", {"q": query}).json()["results"]
        assert dossier in rows, query
        assert dossier.code in {d["code"] for d in listed}, query
        if expect_one:
            assert rows == [dossier] and len(listed) == 1, query
    by_id = rows_of(client.get("/office/", {"tab": "all", "q": id_number}))
    assert set(by_id) == set(Dossier.objects.filter(applicant__id_number=id_number))
    assert rows_of(client.get("/office/", {"tab": "all", "q": "999999999999"})) == []
    assert rows_of(client.get("/office/", {"tab": "all", "q": "000.00.01.H27-990101-0001"})) == []


# --- queries per page ----------------------------------------------------------------------


def _same_queries(client, url, params, grow, django_assert_max_num_queries):
    """The page's query count, then again after `grow()` and on its next page."""
    with django_assert_max_num_queries(30) as first:
        response = client.get(url, params)
        assert response.status_code == 200
    grow()
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(url, params)
    cursor = response.context["next_cursor"] if response.context else ""
    if cursor:
        with django_assert_max_num_queries(len(first.captured_queries)):
            assert client.get(url, {**params, "after": cursor}).status_code == 200
    return response


@pytest.mark.parametrize("tab", [t for t in ("receive", "mine", "approve", "overdue", "all")])
@pytest.mark.parametrize("q", ["", "nguyen van", "031090001234"])
def test_queue_queries_do_not_grow_with_rows_or_pages(
    client, make_dossier, specialist, tab, q, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    for status in (Status.SUBMITTED, Status.PROCESSING, Status.PENDING_APPROVAL):
        make_dossier(status)  # a first page with a row (an empty page reads one query less)
    client.force_login(specialist)

    def grow():
        for status in (Status.SUBMITTED, Status.PROCESSING, Status.PENDING_APPROVAL) * 2:
            make_dossier(status)

    _same_queries(client, "/office/", {"tab": tab, "q": q}, grow, django_assert_max_num_queries)


def test_api_list_with_a_search_queries_do_not_grow(
    make_dossier, reception, django_assert_max_num_queries
):
    api = APIClient()
    api.force_authenticate(reception)
    make_dossier(Status.RECEIVED)
    with django_assert_max_num_queries(12) as few:
        api.get("/api/v1/dossiers/", {"q": "nguyen van an"})
    for _i in range(4):
        make_dossier(Status.PROCESSING)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = api.get("/api/v1/dossiers/", {"q": "nguyen van an", "page_size": 2}).json()
    with django_assert_max_num_queries(len(few.captured_queries)):
        api.get(page["next"])
    assert len(page["results"]) == 2


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"actor": "reception"},
        {"actor": "nobody"},
        {"event_type": "dossier.received"},
        {"agency": "AGENCY"},
        {"procedure": "PROCEDURE"},
        {"code": "CODE"},
        {"date_from": "2020-01-01", "date_to": "2100-01-01"},
    ],
)
def test_audit_log_queries_do_not_grow_with_rows_or_pages(
    client,
    make_dossier,
    supervisor,
    commune,
    procedure,
    filters,
    monkeypatch,
    django_assert_max_num_queries,
):
    from dossiers.supervision import views as supervision

    monkeypatch.setattr(supervision, "AUDIT_PAGE", 2)
    first = make_dossier(Status.RECEIVED)
    values = {"AGENCY": str(commune.pk), "PROCEDURE": procedure.code, "CODE": first.code}
    params = {k: values.get(v, v) for k, v in filters.items()}
    client.force_login(supervisor)

    def grow():
        for _i in range(3):
            make_dossier(Status.PROCESSING)

    response = _same_queries(
        client, "/supervision/audit/", params, grow, django_assert_max_num_queries
    )
    if filters.get("actor") == "nobody":
        assert response.context["rows"] == []
    else:
        assert response.context["rows"]


def test_audit_log_filters_by_actor_and_code_as_before(client, make_dossier, supervisor):
    one, two = make_dossier(Status.RECEIVED), make_dossier(Status.SUBMITTED)
    client.force_login(supervisor)
    by_code = client.get("/supervision/audit/", {"code": two.code}).context["rows"]
    assert by_code and {e.dossier_id for e in by_code} == {two.pk}
    by_actor = client.get("/supervision/audit/", {"actor": "reception"}).context["rows"]
    expected = DossierEvent.objects.filter(actor__username="reception", dossier=one)
    assert set(expected) <= set(by_actor)
    assert all(e.actor.username == "reception" for e in by_actor)


# --- PostgreSQL: the indexes the reads rely on ---------------------------------------------


@pytest.mark.postgres
def test_the_reads_indexes_exist_on_postgresql(db):
    if not is_postgres():
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        indexes = dict(cursor.fetchall())
    for name in (
        "dossier_recv_due",
        "dossier_comp_due",
        "dossier_recv_open",
        "dossier_comp_open",
        "dossier_assignee_open",
        "dossier_id_number",
        "access_agency_created",
    ):
        assert name in indexes, name
    assert "gin_trgm_ops" in indexes["dossier_search_trgm"]
    assert "WHERE" in indexes["dossier_recv_open"]
    # A specialist's tab is counted from the index alone (the branches filter on the agencies).
    for name in ("dossier_assignee_open", "dossier_assignee_open_filed"):
        assert "receiving_agency_id, competent_agency_id)" in indexes[name], indexes[name]


@pytest.mark.postgres
def test_the_queue_reads_each_branch_in_index_order_on_postgresql(make_dossier, reception):
    """The page's SQL names a LIMIT inside each branch of the union (so no branch is sorted
    whole); EXPLAIN over a few rows says nothing about plans at scale, so only the shape of
    the SQL is checked here."""
    if not is_postgres():
        pytest.skip("PostgreSQL only")
    from django.test.utils import CaptureQueriesContext

    from dossiers import clock

    make_dossier(Status.SUBMITTED)
    with CaptureQueriesContext(connection) as captured:
        queues.queue_page(
            reception,
            tab="all",
            params={},
            cursor="",
            now=clock.now(),
            calendar=WorkCalendar.current(),
        )
    (union,) = [q["sql"] for q in captured.captured_queries if "UNION" in q["sql"]]
    assert union.count("LIMIT 26") >= 3
