"""Supervisors: indicator arithmetic on a hand-built set, drill-down, the trail, the audit log,
exports, and read-only access."""

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from dossiers import access, clock, indicators, services
from dossiers.models import Dossier, DossierEvent
from dossiers.supervision import views as supervision
from dossiers.workflow import Status

from .conftest import actor, tamper, vn

MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
SCOPE = indicators.Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
NOW = vn(2026, 11, 25, 10)  # the "in progress" figures are the state now


def at(moment, function, **kwargs):
    with clock.frozen(moment):
        return function(**kwargs)


def resolved(make_dossier, approve_at, **extra):
    """Received Monday 2 March 09:00 (due Thursday 5 March 17:00), approved at `approve_at`."""
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30), vn(2026, 3, 2, 9), vn(2026, 3, 2, 9, 30)]
    propose_at = approve_at - dt.timedelta(minutes=30)
    return make_dossier(Status.RESOLVED, times=[*times, propose_at, approve_at], **extra)


@pytest.fixture
def march(make_dossier, cast, reception, specialist, leader, citizen, procedure, commune):
    """A: before due, electronic, very satisfied. B: on the due day, unsatisfied. C: late
    although rescheduled. D: waiting for a second supplement. E: withdrawn. F: in progress,
    overdue. G: counter intake, overdue. H: received today, in progress on time."""
    a = resolved(make_dossier, vn(2026, 3, 3, 10))
    at(
        vn(2026, 3, 4, 9),
        services.dossier_return_result,
        actor=actor(reception),
        dossier=a,
        delivery="electronic",
    )
    at(
        vn(2026, 3, 4, 10),
        services.dossier_rate,
        actor=actor(citizen),
        dossier=Dossier.objects.get(pk=a.pk),
        rating="very_satisfied",
    )

    b = resolved(make_dossier, vn(2026, 3, 5, 15))
    at(
        vn(2026, 3, 5, 16),
        services.dossier_return_result,
        actor=actor(reception),
        dossier=b,
        delivery="counter",
    )
    at(
        vn(2026, 3, 5, 16, 30),
        services.dossier_rate,
        actor=actor(citizen),
        dossier=Dossier.objects.get(pk=b.pk),
        rating="unsatisfied",
    )

    processing_times = [
        vn(2026, 3, 2, 8),
        vn(2026, 3, 2, 8, 30),
        vn(2026, 3, 2, 9),
        vn(2026, 3, 2, 9, 30),
    ]
    c = make_dossier(Status.PROCESSING, times=processing_times)
    at(
        vn(2026, 3, 3, 9),
        services.dossier_reschedule,
        actor=actor(specialist),
        dossier=c,
        new_due_at=vn(2026, 3, 9, 17),
        reason="Xác minh",
    )
    c = Dossier.objects.get(pk=c.pk)
    from dossiers.demo.scenarios import step

    with clock.frozen(vn(2026, 3, 6, 9)):
        c = step(c, "propose", cast)
    at(vn(2026, 3, 6, 10), services.dossier_approve, actor=actor(leader), dossier=c)
    at(
        vn(2026, 3, 6, 11),
        services.dossier_return_result,
        actor=actor(reception),
        dossier=Dossier.objects.get(pk=c.pk),
        delivery="counter",
    )

    d = make_dossier(Status.PROCESSING, times=processing_times)
    with clock.frozen(vn(2026, 3, 3, 9)):
        d = step(d, "request_supplement", cast)
    with clock.frozen(vn(2026, 3, 3, 14)):
        d = step(d, "supplement", cast)
    with clock.frozen(vn(2026, 3, 4, 9)):
        d = step(d, "request_supplement", cast)

    e = make_dossier(Status.RECEIVED, times=processing_times[:3])
    at(vn(2026, 3, 3, 9), services.dossier_withdraw, actor=actor(citizen), dossier=e, reason="Nhầm")
    f = make_dossier(Status.PROCESSING, times=processing_times)
    g = at(
        vn(2026, 3, 9, 9),
        services.dossier_intake,
        actor=actor(reception),
        procedure=procedure,
        agency=commune,
        applicant={"full_name": "Lê Văn Giáp"},
        form_data={"full_name": "Lê Văn Giáp", "purpose": "Khác"},
        papers_seen=[doc.pk for doc in procedure.documents.filter(required=True, kind="submit")],
    )
    h = make_dossier(Status.RECEIVED)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g, "h": h}


def test_indicator_arithmetic(march, supervisor):
    figures = indicators.headline(supervisor, SCOPE, max(NOW, clock.now()))
    expected = {
        "received": 7,
        "received_online": 6,
        "received_counter": 1,
        "received_postal": 0,
        "resolved": 3,
        "resolved_before": 1,
        "resolved_on": 1,
        "resolved_after": 1,
        "in_progress_on_time": 1,
        "in_progress_overdue": 2,
        "paused": 1,
        "returned": 3,
        "returned_electronic": 1,
        "multi_supplement": 1,
        "rated": 2,
        "rated_very_satisfied": 1,
        "rated_satisfied": 0,
        "rated_unsatisfied": 1,
        "on_time_rate": 66.7,
        "online_share": 85.7,
        "electronic_share": 33.3,
        "late_pct": 33.3,
        "unsatisfied_pct": 50.0,
        "satisfaction": 16.7,
        # A 9 h, B 28 h, C 33 h of office time: 70 h / 3 / 8 h a day.
        "average_days": 2.92,
    }
    assert {k: figures[k] for k in expected} == expected


