"""Rules written once and used everywhere: when the applicant sees the result, the keyset pages
and their opaque cursor, the public lookup, who reads as staff."""

import base64
import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from dossiers import queries, services
from dossiers.lookup import find_by_lookup
from dossiers.models import Attachment, Dossier, DossierEvent
from dossiers.permissions import (
    RESULT_VISIBLE_STATUSES,
    is_staff_reader,
    result_visible_q,
    result_visible_to_applicant,
)
from dossiers.supervision import views as supervision
from dossiers.workflow import Status


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


# --- the applicant sees a result once the dossier is resolved or returned ------------------------


@pytest.mark.parametrize("status", [Status.PENDING_APPROVAL, Status.RESOLVED, Status.RETURNED])
def test_every_path_shows_the_result_by_the_one_rule(client, citizen, make_dossier, status):
    dossier = make_dossier(status)
    result = dossier.attachments.get(purpose=Attachment.Purpose.RESULT)
    visible = result_visible_to_applicant(dossier)
    assert visible == (status in RESULT_VISIBLE_STATUSES)
    assert Dossier.objects.filter(result_visible_q(), pk=dossier.pk).exists() == visible

    client.force_login(citizen)
    page = client.get(f"/my/dossiers/{dossier.pk}/")
    assert (result in page.context["results"]) == visible
    download = client.get(f"/my/dossiers/{dossier.pk}/files/{result.pk}/")
    assert download.status_code == (200 if visible else 404)
    assert services.documents_on_file(citizen).filter(pk=result.pk).exists() == visible

    api = APIClient()
    api.force_authenticate(citizen)
    shown = {a["id"] for a in api.get(f"/api/v1/dossiers/{dossier.code}/").json()["attachments"]}
    assert (result.pk in shown) == visible


# --- keyset pages --------------------------------------------------------------------------------


def _all_pages(queryset, **kwargs):
    seen, cursor = [], ""
    while True:
        rows, cursor = queries.keyset_page(queryset, cursor, **kwargs)
        seen.append([row.pk for row in rows])
        if not cursor:
            return seen


def test_keyset_pages_walk_every_row_once_in_order(make_dossier):
    for _i in range(3):
        make_dossier(Status.RECEIVED)  # dated
    for _i in range(2):
        make_dossier(Status.SUBMITTED)  # undated: equal keys, the id decides
    dossiers = queries.ordered(Dossier.objects.all())
    expected = list(dossiers.values_list("pk", flat=True))
    pages = _all_pages(dossiers, key="due_sort", size=2)
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]

    events = DossierEvent.objects.all()
    newest_first = list(events.order_by("-created_at", "-pk").values_list("pk", flat=True))
    pages = _all_pages(events, key="created_at", size=3, descending=True)
    assert [pk for page in pages for pk in page] == newest_first
    assert all(len(page) == 3 for page in pages[:-1])


def _forged(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "é",
        "%%%",
        "AAAA",
        _forged("not a list"),
        _forged(["due_sort", {"dt": "2026-03-02T09:00:00"}, 1]),  # naive
        _forged(["due_sort", {"dt": "yesterday"}, 1]),
        _forged(["due_sort", {"zz": "2026-03-02"}, 1]),
        _forged(["due_sort", "not a date", 1]),
        _forged(["due_sort", {"dt": "2026-03-02T09:00:00+07:00"}, "1"]),
        _forged(["due_sort", {"dt": "2026-03-02T09:00:00+07:00"}, True]),
        _forged(["created_at", {"dt": "2026-03-02T09:00:00+07:00"}, 1]),  # another list's
        _forged(["due_sort", [1, 2], 1]),
    ],
)
def test_a_mangled_cursor_shows_the_first_page(make_dossier, cursor):
    for _i in range(3):
        make_dossier(Status.SUBMITTED)
    dossiers = queries.ordered(Dossier.objects.all())
    first = queries.keyset_page(dossiers, "", key="due_sort", size=2)
    assert queries.keyset_page(dossiers, cursor, key="due_sort", size=2) == first


def test_the_cursor_is_opaque_and_url_safe(make_dossier):
    for _i in range(2):
        make_dossier(Status.RECEIVED)
    _rows, cursor = queries.keyset_page(
        queries.ordered(Dossier.objects.all()), "", key="due_sort", size=1
    )
    assert cursor and set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_supervision_pages_survive_a_mangled_cursor(
    client, make_dossier, supervisor, reception, monkeypatch
):
    for _i in range(3):
        make_dossier(Status.SUBMITTED)
    client.force_login(supervisor)
    monkeypatch.setattr(supervision, "AUDIT_PAGE", 2)
    first = client.get("/supervision/audit/").context["rows"]
    for cursor in ("garbage!", "2026-03-02T09:00:00+07:00_1", _forged(["x", 1, 1])):
        response = client.get("/supervision/audit/", {"after": cursor})
        assert response.status_code == 200 and response.context["rows"] == first
    figure = {"figure": "status:submitted"}
    everything = client.get("/supervision/dossiers/", figure).context["rows"]
    assert len(everything) == 3
    mangled = client.get("/supervision/dossiers/", {**figure, "after": "garbage!"})
    assert mangled.context["rows"] == everything


def test_drill_down_pages_with_the_shared_cursor(client, make_dossier, supervisor, monkeypatch):
    for _i in range(3):
        make_dossier(Status.SUBMITTED)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    client.force_login(supervisor)
    figure = {"figure": "status:submitted"}
    first = client.get("/supervision/dossiers/", figure)
    second = client.get("/supervision/dossiers/", {**figure, "after": first.context["next_cursor"]})
    one, two = first.context["rows"], second.context["rows"]
    assert len(one) == 2 and len(two) == 1 and not set(one) & set(two)
    assert second.context["next_cursor"] == ""


# --- the public lookup ---------------------------------------------------------------------------


def test_both_lookup_paths_agree(client, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    draft = make_dossier(Status.DRAFT)
    Dossier.objects.filter(pk=draft.pk).update(code="000.01.27.H27-261125-9999")  # hypothetical
    cases = [
        (dossier.code, dossier.lookup_key, True),
        (dossier.code, dossier.lookup_key.lower(), True),
        (f" {dossier.code} ", f" {dossier.lookup_key} ", True),
        (dossier.code, "AAAAAAAAAA", False),
        (dossier.code, dossier.lookup_key[:-1], False),
        (dossier.code, "ĐĐĐĐĐĐĐĐĐĐ", False),  # not ASCII: no answer, and no error
        ("000.00.99.H27-990101-0001", dossier.lookup_key, False),
        ("000.01.27.H27-261125-9999", draft.lookup_key, False),  # a draft is never found
    ]
    api = APIClient()
    for code, key, found in cases:
        assert find_by_lookup(code, key) == (dossier if found else None)
        page = client.get("/lookup/", {"code": code, "key": key})
        answer = api.get("/api/v1/lookup/", {"code": code, "key": key})
        assert (page.status_code, answer.status_code) == ((200, 200) if found else (404, 404)), (
            code,
            key,
        )
        if found:
            assert page.context["dossier"] == dossier and answer.json()["code"] == dossier.code
        cache.clear()  # the portal's throttle


# --- who reads as staff --------------------------------------------------------------------------


def test_staff_readers(citizen, reception, leader, supervisor):
    from django.contrib.auth.models import AnonymousUser

    assert [is_staff_reader(u) for u in (citizen, AnonymousUser())] == [False, False]
    assert all(is_staff_reader(u) for u in (reception, leader, supervisor))
