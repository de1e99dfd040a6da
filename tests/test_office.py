"""The officials' workspace through its pages: queues, actions, intake, slips, register, bulk."""

import csv
import io
import threading

import pytest
from django.db import connection
from openpyxl import load_workbook
from pypdf import PdfReader

from dossiers import services
from dossiers.demo.scenarios import pdf_upload
from dossiers.models import Attachment, Dossier, SavedFilter
from dossiers.workflow import EventType, Status
from dossiers.worktime import WorkCalendar

from .conftest import actor, vn


def as_user(client, user):
    client.force_login(user)
    return client


def act(client, dossier, action, **data):
    dossier = Dossier.objects.get(pk=dossier.pk)
    return client.post(
        f"/office/dossiers/{dossier.pk}/act/{action}/", {"version": dossier.version, **data}
    )


def status_of(dossier):
    return Dossier.objects.get(pk=dossier.pk).status


def pdf_text(response) -> str:
    content = b"".join(response.streaming_content)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- access --------------------------------------------------------------------------------


def test_office_is_for_officials(client, citizen, supervisor, reception, db):
    assert client.get("/office/").status_code == 302  # log in first
    for outsider in (citizen, supervisor):
        response = as_user(client, outsider).get("/office/")
        assert response.status_code == 403
        assert "dành cho cán bộ" in response.content.decode()
    assert as_user(client, reception).get("/office/").status_code == 200


def test_other_communes_dossiers_are_invisible(client, make_dossier, reception2):
    dossier = make_dossier(Status.SUBMITTED)
    as_user(client, reception2)
    listing = client.get("/office/", {"tab": "all"})
    assert dossier.code not in listing.content.decode()
    assert client.get(f"/office/dossiers/{dossier.pk}/").status_code == 404
    assert act(client, dossier, "receive").status_code == 404
    assert status_of(dossier) == Status.SUBMITTED
    file = dossier.attachments.first()
    assert client.get(f"/office/dossiers/{dossier.pk}/files/{file.pk}/").status_code == 404
    assert client.get(f"/office/dossiers/{dossier.pk}/slips/acknowledgement.pdf").status_code == 404


def test_drafts_never_reach_the_office(client, make_dossier, reception):
    draft = make_dossier(Status.DRAFT)
    assert as_user(client, reception).get(f"/office/dossiers/{draft.pk}/").status_code == 404


def test_forbidden_action_on_a_visible_dossier_is_403_with_the_reason(
    client, make_dossier, specialist
):
    dossier = make_dossier(Status.SUBMITTED)
    response = act(as_user(client, specialist), dossier, "receive")
    assert response.status_code == 403
    assert "Cán bộ một cửa" in response.content.decode()
    assert status_of(dossier) == Status.SUBMITTED