def test_the_dashboard_counts_in_bounded_queries(march, supervisor, django_assert_max_num_queries):
    # The user's agencies (2), whether the rollups are built (1), then one aggregate over the
    # dossiers; once built, the period's sums and the open dossiers' counts.
    with django_assert_max_num_queries(4):
        indicators.headline(supervisor, SCOPE, NOW)
    indicators.rebuild_rollups()
    with django_assert_max_num_queries(5):
        assert indicators.headline(supervisor, SCOPE, NOW)["received"] == 7


def test_tables_trend_and_breakdown(march, supervisor, commune, procedure):
    (by_agency,) = indicators.grouped(supervisor, SCOPE, NOW, "agency")
    assert (by_agency["name"], by_agency["received"], by_agency["on_time_rate"]) == (
        commune.name,
        7,
        66.7,
    )
    (by_procedure,) = indicators.grouped(supervisor, SCOPE, NOW, "procedure")
    assert by_procedure["key"] == procedure.code and by_procedure["resolved_after"] == 1
    (month,) = indicators.monthly(supervisor, SCOPE)
    assert month == {
        "month": dt.date(2026, 3, 1),
        "received": 7,
        "resolved": 3,
        "on_time_rate": 66.7,
    }
    breakdown = {value: n for value, _label, n in indicators.status_breakdown(supervisor, SCOPE)}
    assert (
        breakdown["returned"] == 3 and breakdown["withdrawn"] == 1 and breakdown["processing"] == 1
    )


def test_every_figure_drills_down_to_its_dossiers(client, march, supervisor):
    client.force_login(supervisor)
    page = client.get("/supervision/", MARCH).content.decode()
    assert "figure=resolved_after" in page and "figure=status:withdrawn" in page
    late = client.get("/supervision/dossiers/", {**MARCH, "figure": "resolved_after"})
    assert [d.pk for d in late.context["rows"]] == [march["c"].pk]
    paused = client.get("/supervision/dossiers/", {**MARCH, "figure": "paused"})
    assert [d.pk for d in paused.context["rows"]] == [march["d"].pk]
    withdrawn = client.get("/supervision/dossiers/", {**MARCH, "figure": "status:withdrawn"})
    assert [d.pk for d in withdrawn.context["rows"]] == [march["e"].pk]
    assert (
        client.get("/supervision/dossiers/", {**MARCH, "figure": "nonsense"}).context["rows"] == []
    )


def test_scope_by_agency_and_procedure(client, march, supervisor, other_commune, paused_procedure):
    client.force_login(supervisor)
    nothing = client.get("/supervision/", {**MARCH, "agency": other_commune.pk}).context["figures"]
    assert nothing["received"] == 0 and nothing["on_time_rate"] is None
    other = client.get("/supervision/", {**MARCH, "procedure": paused_procedure.code}).context[
        "figures"
    ]
    assert other["received"] == 0


def test_indicator_and_register_exports(client, march, supervisor):
    client.force_login(supervisor)
    response = client.get("/supervision/export/indicators.csv", MARCH)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, total = rows[0], rows[1]
    assert total[0] == "Tổng" and total[header.index("Hồ sơ tiếp nhận")] == "7"
    assert total[header.index("Tỷ lệ đúng hạn (%)")] == "66.7"
    workbook = load_workbook(
        io.BytesIO(client.get("/supervision/export/indicators.xlsx", MARCH).content)
    )
    assert workbook.active.cell(2, 1).value == "Tổng"
    register = client.get("/supervision/export/register.csv", MARCH)
    lines = list(csv.reader(io.StringIO(b"".join(register.streaming_content).decode("utf-8-sig"))))
    assert lines[0][1] == "Mã hồ sơ" and len(lines) == 1 + 7
    workbook = load_workbook(
        io.BytesIO(client.get("/supervision/export/register.xlsx", MARCH).content)
    )
    assert workbook.active.max_row == 8


# --- the trail and the audit log -------------------------------------------------------------


