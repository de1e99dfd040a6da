"""REST API v1: the full flow over HTTP only, error shapes, the permission matrix, lists,
throttles and the committed OpenAPI schema."""

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader
from rest_framework.test import APIClient

from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Dossier
from dossiers.permissions import needs_second_factor
from dossiers.workflow import Status

from .helpers import recovery_code

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


def token_client(username, password="onestop-test"):
    client = APIClient()
    body = {"username": username, "password": password}
    user = get_user_model().objects.get(username=username)
    if needs_second_factor(user):
        body["otp"] = recovery_code(user)  # staff send their second factor too
    response = client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def pdf(name="tai-lieu.pdf"):
    return SimpleUploadedFile(name, MINIMAL_PDF, content_type="application/pdf")


# --- the whole path, over HTTP only ------------------------------------------------------------


def test_citizen_to_returned_over_http(citizen, reception, specialist, leader, procedure, commune):
    me = token_client("citizen")
    created = me.post(
        "/api/v1/dossiers/", {"procedure": procedure.code, "agency": commune.code}, format="json"
    )
    assert created.status_code == 201
    draft = created.json()
    assert (
        draft["status"] == "draft" and draft["code"] is None and draft["ref"].startswith("draft-")
    )
    url = f"/api/v1/dossiers/{draft['ref']}/"
    filled = me.patch(
        url, {"form_data": {"full_name": "Nguyễn Văn An", "purpose": "Kết hôn"}}, format="json"
    )
    assert filled.status_code == 200 and filled.json()["form_data"]["purpose"] == "Kết hôn"
    document = procedure.documents.get(required=True, kind="submit")
    attached = me.post(
        f"{url}attachments/", {"document_type": document.pk, "file": pdf()}, format="multipart"
    )
    assert attached.status_code == 201 and attached.json()["content_type"] == "application/pdf"
    submitted = me.post(f"{url}actions/submit/", {}, format="json")
    assert submitted.status_code == 200
    dossier = submitted.json()
    assert (dossier["status"], dossier["national_status_code"]) == ("submitted", 1)
    url = f"/api/v1/dossiers/{dossier['code']}/"

    office = token_client("reception")
    assert (
        office.post(f"{url}actions/receive/", {}, format="json").json()["national_status_code"] == 2
    )
    assigned = office.post(f"{url}actions/assign/", {"assignee": "specialist"}, format="json")
    assert assigned.json()["assignee"] == "specialist"
    expert = token_client("specialist")
    result = expert.post(
        f"{url}attachments/", {"file": pdf("ket-qua.pdf"), "purpose": "result"}, format="multipart"
    )
    assert result.status_code == 201
    assert (
        expert.post(
            f"{url}actions/propose/", {"outcome": "granted", "note": "Đủ"}, format="json"
        ).status_code
        == 200
    )
    boss = token_client("leader")
    assert boss.post(f"{url}actions/approve/", {}, format="json").json()["status"] == "resolved"
    returned = office.post(
        f"{url}actions/return_result/", {"delivery": "electronic"}, format="json"
    )
    assert (returned.json()["status"], returned.json()["national_status_code"]) == ("returned", 10)

    events = office.get(f"{url}events/").json()["events"]
    assert [e["event_type"] for e in events if e["event_type"] != "dossier.slip_rendered"][-2:] == [
        "dossier.approved",
        "dossier.returned",
    ]
    timeline = me.get(f"{url}events/").json()["timeline"]
    assert (
        "events" not in me.get(f"{url}events/").json() and timeline[-1]["title"] == "Đã trả kết quả"
    )
    receipt = me.get(f"{url}slips/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(b"".join(receipt.streaming_content))).pages
    )
    assert "Nguyễn Văn An" in text
    control = office.get(f"{url}slips/control.pdf")
    assert control.status_code == 200
    assert me.get(f"{url}slips/control.pdf").status_code == 404  # the office's own record
    rated = me.post(f"{url}actions/rate/", {"rating": "very_satisfied"}, format="json")
    assert rated.json()["rating"] == "very_satisfied"


# --- errors --------------------------------------------------------------------------------------