def test_opening_a_dossier_logs_the_read(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    page = as_user(client, reception).get(f"/office/dossiers/{dossier.pk}/")
    assert page.status_code == 200 and "Nguyễn Văn An" in page.content.decode()
    viewed = Dossier.objects.get(pk=dossier.pk).access_log.get()
    assert viewed.actor == reception and viewed.ip == "127.0.0.1"
    assert (viewed.roles, viewed.agency) == ("reception", dossier.receiving_agency)


def test_the_page_offers_exactly_the_allowed_actions(
    client, make_dossier, reception, specialist, leader
):
    submitted = make_dossier(Status.SUBMITTED)
    offered = as_user(client, reception).get(f"/office/dossiers/{submitted.pk}/").context["forms"]
    assert [a.value for a, _f in offered] == ["receive", "refuse", "request_supplement", "note"]
    pending = make_dossier(Status.PENDING_APPROVAL)
    offered = as_user(client, leader).get(f"/office/dossiers/{pending.pk}/").context["forms"]
    assert [a.value for a, _f in offered] == ["send_back", "approve", "stop", "reschedule", "note"]
    offered = as_user(client, specialist).get(f"/office/dossiers/{pending.pk}/").context["forms"]
    assert [a.value for a, _f in offered] == ["reschedule", "note"]


# --- every action through the forms -----------------------------------------------------------


def test_intake_to_return_through_the_forms(client, make_dossier, reception, specialist, leader):
    dossier = make_dossier(Status.SUBMITTED)
    assert act(as_user(client, reception), dossier, "receive").status_code == 302
    assert status_of(dossier) == Status.RECEIVED
    assert act(client, dossier, "assign", assignee=specialist.pk).status_code == 302
    assert status_of(dossier) == Status.PROCESSING

    as_user(client, specialist)
    response = act(
        client,
        dossier,
        "propose",
        outcome="granted",
        note="Đủ điều kiện",
        result=pdf_upload("kq.pdf"),
    )
    assert response.status_code == 302 and status_of(dossier) == Status.PENDING_APPROVAL
    assert (
        Dossier.objects.get(pk=dossier.pk)
        .attachments.filter(purpose=Attachment.Purpose.RESULT)
        .exists()
    )

    as_user(client, leader)
    assert act(client, dossier, "send_back", reason="Sai ngày sinh").status_code == 302
    assert status_of(dossier) == Status.PROCESSING
    as_user(client, specialist)
    assert act(client, dossier, "propose", outcome="granted").status_code == 302  # result kept
    as_user(client, leader)
    assert act(client, dossier, "approve").status_code == 302
    assert status_of(dossier) == Status.RESOLVED
    as_user(client, reception)
    assert act(client, dossier, "return_result", delivery="counter").status_code == 302
    assert status_of(dossier) == Status.RETURNED


def test_refusal_needs_a_reason_and_keeps_the_page(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    response = act(as_user(client, reception), dossier, "refuse", reason="")
    assert (
        response.status_code == 400
        and "reason"
        in dict(response.context["forms"])[
            next(a for a, _f in response.context["forms"] if a.value == "refuse")
        ].errors
    )
    assert status_of(dossier) == Status.SUBMITTED
    assert act(client, dossier, "refuse", reason="Không thuộc thẩm quyền").status_code == 302
    assert status_of(dossier) == Status.REFUSED


def test_supplement_requested_and_answered_at_the_counter(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    as_user(client, reception)
    assert (
        act(client, dossier, "request_supplement", documents=[doc.pk], reason="Ảnh mờ").status_code
        == 302
    )
    assert status_of(dossier) == Status.SUPPLEMENT_REQUESTED
    missing = act(client, dossier, "supplement", note="Mang bản giấy")
    assert missing.status_code == 400 and status_of(dossier) == Status.SUPPLEMENT_REQUESTED
    done = act(
        client, dossier, "supplement", note="Đã nhận bản rõ", **{f"doc_{doc.pk}": pdf_upload()}
    )
    assert done.status_code == 302 and status_of(dossier) == Status.SUBMITTED


def test_payment_stop_note_and_reschedule(
    client, make_dossier, fee_later_procedure, specialist, reception, leader
):
    dossier = make_dossier(Status.PROCESSING, procedure=fee_later_procedure)
    as_user(client, specialist)
    assert act(client, dossier, "request_payment", amount_vnd=35000).status_code == 302
    assert status_of(dossier) == Status.AWAITING_PAYMENT
    assert (
        act(
            as_user(client, reception), dossier, "record_payment", receipt_number="BL-7"
        ).status_code
        == 302
    )
    assert status_of(dossier) == Status.PROCESSING

    calendar = WorkCalendar.current()
    fresh = Dossier.objects.get(pk=dossier.pk)
    new_due = calendar.closing(
        calendar.next_working_day(fresh.due_at.astimezone(calendar.tz).date())
    )
    as_user(client, specialist)
    response = act(
        client,
        dossier,
        "reschedule",
        new_due_at=new_due.strftime("%Y-%m-%dT%H:%M"),
        reason="Xác minh",
    )
    assert response.status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).due_at == new_due
    offered = client.get(f"/office/dossiers/{dossier.pk}/").context["forms"]
    assert "reschedule" not in [a.value for a, _f in offered]  # once per dossier
    again = client.post(
        f"/office/dossiers/{dossier.pk}/act/reschedule/",
        {
            "version": Dossier.objects.get(pk=dossier.pk).version,
            "new_due_at": new_due.strftime("%Y-%m-%dT%H:%M"),
            "reason": "Lần 2",
        },
        follow=True,
    )
    assert "đã được xin lỗi và hẹn lại một lần" in again.content.decode()
    assert (
        Dossier.objects.get(pk=dossier.pk).events.filter(event_type=EventType.RESCHEDULED).count()
        == 1
    )

    assert act(client, dossier, "note", text="Đã gọi cho công dân").status_code == 302
    assert (
        act(
            as_user(client, leader), dossier, "stop", reason="Người yêu cầu đề nghị dừng"
        ).status_code
        == 302
    )
    assert status_of(dossier) == Status.STOPPED


def test_stale_form_says_changed_meanwhile(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    stale_version = dossier.version
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    response = as_user(client, reception).post(
        f"/office/dossiers/{dossier.pk}/act/refuse/",
        {"version": stale_version, "reason": "x"},
        follow=True,
    )
    assert "vừa được người khác thay đổi" in response.content.decode()
    assert status_of(dossier) == Status.RECEIVED


def test_unknown_action_is_404(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    assert act(as_user(client, reception), dossier, "rate", rating="satisfied").status_code == 404


# --- counter intake ----------------------------------------------------------------------------


def test_counter_intake_receives_at_once_and_prints_the_receipt(
    client, reception, procedure, commune
):
    as_user(client, reception)
    required = procedure.documents.get(required=True, kind="submit")
    response = client.post(
        f"/office/intake/{procedure.code}/",
        {
            "full_name": "Phạm Thị Đào",
            "id_number": "031185001111",
            "phone": "0901234567",
            "address": "Thôn Nam, xã Vĩnh Bảo",
            "channel": 1,
            "f_full_name": "Phạm Thị Đào",
            "f_purpose": "Kết hôn",
            f"seen_{required.pk}": "1",
            f"doc_{required.pk}": pdf_upload("scan.pdf"),
        },
    )
    dossier = Dossier.objects.get(applicant__full_name="Phạm Thị Đào")
    assert response.status_code == 302 and response["Location"] == f"/office/dossiers/{dossier.pk}/"
    assert dossier.status == Status.RECEIVED and dossier.applicant_user is None
    assert dossier.attachments.filter(paper_original_seen=True).count() == 1
    assert dossier.attachments.exclude(file="").get().original_name == "scan.pdf"
    text = pdf_text(client.get(f"/office/dossiers/{dossier.pk}/slips/receipt.pdf"))
    assert "Phạm Thị Đào" in text and "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text


def test_counter_intake_errors_keep_the_input(client, reception, procedure):
    response = as_user(client, reception).post(
        f"/office/intake/{procedure.code}/",
        {"full_name": "Phạm Thị Đào", "id_number": "12", "channel": 1, "f_purpose": "Kết hôn"},
    )
    assert response.status_code == 400
    assert "id_number" in response.context["applicant_form"].errors
    assert 'value="Phạm Thị Đào"' in response.content.decode()
    assert not Dossier.objects.exists()


def test_counter_intake_requires_the_papers(client, reception, procedure):
    response = as_user(client, reception).post(
        f"/office/intake/{procedure.code}/",
        {
            "full_name": "Phạm Thị Đào",
            "channel": 1,
            "f_full_name": "Phạm Thị Đào",
            "f_purpose": "Kết hôn",
        },
    )
    assert response.status_code == 400 and "còn thiếu giấy tờ" in response.content.decode()
    assert not Dossier.objects.exists()


def test_counter_intake_is_for_reception(client, specialist, procedure):
    assert as_user(client, specialist).get(f"/office/intake/{procedure.code}/").status_code == 403


# --- slips -------------------------------------------------------------------------------------


def test_every_slip_reads_back_in_vietnamese(client, make_dossier, reception, leader, specialist):
    as_user(client, reception)
    refused = make_dossier(Status.REFUSED)
    text = pdf_text(client.get(f"/office/dossiers/{refused.pk}/slips/refusal.pdf"))
    assert (
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
        and "Hồ sơ không thuộc thẩm quyền" in text
    )

    asked = make_dossier(Status.SUPPLEMENT_REQUESTED)
    text = pdf_text(client.get(f"/office/dossiers/{asked.pk}/slips/supplement.pdf"))
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text and "Bản chụp không rõ nét" in text
    assert "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân" in text

    stopped = make_dossier(Status.STOPPED)
    text = pdf_text(client.get(f"/office/dossiers/{stopped.pk}/slips/stop.pdf"))
    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text and stopped.code in text

    late = make_dossier(Status.PROCESSING)
    calendar = WorkCalendar.current()
    new_due = calendar.closing(
        calendar.next_working_day(late.due_at.astimezone(calendar.tz).date())
    )
    services.dossier_reschedule(
        actor=actor(specialist), dossier=late, new_due_at=new_due, reason="Chờ xác minh"
    )
    text = pdf_text(client.get(f"/office/dossiers/{late.pk}/slips/apology.pdf"))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and "Chờ xác minh" in text
    assert "1 ngày làm việc" in text  # how late, in working time

    returned = make_dossier(Status.RETURNED)
    text = " ".join(
        pdf_text(client.get(f"/office/dossiers/{returned.pk}/slips/control.pdf")).split()
    )
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
    for name in ("Reception", "Specialist", "Leader", "Nguyễn Văn An"):
        assert name in text
    assert "Trước hạn" in text or "Đúng hạn" in text


def test_citizens_do_not_get_the_control_slip(client, make_dossier, citizen):
    dossier = make_dossier(Status.RETURNED)
    assert (
        as_user(client, citizen).get(f"/my/dossiers/{dossier.pk}/slips/control.pdf").status_code
        == 404
    )


# --- queues ------------------------------------------------------------------------------------


def test_tabs_and_counts(client, make_dossier, reception, specialist):
    submitted = make_dossier(Status.SUBMITTED)
    processing = make_dossier(Status.PROCESSING)
    pending = make_dossier(Status.PENDING_APPROVAL)
    as_user(client, reception)
    response = client.get("/office/")
    counts = {t.key: count for t, count in response.context["tabs"]}
    assert (counts["receive"], counts["approve"], counts["mine"]) == (1, 1, 0)
    assert [r["dossier"] for r in response.context["rows"]] == [submitted]
    assert [r["dossier"] for r in client.get("/office/", {"tab": "approve"}).context["rows"]] == [
        pending
    ]
    mine = as_user(client, specialist).get("/office/", {"tab": "mine"}).context["rows"]
    assert [r["dossier"] for r in mine] == [processing]


def test_accent_insensitive_search_by_name_id_and_code(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    as_user(client, reception)
    for query in ("nguyen van an", "NGUYEN VĂN an", "031090001234", dossier.code):
        rows = client.get("/office/", {"tab": "all", "q": query}).context["rows"]
        assert [r["dossier"] for r in rows] == [dossier], query
    assert client.get("/office/", {"tab": "all", "q": "tran thi"}).context["rows"] == []


def test_filters(client, make_dossier, reception, paused_procedure):
    one = make_dossier(Status.RECEIVED)
    other = make_dossier(Status.RECEIVED, procedure=paused_procedure)
    as_user(client, reception)
    rows = client.get("/office/", {"tab": "all", "procedure": paused_procedure.code}).context[
        "rows"
    ]
    assert [r["dossier"] for r in rows] == [other]
    rows = client.get("/office/", {"tab": "all", "status": "received", "channel": "2"}).context[
        "rows"
    ]
    assert {r["dossier"] for r in rows} == {one, other}
    day = one.received_at.astimezone(WorkCalendar().tz).date().isoformat()
    rows = client.get("/office/", {"tab": "all", "received_from": day, "received_to": day}).context[
        "rows"
    ]
    assert {r["dossier"] for r in rows} == {one, other}
    rows = client.get("/office/", {"tab": "all", "received_to": "2000-01-01"}).context["rows"]
    assert rows == []
    assert (
        client.get(
            "/office/", {"tab": "all", "received_from": "not-a-date", "channel": "x"}
        ).status_code
        == 200
    )


def test_sorted_by_due_date_with_keyset_pages(client, make_dossier, reception):
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 5)]
    dossiers = []
    for day in range(2, 30):
        if WorkCalendar().is_working_day(vn(2026, 3, day).date()):
            at = [*times, vn(2026, 3, day, 9)]
            dossiers.append(make_dossier(Status.RECEIVED, times=at))
    assert len(dossiers) == 20
    for _i in range(8):
        dossiers.append(make_dossier(Status.SUBMITTED))
    as_user(client, reception)
    first = client.get("/office/", {"tab": "all"})
    page_one = [r["dossier"] for r in first.context["rows"]]
    assert len(page_one) == 25
    dues = [d.original_due_at for d in page_one if d.original_due_at]
    assert dues == sorted(dues) and page_one[:20] == dossiers[:20]
    second = client.get("/office/", {"tab": "all", "after": first.context["next_cursor"]})
    page_two = [r["dossier"] for r in second.context["rows"]]
    assert len(page_two) == 3 and not set(page_one) & set(page_two)
    assert second.context["next_cursor"] == ""
    assert len(client.get("/office/", {"tab": "all", "after": "garbage!"}).context["rows"]) == 25


def test_queue_queries_do_not_grow_with_rows(
    client, make_dossier, reception, django_assert_max_num_queries
):
    as_user(client, reception)
    make_dossier(Status.RECEIVED)
    with django_assert_max_num_queries(14) as few:
        client.get("/office/", {"tab": "all"})
    for _i in range(12):
        make_dossier(Status.PROCESSING)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/office/", {"tab": "all"})
    assert len(response.context["rows"]) == 13


def test_saved_filters(client, reception, make_dossier):
    as_user(client, reception)
    client.post("/office/filters/", {"name": "Hộ tịch quá hạn", "query": "tab=overdue&q=ho+tich"})
    saved = SavedFilter.objects.get(user=reception)
    assert saved.query == "tab=overdue&q=ho+tich"
    assert "Hộ tịch quá hạn" in client.get("/office/").content.decode()
    client.post(f"/office/filters/{saved.pk}/delete/")
    assert not SavedFilter.objects.exists()


# --- bulk --------------------------------------------------------------------------------------


def test_bulk_receive_reports_each_dossier(client, make_dossier, reception, reception2):
    ready = [make_dossier(Status.SUBMITTED) for _i in range(3)]
    already = make_dossier(Status.RECEIVED)
    response = as_user(client, reception).post(
        "/office/bulk/", {"action": "receive", "ids": [*(d.pk for d in ready), already.pk, 999999]}
    )
    results = {r["id"]: r for r in response.context["results"]}
    assert all(results[d.pk]["ok"] for d in ready)
    assert not results[already.pk]["ok"] and "trạng thái" in results[already.pk]["message"]
    assert not results[999999]["ok"]
    assert all(status_of(d) == Status.RECEIVED for d in ready)


def test_bulk_is_capped(client, reception):
    response = as_user(client, reception).post(
        "/office/bulk/", {"action": "receive", "ids": list(range(1, 52))}, follow=True
    )
    assert "tối đa 50" in response.content.decode()


def test_bulk_assign(client, make_dossier, reception, specialist):
    received = [make_dossier(Status.RECEIVED) for _i in range(2)]
    as_user(client, reception).post(
        "/office/bulk/",
        {"action": "assign", "assignee": specialist.pk, "ids": [d.pk for d in received]},
    )
    assert all(Dossier.objects.get(pk=d.pk).assignee == specialist for d in received)


# --- register ----------------------------------------------------------------------------------


def test_register_exports(client, make_dossier, reception, reception2):
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 5), vn(2026, 3, 2, 9)]
    dossier = make_dossier(Status.RECEIVED, times=times)
    make_dossier(
        Status.RECEIVED, times=[vn(2026, 4, 1, 8), vn(2026, 4, 1, 8, 5), vn(2026, 4, 1, 9)]
    )
    as_user(client, reception)
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    response = client.get("/office/register/", {**params, "format": "csv"})
    assert response["Content-Disposition"].endswith('so-theo-doi-20260301-20260331.csv"')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "STT",
        "Mã hồ sơ",
        "Thủ tục hành chính",
        "Người nộp",
        "Địa chỉ",
        "Số điện thoại",
        "Ngày tiếp nhận",
        "Ngày hẹn trả",
        "Ngày nhận kết quả từ cơ quan giải quyết",
        "Ngày trả kết quả",
        "Ghi chú",
    ]
    assert len(rows) == 2 and rows[1][:4] == [
        "1",
        dossier.code,
        dossier.procedure.name,
        "Nguyễn Văn An",
    ]
    assert rows[1][6] == "09:00 02/03/2026" and rows[1][7] == "17:00 05/03/2026"

    workbook = load_workbook(
        io.BytesIO(client.get("/office/register/", {**params, "format": "xlsx"}).content)
    )
    sheet = workbook.active
    assert sheet.cell(1, 2).value == "Mã hồ sơ" and sheet.cell(2, 2).value == dossier.code

    other = as_user(client, reception2).get("/office/register/", {**params, "format": "csv"})
    assert (
        len(list(csv.reader(io.StringIO(b"".join(other.streaming_content).decode("utf-8-sig")))))
        == 1
    )