def test_trail_merges_events_and_field_changes(client, make_dossier, supervisor, reception):
    dossier = make_dossier(Status.PROCESSING)
    access.record_access(actor=actor(reception), dossier=dossier, purpose=access.Purpose.PROCESSING)
    client.force_login(supervisor)
    html = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert "Chuỗi băm hợp lệ" in html
    assert "Trạng thái: Mới đăng ký → Được tiếp nhận" in html  # in words
    # A field diff, with the assigned specialist by name (not a user id).
    assert re.search(r"Chuyên viên xử lý</th>\s*<td>—</td>\s*<td>Specialist</td>", html)
    # The reads are folded into one line; the supervisor's own read of the trail counts too.
    assert "Đã xem 2 lần, lần cuối bởi Supervisor" in html
    official_read = dossier.access_log.get(actor=reception)
    assert (official_read.ip, official_read.roles) == ("203.0.113.7", "reception")
    assert official_read.agency == dossier.receiving_agency
    assert "Thêm tài liệu: giay-to.pdf" in html  # attachment history


def test_trail_shows_slip_hashes(client, make_dossier, supervisor, citizen):
    from dossiers import slips

    dossier = make_dossier(Status.SUBMITTED)
    slip = slips.slip_for(dossier, "acknowledgement")
    client.force_login(supervisor)
    html = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert slip.sha256 in html.replace("<wbr>", "")  # may wrap between characters


def test_badge_flags_an_edited_event(client, make_dossier, supervisor):
    dossier = make_dossier(Status.RECEIVED)
    event = dossier.events.get(event_type="dossier.received")
    tamper("UPDATE dossiers_dossierevent SET note = %s WHERE id = %s", ["sửa", event.pk])
    client.force_login(supervisor)
    html = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert "Chuỗi băm KHÔNG hợp lệ" in html and f"event #{event.pk}" in html


def test_audit_log_filters_pages_and_csv(client, march, supervisor, monkeypatch):
    client.force_login(supervisor)
    approvals = client.get("/supervision/audit/", {"event_type": "dossier.approved"}).context[
        "rows"
    ]
    assert {e.dossier_id for e in approvals} == {march["a"].pk, march["b"].pk, march["c"].pk}
    by_code = client.get("/supervision/audit/", {"code": march["e"].code}).context["rows"]
    assert {e.event_type for e in by_code} >= {"dossier.withdrawn", "dossier.received"}
    by_actor = client.get("/supervision/audit/", {"actor": "leader"}).context["rows"]
    assert by_actor and all(e.actor.username == "leader" for e in by_actor)
    in_day = client.get(
        "/supervision/audit/", {"date_from": "2026-03-06", "date_to": "2026-03-06"}
    ).context["rows"]
    assert in_day and all(
        e.created_at.astimezone(dt.UTC).date() <= dt.date(2026, 3, 6) for e in in_day
    )

    monkeypatch.setattr(supervision, "AUDIT_PAGE", 5)
    first = client.get("/supervision/audit/")
    second = client.get("/supervision/audit/", {"after": first.context["next_cursor"]})
    one, two = first.context["rows"], second.context["rows"]
    assert len(one) == 5 and len(two) == 5 and not {e.pk for e in one} & {e.pk for e in two}
    assert one[-1].created_at >= two[0].created_at

    response = client.get(
        "/supervision/audit/", {"event_type": "dossier.approved", "format": "csv"}
    )
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert lines[0][:3] == ["Thời điểm", "Mã hồ sơ", "Sự kiện"] and len(lines) == 4
    assert {line[2] for line in lines[1:]} == {"dossier.approved"}


def test_audit_log_shows_only_the_province(client, make_dossier, supervisor, db):
    from dossiers.models import Agency, Membership

    from .conftest import _user

    elsewhere = Agency.objects.create(
        code="000.00.00.H49", name="UBND tỉnh Quảng Ninh", level="province"
    )
    stranger = _user("stranger")
    Membership.objects.create(user=stranger, agency=elsewhere, role="supervisor")
    make_dossier(Status.RECEIVED)
    client.force_login(stranger)
    assert client.get("/supervision/audit/").context["rows"] == []
    assert DossierEvent.objects.exists()


# --- read-only -------------------------------------------------------------------------------


def test_supervisors_cannot_act(client, make_dossier, supervisor):
    dossier = make_dossier(Status.SUBMITTED)
    client.force_login(supervisor)
    assert client.get("/office/").status_code == 403
    assert (
        client.post(
            f"/office/dossiers/{dossier.pk}/act/receive/", {"version": dossier.version}
        ).status_code
        == 403
    )
    assert (
        client.post("/office/bulk/", {"action": "receive", "ids": [dossier.pk]}).status_code == 403
    )
    assert client.get("/office/intake/").status_code == 403
    trail = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert '<form method="post"' not in trail.split("<main", 1)[1]
    assert Dossier.objects.get(pk=dossier.pk).status == Status.SUBMITTED


@pytest.mark.parametrize("who", ["citizen", "reception", "leader"])
def test_others_cannot_open_supervision(client, request, who, db):
    client.force_login(request.getfixturevalue(who))
    for url in ("/supervision/", "/supervision/audit/", "/supervision/export/indicators.csv"):
        response = client.get(url)
        assert response.status_code == 403 and "giám sát" in response.content.decode()


def test_anonymous_is_sent_to_log_in(client, db):
    assert client.get("/supervision/").status_code == 302
