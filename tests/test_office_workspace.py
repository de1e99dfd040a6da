"""The officials' workspace as issue 13 asks: each role lands on its own work, the queue shows
when a dossier was filed and the time left in words, sorts on indexed columns, searches every
tab; counter intake asks for the applicant once and looks up a known one; the return form
starts from the delivery the applicant chose; the dossier page reads in Vietnamese."""

import re

import pytest
from django.db import connection

from dossiers import clock, queries, services
from dossiers.models import AccessLogEntry, Dossier, Membership, Procedure
from dossiers.models.calendar import TimeUnit
from dossiers.office import queues
from dossiers.office.forms import ReturnForm
from dossiers.office.time_left import span_text, time_left
from dossiers.workflow import Role, Status
from dossiers.worktime import WorkCalendar

from .conftest import actor, is_postgres, vn


def as_user(client, user):
    client.force_login(user)
    return client


def rows_of(response):
    return [r["dossier"] for r in response.context["rows"]]


def text_of(response) -> str:
    """The page's visible text, tags dropped and spaces folded."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- 7. each role lands on its own work ------------------------------------------------------


def test_each_role_lands_on_its_own_work(client, reception, specialist, leader, db):
    for user, tab in ((specialist, "mine"), (leader, "approve"), (reception, "receive")):
        response = as_user(client, user).get("/office/")
        assert response.context["tab"] == tab, user
        # The queue's own tabs (the site's menu marks the queue page itself as current too).
        current = re.search(
            r'<a href="\?tab=[^"]*" aria-current="page"[^>]*>([^<(]+)', response.content.decode()
        )
        assert current.group(1).strip() == {t.key: t.label for t in queues.tabs()}[tab]
    # An explicit tab still wins.
    assert as_user(client, specialist).get("/office/?tab=all").context["tab"] == "all"


def test_reception_takes_the_oldest_filing_first(client, make_dossier, reception):
    newer = make_dossier(Status.SUBMITTED, times=[vn(2026, 11, 3), vn(2026, 11, 3, 10)])
    older = make_dossier(Status.SUBMITTED, times=[vn(2026, 11, 2), vn(2026, 11, 2, 10)])
    response = as_user(client, reception).get("/office/")
    assert response.context["order"] == "filed"
    assert rows_of(response) == [older, newer]  # ids say the opposite


def test_paused_dossiers_leave_my_processing_for_their_own_tabs(
    client, make_dossier, specialist, fee_later_procedure
):
    working = make_dossier(Status.PROCESSING)
    waiting_papers = make_dossier(Status.SUPPLEMENT_REQUESTED)
    waiting_fee = make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure)
    assert {d.assignee_id for d in Dossier.objects.all()} == {specialist.pk}
    as_user(client, specialist)
    assert rows_of(client.get("/office/", {"tab": "mine"})) == [working]
    assert rows_of(client.get("/office/", {"tab": "supplement"})) == [waiting_papers]
    assert rows_of(client.get("/office/", {"tab": "payment"})) == [waiting_fee]
    counts = {t.key: n for t, n in client.get("/office/").context["tabs"]}
    assert (counts["mine"], counts["supplement"], counts["payment"]) == (1, 1, 1)


# --- 8. the queue table ----------------------------------------------------------------------


def test_the_queue_shows_when_filed_and_the_time_left_in_words(client, make_dossier, reception):
    late = make_dossier(Status.PROCESSING, times=[vn(2026, 11, 2, 8), vn(2026, 11, 2, 8, 30)])
    with clock.frozen(vn(2026, 11, 9, 9)):  # received Mon 2/11: due Thu 5/11 17:00
        page = as_user(client, reception).get("/office/", {"tab": "all"})
    text = text_of(page)
    assert "Nộp lúc" in text and "08:30 02/11/2026" in text
    assert "quá hạn 1 ngày 2 giờ" in text  # all of Friday and two hours on Monday
    left = page.context["rows"][0]["left"]
    assert (left.state, page.context["rows"][0]["dossier"]) == ("overdue", late)
    assert 'class="badge left overdue"' in page.content.decode()  # colour and words


def test_time_left_counts_working_time_within_the_procedures_limit():
    calendar = WorkCalendar()
    procedure = Procedure(time_limit_value=3, time_limit_unit=TimeUnit.WORKING_DAYS)
    start = calendar.clock_start(vn(2026, 11, 2, 9))  # a Monday, before the cut-off
    due = calendar.due_at(start, 3, TimeUnit.WORKING_DAYS)

    def in_status(status):
        # A supplement asked for during processing, as the service records it (the one that
        # stops the clock).
        return Dossier(
            procedure=procedure,
            status=status,
            clock_started_at=start,
            original_due_at=due,
            supplement_return_status=Status.PROCESSING,
        )

    dossier = in_status(Status.PROCESSING)
    day = calendar.seconds_per_day

    def said(moment):
        return time_left(dossier, moment, calendar).text

    # The day of receipt is not one of the three days: the whole limit is left, no more.
    assert said(vn(2026, 11, 2, 10)) == "còn 3 ngày"
    assert said(vn(2026, 11, 4, 9)) == "còn 1 ngày 6 giờ"  # Wed 9:00 -> Thu 17:00
    assert said(vn(2026, 11, 5, 16)) == "còn 1 giờ"
    assert said(vn(2026, 11, 6, 9)) == "quá hạn 2 giờ"
    assert said(vn(2026, 11, 9, 9)) == "quá hạn 1 ngày 2 giờ"
    assert span_text(2 * day + 4 * 3600, calendar) == "2 ngày 4 giờ"
    assert span_text(90, calendar) == "1 phút"
    paused = time_left(in_status(Status.SUPPLEMENT_REQUESTED), vn(2026, 11, 4, 9), calendar)
    assert (paused.state, paused.text) == ("paused", "tạm dừng tính thời hạn: chờ bổ sung hồ sơ")
    assert time_left(in_status(Status.RETURNED), vn(2026, 11, 4, 9), calendar) is None


def test_sorting_by_filing_time_pages_in_order_both_ways(
    client, make_dossier, reception, monkeypatch
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    made = [
        make_dossier(Status.SUBMITTED, times=[vn(2026, 11, day), vn(2026, 11, day, 10)])
        for day in (5, 3, 4, 2, 6)
    ]
    by_filing = sorted(made, key=lambda d: Dossier.objects.get(pk=d.pk).submitted_at)
    as_user(client, reception)
    for order, expected in (("filed", by_filing), ("-filed", by_filing[::-1])):
        walked, cursor = [], ""
        while True:
            page = client.get("/office/", {"tab": "all", "order": order, "after": cursor})
            assert len(rows_of(page)) <= 2
            walked += rows_of(page)
            cursor = page.context["next_cursor"]
            if not cursor:
                break
        assert walked == expected, order
    html = client.get("/office/", {"tab": "all", "order": "-filed"}).content.decode()
    assert 'aria-sort="descending"' in html
    # The header link turns the order round and starts from the first page.
    assert 'href="?tab=all&amp;order=filed"' in html
    assert 'href="?tab=all&amp;order=due"' in html
    # On a phone the header row is hidden: the caption offers every order too.
    caption = html[html.index('id="queue-order"') : html.index("</caption>")]
    for order in ("filed", "due", "-due"):
        assert f'href="?tab=all&amp;order={order}"' in caption


def test_only_indexed_orders_are_offered(client, reception, db):
    as_user(client, reception)
    assert client.get("/office/", {"tab": "all", "order": "applicant"}).context["order"] == "due"
    overdue = client.get("/office/", {"tab": "overdue", "order": "filed"})
    assert overdue.context["order"] == "due"  # a due-date range is read in due order only
    assert "filed" not in overdue.context["sort_links"]
    assert set(queues.ORDERS) == {"due", "-due", "filed", "-filed"}


def test_a_sort_by_filing_time_reads_an_index_not_a_sort(make_dossier, reception, commune):
    make_dossier(Status.SUBMITTED)
    branch = Dossier.objects.filter(receiving_agency=commune).exclude(status=Status.DRAFT)
    for sign in ("", "-"):
        sql, params = branch.order_by(f"{sign}submitted_at", f"{sign}id").query.sql_with_params()
        with connection.cursor() as cursor:
            if is_postgres():
                # Tiny tables: make the planner say whether an index CAN give the order.
                for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
                    cursor.execute(f"SET LOCAL {setting} = off")
                cursor.execute("EXPLAIN " + sql, params)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "dossier_recv_filed" in plan, plan
        assert "TEMP B-TREE" not in plan.upper() and "Sort " not in plan, plan


@pytest.mark.postgres
def test_the_filing_order_indexes_and_branch_limits_on_postgresql(make_dossier, reception):
    if not is_postgres():
        pytest.skip("PostgreSQL only")
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        names = {row[0] for row in cursor.fetchall()}
    for name in (
        "dossier_recv_filed",
        "dossier_comp_filed",
        "dossier_recv_open_filed",
        "dossier_comp_open_filed",
        "dossier_assignee_open_filed",
    ):
        assert name in names, name
    make_dossier(Status.SUBMITTED)
    with CaptureQueriesContext(connection) as captured:
        queues.queue_page(
            reception,
            tab="receive",
            params={},
            cursor="",
            now=clock.now(),
            calendar=WorkCalendar.current(),
            order="-filed",
        )
    (union,) = [q["sql"] for q in captured.captured_queries if "UNION" in q["sql"]]
    assert union.count("LIMIT 26") >= 3 and "DESC" in union


@pytest.mark.parametrize("order", ["filed", "-filed", "-due"])
@pytest.mark.parametrize("tab", ["receive", "mine", "all"])
def test_sorted_queue_queries_do_not_grow(
    client, make_dossier, specialist, order, tab, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    for status in (Status.SUBMITTED, Status.PROCESSING, Status.PENDING_APPROVAL):
        make_dossier(status)
    as_user(client, specialist)
    params = {"tab": tab, "order": order}
    with django_assert_max_num_queries(30) as first:
        response = client.get("/office/", params)
    for status in (Status.SUBMITTED, Status.PROCESSING, Status.PENDING_APPROVAL) * 2:
        make_dossier(status)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get("/office/", params)
    if response.context["next_cursor"]:
        with django_assert_max_num_queries(len(first.captured_queries)):
            client.get("/office/", {**params, "after": response.context["next_cursor"]})


def test_the_union_pages_descending_as_the_plain_or(
    make_dossier, reception, commune, other_commune
):
    Membership.objects.create(user=reception, agency=other_commune, role=Role.RECEPTION)
    for day in (5, 3, 4):
        make_dossier(Status.SUBMITTED, times=[vn(2026, 11, day), vn(2026, 11, day, 10)])
    for day in (2, 6):
        make_dossier(
            Status.SUBMITTED, agency=other_commune, times=[vn(2026, 11, day), vn(2026, 11, day)]
        )
    reception = type(reception).objects.get(pk=reception.pk)
    base = Dossier.objects.exclude(status=Status.DRAFT)
    from dossiers.permissions import visibility_branches, visibility_filter

    plain = list(base.filter(visibility_filter(reception)).order_by("-submitted_at", "-id"))
    walked, cursor = [], ""
    while True:
        page, cursor = queries.keyset_page_of_union(
            base,
            visibility_branches(reception),
            cursor,
            key="submitted_at",
            size=2,
            descending=True,
        )
        walked += page
        if not cursor:
            break
    assert walked == plain and len(plain) == 5


# --- 9. a search looks through every tab -------------------------------------------------------


def test_a_search_finds_the_dossier_whatever_its_tab(client, make_dossier, reception):
    processing = make_dossier(Status.PROCESSING)
    Dossier.objects.filter(pk=processing.pk).update(applicant={"full_name": "Đỗ Thị Hoa"})
    Dossier.objects.get(pk=processing.pk).save()  # the search key follows the name
    make_dossier(Status.SUBMITTED)
    as_user(client, reception)
    # The default tab ("to receive") does not hold it; the search still finds it.
    assert processing not in rows_of(client.get("/office/"))
    response = client.get("/office/", {"q": "do thi hoa"})
    assert rows_of(response) == [Dossier.objects.get(pk=processing.pk)]
    text = text_of(response)
    assert "trong mọi hàng đợi" in text and "Ở mục" in text and "Đang xử lý" in text
    # The header's search box sends GET /office/?q=… (the URL named office:queue).
    from django.urls import reverse

    assert reverse("office:queue") == "/office/"
    assert rows_of(client.get(f"{reverse('office:queue')}?q={processing.code}")) == [
        Dossier.objects.get(pk=processing.pk)
    ]


def test_a_search_says_which_tab_each_dossier_sits_in(client, make_dossier, specialist):
    paused = make_dossier(Status.SUPPLEMENT_REQUESTED)
    mine = make_dossier(Status.PROCESSING)
    response = as_user(client, specialist).get("/office/", {"q": "nguyen van an", "tab": "mine"})
    tabs = {r["dossier"].pk: r["in_tab"].key for r in response.context["rows"]}
    assert tabs == {paused.pk: "supplement", mine.pk: "mine"}
    assert 'href="?tab=supplement"' in response.content.decode()
    # Each tab's Python rule agrees with the tab's query.
    now, calendar = clock.now(), WorkCalendar.current()
    for dossier in Dossier.objects.all():
        key = queues.tab_of(dossier, specialist).key
        condition = queues.tab_condition(key, specialist, now, calendar)
        assert Dossier.objects.filter(condition, pk=dossier.pk).exists()


# --- 10. counter intake ------------------------------------------------------------------------


def test_counter_intake_asks_for_the_applicant_once(client, reception, procedure):
    as_user(client, reception)
    page = client.get(f"/office/intake/{procedure.code}/")
    assert "f_full_name" not in page.context["answers_form"].fields
    assert "Họ và tên" in page.context["from_applicant"]
    required = procedure.documents.get(required=True, kind="submit")
    response = client.post(
        f"/office/intake/{procedure.code}/",
        {
            "full_name": "Phạm Thị Đào",
            "id_number": "031185001111",
            "channel": 1,
            "delivery": "post",
            "f_purpose": "Kết hôn",
            f"seen_{required.pk}": "1",
            f"noscan_{required.pk}": "Người nộp chỉ mang bản chính",
        },
    )
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert dossier.form_data["full_name"] == dossier.applicant["full_name"] == "Phạm Thị Đào"
    assert dossier.requested_delivery == "post"


def test_looking_up_a_known_applicant_fills_the_form_and_is_logged(
    client, make_dossier, reception, procedure
):
    earlier = make_dossier(Status.RETURNED)
    as_user(client, reception)
    before = AccessLogEntry.objects.count()
    response = client.post(
        f"/office/intake/{procedure.code}/",
        {"id_number": "031090001234", "f_purpose": "Khác", "lookup": "1"},
    )
    assert response.status_code == 200 and response.context["lookup_found"]
    html = response.content.decode()
    assert 'value="Nguyễn Văn An"' in html and 'value="0912345678"' in html
    assert 'value="1990-05-17"' in html
    assert '<option value="Khác" selected>' in html  # what was typed stays
    assert not Dossier.objects.exclude(pk=earlier.pk).exists()  # nothing filed by a look-up
    (entry,) = AccessLogEntry.objects.order_by("-seq")[: AccessLogEntry.objects.count() - before]
    assert (entry.actor, entry.dossier_id, entry.purpose) == (
        reception,
        earlier.pk,
        AccessLogEntry.Purpose.INTAKE_LOOKUP,
    )


def test_a_look_up_sees_only_the_agencys_dossiers(
    client, make_dossier, reception, reception2, specialist, procedure
):
    make_dossier(Status.RECEIVED)
    looked = as_user(client, reception2).post(
        f"/office/intake/{procedure.code}/", {"id_number": "031090001234", "lookup": "1"}
    )
    assert looked.status_code == 200 and not looked.context["lookup_found"]
    assert "Nguyễn Văn An" not in looked.content.decode()
    assert not AccessLogEntry.objects.exists()
    refused = as_user(client, specialist).post(
        f"/office/intake/{procedure.code}/", {"id_number": "031090001234", "lookup": "1"}
    )
    assert refused.status_code == 403 and not AccessLogEntry.objects.exists()
    bad = as_user(client, reception).post(
        f"/office/intake/{procedure.code}/", {"id_number": "0310", "lookup": "1"}
    )
    assert bad.status_code == 200 and "12 chữ số" in bad.content.decode()
    assert not AccessLogEntry.objects.exists()


# --- 11. the delivery chosen when filing -------------------------------------------------------


def test_the_citizen_chooses_the_delivery_and_the_return_form_starts_there(
    client, citizen, reception, procedure, commune, make_dossier
):
    page = as_user(client, citizen).get(f"/procedures/{procedure.code}/apply/")
    assert "Nhận kết quả" in text_of(page) and 'name="delivery"' in page.content.decode()
    client.post(
        f"/procedures/{procedure.code}/apply/",
        {
            "agency": commune.pk,
            "f_full_name": "Nguyễn Văn An",
            "delivery": "post",
            "intent": "save",
        },
    )
    draft = Dossier.objects.get(applicant_user=citizen)
    assert draft.requested_delivery == "post"
    # Saving the draft again without the field keeps the choice.
    client.post(
        f"/my/dossiers/{draft.pk}/edit/", {"f_full_name": "Nguyễn Văn An", "intent": "save"}
    )
    assert Dossier.objects.get(pk=draft.pk).requested_delivery == "post"
    resolved = make_dossier(Status.RESOLVED)
    Dossier.objects.filter(pk=resolved.pk).update(requested_delivery="post")
    html = as_user(client, reception).get(f"/office/dossiers/{resolved.pk}/").content.decode()
    assert re.search(r'<option value="post" selected>', html)
    # Filed online before the choice existed: the result goes back online.
    Dossier.objects.filter(pk=resolved.pk).update(requested_delivery="")
    form = ReturnForm(dossier=Dossier.objects.get(pk=resolved.pk))
    assert form["delivery"].value() == Dossier.Delivery.ELECTRONIC


def test_the_chosen_delivery_is_audited_without_resealing_history(make_dossier, citizen):
    from dossiers import sealing
    from dossiers.workflow import EventType

    submitted = make_dossier(Status.SUBMITTED)
    event = submitted.events.get(event_type=EventType.SUBMITTED)
    assert event.data["requested_delivery"] == Dossier.Delivery.ELECTRONIC
    # A new sealed history column would change the hash of every row sealed before it.
    sealed = {f.attname for f in sealing.sealed_fields(Dossier.history.model)}
    assert "requested_delivery" not in sealed and "result_delivery" in sealed


def test_the_draft_service_refuses_an_unknown_delivery(citizen, procedure, commune):
    from dossiers.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.dossier_create_draft(
            actor=actor(citizen),
            procedure=procedure,
            receiving_agency=commune,
            requested_delivery="pigeon",
        )


# --- 12. the official's dossier page -----------------------------------------------------------


def test_the_dossier_page_reads_in_vietnamese_without_doubled_words(
    client, make_dossier, reception, procedure
):
    procedure.fields.create(key="wedding", label="Ngày dự định kết hôn", type="date", order=5)
    procedure.fields.create(key="first", label="Kết hôn lần đầu", type="checkbox", order=6)
    late = make_dossier(Status.PROCESSING, times=[vn(2026, 10, 1), vn(2026, 10, 1, 9)])
    assert late.form_data["wedding"] == "2026-01-15" and late.form_data["first"] is True
    page = as_user(client, reception).get(f"/office/dossiers/{late.pk}/")
    text = text_of(page)
    assert "quá hạn quá hạn" not in text.lower()
    assert re.search(r'id="time-left">quá hạn \d+ ngày', page.content.decode())
    assert "Mới đăng ký → Được tiếp nhận" in text and "Được tiếp nhận → Đang xử lý" in text
    for raw in ("submitted →", "→ received", "→ processing", ">reception<", ">citizen<"):
        assert raw not in page.content.decode(), raw
    assert "Cán bộ một cửa" in text and "Công dân" in text
    assert "01/10/2026" in text and "2026-10-01" not in text
    assert "Ngày dự định kết hôn 15/01/2026" in text and "2026-01-15" not in text
    assert "Kết hôn lần đầu Có" in text and "True" not in text
    assert "3 ngày làm việc" in text  # the procedure's limit next to the due date


def test_destructive_actions_stand_apart_and_the_result_opens_before_approval(
    client, make_dossier, leader
):
    pending = make_dossier(Status.PENDING_APPROVAL)
    page = as_user(client, leader).get(f"/office/dossiers/{pending.pk}/")
    html = page.content.decode()
    zone = html[html.index('class="actions danger-zone"') :]
    assert f'action="/office/dossiers/{pending.pk}/act/stop/"' in zone
    assert "act/approve/" not in zone
    stop_button = re.search(r'act/stop/".*?<button type="submit"([^>]*)>', zone, flags=re.S)
    assert 'class="button-danger"' in stop_button.group(1)
    approve = html[html.index('id="act-approve"') : html.index('class="actions danger-zone"')]
    assert "button-danger" not in approve
    (result,) = page.context["results"]
    preview = f"/office/dossiers/{pending.pk}/files/{result.pk}/?preview=1"
    assert preview in approve
    opened = client.get(preview)
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert opened["Content-Disposition"].startswith("inline")