def test_register_cells_never_become_formulas(client, make_dossier, reception):
    """A citizen named like a formula stays text in both downloads (CSV injection)."""
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 5), vn(2026, 3, 2, 9)]
    dossier = make_dossier(Status.RECEIVED, times=times)
    formula = '=HYPERLINK("http://x.example","y")'
    applicant = {**dossier.applicant, "full_name": formula, "address": "@SUM(1+1)"}
    Dossier.objects.filter(pk=dossier.pk).update(applicant=applicant)
    as_user(client, reception)
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    workbook = load_workbook(
        io.BytesIO(client.get("/office/register/", {**params, "format": "xlsx"}).content)
    )
    cells = [cell for row in workbook.active.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert formula in [cell.value for cell in cells]  # the text itself, kept as it is
    response = client.get("/office/register/", {**params, "format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[3] == "'" + formula and row[4] == "'@SUM(1+1)"


def test_register_rejects_bad_ranges(client, reception, db):
    response = as_user(client, reception).get(
        "/office/register/", {"date_from": "2026-05-01", "date_to": "2026-04-01", "format": "csv"}
    )
    assert response.status_code == 400 and "date_to" in response.context["form"].errors


# --- concurrency on PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officials_submit_at_once(make_dossier, reception, leader):
    """Two real requests with the same page version: one applies, the other says reload."""
    from django.test import Client

    dossier = make_dossier(Status.PENDING_APPROVAL)
    version = dossier.version
    barrier = threading.Barrier(2)
    responses = {}

    # Logged in beforehand: a staff login also passes the second factor, which writes rows.
    clients = {name: Client() for name in ("approve", "send_back")}
    for client in clients.values():
        client.force_login(leader)

    def post(name, data):
        client = clients[name]
        try:
            barrier.wait(timeout=10)
            responses[name] = client.post(
                f"/office/dossiers/{dossier.pk}/act/{name}/",
                {"version": version, **data},
                follow=True,
            )
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=("approve", {})),
        threading.Thread(target=post, args=("send_back", {"reason": "Xem lại"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    pages = [r.content.decode() for r in responses.values()]
    assert sum("vừa được người khác thay đổi" in page for page in pages) == 1
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.status in (Status.RESOLVED, Status.PROCESSING)
    decided = fresh.events.filter(event_type__in=[EventType.APPROVED, EventType.SENT_BACK])
    assert decided.count() == 1


def test_one_person_may_hold_several_roles(client, make_dossier, commune, specialist):
    from dossiers.models import Membership

    from .conftest import _official

    officer = _official("officer", commune, "reception", "specialist")
    dossier = make_dossier(Status.SUBMITTED)
    as_user(client, officer)
    assert act(client, dossier, "receive").status_code == 302
    assert act(client, dossier, "assign", assignee=officer.pk).status_code == 302
    offered = [a.value for a, _f in client.get(f"/office/dossiers/{dossier.pk}/").context["forms"]]
    assert "propose" in offered and "request_supplement" in offered  # the specialist's own actions
    assert Membership.objects.filter(user=officer).count() == 2


def test_reception_withdraws_a_walk_in_dossier_through_the_form(
    client, reception, procedure, commune
):
    walk_in = services.dossier_intake(
        actor=actor(reception),
        procedure=procedure,
        agency=commune,
        applicant={"full_name": "Lê Thị Cúc"},
        form_data={"full_name": "Lê Thị Cúc", "purpose": "Khác"},
        papers_seen=[d.pk for d in procedure.documents.filter(required=True, kind="submit")],
    )
    as_user(client, reception)
    offered = [a.value for a, _f in client.get(f"/office/dossiers/{walk_in.pk}/").context["forms"]]
    assert "withdraw" in offered
    assert act(client, walk_in, "withdraw", reason="Người nộp xin rút").status_code == 302
    assert status_of(walk_in) == Status.WITHDRAWN


def test_documents_preview_inline_or_download(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    file = dossier.attachments.exclude(file="").first()
    as_user(client, reception)
    preview = client.get(f"/office/dossiers/{dossier.pk}/files/{file.pk}/", {"preview": "1"})
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["Content-Type"] == "application/pdf"
    download = client.get(f"/office/dossiers/{dossier.pk}/files/{file.pk}/")
    assert download["Content-Disposition"].startswith("attachment")


def test_a_wrong_file_at_the_counter_supplement_is_refused(client, make_dossier, reception):
    from django.core.files.uploadedfile import SimpleUploadedFile

    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[doc.pk], reason="Mờ"
    )
    bad = SimpleUploadedFile("x.pdf", b"plain text, not a pdf")
    response = act(as_user(client, reception), dossier, "supplement", **{f"doc_{doc.pk}": bad})
    assert response.status_code == 400 and "không đúng định dạng" in response.content.decode()
    assert status_of(dossier) == Status.SUPPLEMENT_REQUESTED