def test_error_shapes_and_codes(citizen, citizen2, reception, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    url = f"/api/v1/dossiers/{dossier.code}/"
    office, me = token_client("reception"), token_client("citizen")

    bad = office.post(f"{url}actions/refuse/", {}, format="json")
    assert bad.status_code == 400 and "reason" in error_of(bad)["fields"]
    forbidden = me.post(f"{url}actions/receive/", {}, format="json")
    assert forbidden.status_code == 403 and "Cán bộ một cửa" in error_of(forbidden)["message"]
    not_theirs = office.post(f"{url}actions/approve/", {}, format="json")  # leaders approve
    assert not_theirs.status_code == 403 and error_of(not_theirs)["code"] == "forbidden"
    wrong_status = office.post(
        f"{url}actions/return_result/", {"delivery": "counter"}, format="json"
    )
    assert (
        wrong_status.status_code == 409 and error_of(wrong_status)["code"] == "invalid_transition"
    )
    stale = office.post(f"{url}actions/receive/", {"version": dossier.version - 1}, format="json")
    assert stale.status_code == 409 and error_of(stale)["code"] == "changed_meanwhile"
    assert Dossier.objects.get(pk=dossier.pk).status == Status.SUBMITTED
    missing = token_client("citizen2").get(url)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert error_of(office.post(f"{url}actions/fly/", {}, format="json"))["code"] == "not_found"
    anonymous = APIClient().get("/api/v1/dossiers/")
    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "not_authenticated"
    wrong_login = APIClient().post(
        "/api/v1/auth/token/", {"username": "citizen", "password": "x"}, format="json"
    )
    assert wrong_login.status_code == 400 and error_of(wrong_login)["code"] == "validation_failed"
    unknown_procedure = me.post("/api/v1/dossiers/", {"procedure": "9.999"}, format="json")
    assert (
        unknown_procedure.status_code == 400
        and "procedure" in error_of(unknown_procedure)["fields"]
    )


def test_uploads_are_checked_by_content(citizen, procedure, commune):
    me = token_client("citizen")
    draft = me.post("/api/v1/dossiers/", {"procedure": procedure.code}, format="json").json()
    fake = SimpleUploadedFile("a.pdf", b"not a pdf", content_type="application/pdf")
    document = procedure.documents.first()
    response = me.post(
        f"/api/v1/dossiers/{draft['ref']}/attachments/",
        {"document_type": document.pk, "file": fake},
        format="multipart",
    )
    assert response.status_code == 400 and "file" in error_of(response)["fields"]


def test_token_creation_is_throttled(citizen, settings):
    client = APIClient()
    for _i in range(10):
        client.post(
            "/api/v1/auth/token/", {"username": "citizen", "password": "wrong"}, format="json"
        )
    throttled = client.post(
        "/api/v1/auth/token/", {"username": "citizen", "password": "onestop-test"}, format="json"
    )
    assert throttled.status_code == 429 and error_of(throttled)["code"] == "throttled"
    assert "Retry-After" in throttled


def test_lookup_is_public_and_says_nothing_personal(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    client = APIClient()
    found = client.get("/api/v1/lookup/", {"code": dossier.code, "key": dossier.lookup_key})
    assert found.status_code == 200 and found.json()["national_status_code"] == 2
    assert "Nguyễn" not in found.content.decode() and "applicant" not in found.json()
    wrong = client.get("/api/v1/lookup/", {"code": dossier.code, "key": "NOPE"})
    unknown = client.get("/api/v1/lookup/", {"code": "000.00.00.X00-000000-0000", "key": "NOPE"})
    assert wrong.status_code == unknown.status_code == 404
    assert error_of(wrong) == error_of(unknown)
    assert client.get("/api/v1/lookup/").status_code == 400


def test_procedures_are_public(procedure):
    client = APIClient()
    listing = client.get("/api/v1/procedures/")
    assert listing.status_code == 200 and listing.json()["results"][0]["code"] == procedure.code
    detail = client.get(f"/api/v1/procedures/{procedure.code}/").json()
    assert detail["documents"][0]["name"] and detail["fields"][0]["key"] == "full_name"
    assert error_of(client.get("/api/v1/procedures/0.000000/"))["code"] == "not_found"


def test_indicators_are_for_supervisors(make_dossier, supervisor, reception):
    make_dossier(Status.RECEIVED)
    figures = token_client("supervisor").get("/api/v1/indicators/").json()["figures"]
    assert figures["received"] == 1
    assert token_client("reception").get("/api/v1/indicators/").status_code == 403


# --- the permission matrix -------------------------------------------------------------------


@pytest.fixture
def everyone(citizen, citizen2, reception, reception2, supervisor, specialist, leader):
    return {
        "citizen": citizen,
        "citizen2": citizen2,
        "reception": reception,
        "reception2": reception2,
        "supervisor": supervisor,
    }


# Who gets what on a submitted dossier of `citizen`, filed at the first commune.
MATRIX = {
    # endpoint:          citizen, citizen2, reception, reception2, supervisor, anonymous
    "retrieve": (200, 404, 200, 404, 200, 401),
    "events": (200, 404, 200, 404, 200, 401),
    "slip": (200, 404, 200, 404, 200, 401),
    "receive": (403, 404, 200, 404, 403, 401),
    "withdraw": (200, 404, 403, 404, 403, 401),
    "note": (403, 404, 200, 404, 403, 401),
    "attach": (409, 404, 403, 404, 403, 401),
}
WHO = ["citizen", "citizen2", "reception", "reception2", "supervisor", None]


def call(endpoint, client, dossier):
    url = f"/api/v1/dossiers/{dossier.code}/"
    if endpoint == "retrieve":
        return client.get(url)
    if endpoint == "events":
        return client.get(f"{url}events/")
    if endpoint == "slip":
        return client.get(f"{url}slips/acknowledgement.pdf")
    if endpoint == "attach":
        document = dossier.procedure.documents.first()
        return client.post(
            f"{url}attachments/",
            {"file": pdf(), "purpose": "application", "document_type": document.pk},
            format="multipart",
        )
    if endpoint == "fill":
        return client.patch(url, {"form_data": {"purpose": "Khác"}}, format="json")
    body = {"receive": {}, "withdraw": {"reason": "x"}, "note": {"text": "x"}}[endpoint]
    return client.post(f"{url}actions/{endpoint}/", body, format="json")


@pytest.mark.parametrize("endpoint", MATRIX)
def test_permission_matrix(endpoint, everyone, make_dossier):
    for who, expected in zip(WHO, MATRIX[endpoint], strict=True):
        dossier = make_dossier(Status.SUBMITTED)
        client = APIClient()
        if who:
            client.force_authenticate(everyone[who])
        response = call(endpoint, client, dossier)
        assert response.status_code == expected, (endpoint, who, response.content[:200])
        if expected >= 400:
            error_of(response)


def test_lists_show_only_visible_dossiers(everyone, make_dossier):
    mine = make_dossier(Status.SUBMITTED)
    draft = make_dossier(Status.DRAFT)
    seen = {}
    for who in ("citizen", "citizen2", "reception", "reception2", "supervisor"):
        client = APIClient()
        client.force_authenticate(everyone[who])
        seen[who] = {d["ref"] for d in client.get("/api/v1/dossiers/").json()["results"]}
    assert seen["citizen"] == {mine.code, f"draft-{draft.pk}"}
    assert seen["citizen2"] == seen["reception2"] == set()
    assert seen["reception"] == seen["supervisor"] == {mine.code}


def test_list_filters_and_cursor(everyone, make_dossier, paused_procedure):
    for _i in range(3):
        make_dossier(Status.RECEIVED)
    other = make_dossier(Status.SUBMITTED, procedure=paused_procedure)
    client = APIClient()
    client.force_authenticate(everyone["reception"])
    assert [
        d["code"]
        for d in client.get("/api/v1/dossiers/", {"procedure": paused_procedure.code}).json()[
            "results"
        ]
    ] == [other.code]
    assert len(client.get("/api/v1/dossiers/", {"status": "received"}).json()["results"]) == 3
    assert len(client.get("/api/v1/dossiers/", {"q": "nguyen van an"}).json()["results"]) == 4
    assert client.get("/api/v1/dossiers/", {"overdue": "true"}).json()["results"] == []
    first = client.get("/api/v1/dossiers/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert not {d["ref"] for d in first["results"]} & {d["ref"] for d in second["results"]}


def test_list_queries_do_not_grow_with_rows(everyone, make_dossier, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(everyone["reception"])
    make_dossier(Status.RECEIVED)
    with django_assert_max_num_queries(10) as few:
        client.get("/api/v1/dossiers/")
    for _i in range(8):
        make_dossier(Status.PROCESSING)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/dossiers/")
    assert len(response.json()["results"]) == 9


# --- the schema ------------------------------------------------------------------------------


def test_committed_schema_matches_the_code(client, db):
    generated = client.get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi"
    ).content.decode()
    committed = (ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8")
    assert generated == committed, "docs/openapi.yaml is stale: run `make openapi`"


def test_swagger_ui_is_served_without_a_cdn(client, db):
    page = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower()


# --- every action through the API ---------------------------------------------------------------

ACTION_CASES = {
    # action: (status before, who, body, status after)
    "refuse": ("submitted", "reception", {"reason": "Sai thẩm quyền"}, "refused"),
    "request_supplement": (
        "submitted",
        "reception",
        {"documents": "FIRST", "reason": "Mờ"},
        "supplement_requested",
    ),
    "send_back": ("pending_approval", "leader", {"reason": "Xem lại"}, "processing"),
    "request_payment": ("processing", "specialist", {"amount_vnd": 35000}, "awaiting_payment"),
    "record_payment": ("awaiting_payment", "reception", {"receipt_number": "BL-1"}, "processing"),
    "stop": ("processing", "leader", {"reason": "Đề nghị dừng"}, "stopped"),
    "withdraw": ("received", "citizen", {"reason": "Nộp nhầm"}, "withdrawn"),
    "note": ("processing", "specialist", {"text": "Đã gọi"}, "processing"),
    "reschedule": (
        "processing",
        "specialist",
        {"due_at": "NEXT", "reason": "Xác minh"},
        "processing",
    ),
}


@pytest.mark.parametrize("action", ACTION_CASES)
def test_each_action_over_http(
    action, make_dossier, fee_later_procedure, citizen, reception, specialist, leader
):
    from dossiers.worktime import WorkCalendar

    before, who, body, after = ACTION_CASES[action]
    dossier = make_dossier(before, procedure=fee_later_procedure)
    body = dict(body)
    if body.get("documents") == "FIRST":
        body["documents"] = [dossier.procedure.documents.first().pk]
    if body.get("due_at") == "NEXT":
        calendar = WorkCalendar.current()
        body["due_at"] = calendar.closing(
            calendar.next_working_day(dossier.due_at.astimezone(calendar.tz).date())
        ).isoformat()
    client = APIClient()
    client.force_authenticate(
        {"citizen": citizen, "reception": reception, "specialist": specialist, "leader": leader}[
            who
        ]
    )
    response = client.post(
        f"/api/v1/dossiers/{dossier.code}/actions/{action}/", body, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == after
    assert (
        Dossier.objects.get(pk=dossier.pk).events.filter(event_type__startswith="dossier.").exists()
    )


def test_supplement_answered_over_http(citizen, reception, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    document = dossier.procedure.documents.first()
    office, me = token_client("reception"), token_client("citizen")
    url = f"/api/v1/dossiers/{dossier.code}/"
    office.post(
        f"{url}actions/request_supplement/",
        {"documents": [document.pk], "reason": "Mờ"},
        format="json",
    )
    early = me.post(f"{url}actions/supplement/", {}, format="json")
    assert early.status_code == 400 and error_of(early)["fields"]["documents"] == [document.name]
    me.post(
        f"{url}attachments/",
        {"document_type": document.pk, "file": pdf(), "purpose": "supplement"},
        format="multipart",
    )
    assert (
        me.post(f"{url}actions/supplement/", {"note": "Bản rõ"}, format="json").json()["status"]
        == "submitted"
    )


def test_status_is_never_writable(citizen, make_dossier):
    draft = make_dossier(Status.DRAFT)
    me = token_client("citizen")
    response = me.patch(
        f"/api/v1/dossiers/draft-{draft.pk}/", {"status": "returned"}, format="json"
    )
    assert response.status_code == 400
    sneaky = me.patch(
        f"/api/v1/dossiers/draft-{draft.pk}/",
        {"status": "returned", "form_data": {}},
        format="json",
    )
    assert sneaky.status_code == 200 and sneaky.json()["status"] == "draft"
    assert Dossier.objects.get(pk=draft.pk).status == Status.DRAFT


def test_session_auth_needs_csrf(citizen, procedure):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(citizen)
    assert client.get("/api/v1/dossiers/").status_code == 200
    refused = client.post("/api/v1/dossiers/", {"procedure": procedure.code}, format="json")
    assert refused.status_code == 403 and "CSRF" in error_of(refused)["message"]


def test_server_errors_keep_the_shape(citizen, monkeypatch):
    from dossiers.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.DossierViewSet, "list", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(citizen)
    response = client.get("/api/v1/dossiers/")
    assert response.status_code == 500
    assert error_of(response) == {"code": "server_error", "message": "Lỗi máy chủ.", "fields": {}}


@pytest.mark.parametrize("scope", ["anon", "user"])
def test_anonymous_and_user_requests_are_throttled(scope, citizen, monkeypatch, procedure):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "3/minute")
    client = APIClient()
    if scope == "user":
        client.force_authenticate(citizen)
    answers = [client.get("/api/v1/procedures/").status_code for _i in range(4)]
    assert answers == [200, 200, 200, 429]
    assert error_of(client.get("/api/v1/procedures/"))["code"] == "throttled"
