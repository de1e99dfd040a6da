"""What slips and dossier pages tell the citizen (issue 13, "Wrong or stale information"): a new
dated appointment slip whenever the appointment changes, "tạm dừng" while the clock is stopped,
the fee of the channel used, one name per agency, the payment instructions, the national
place-and-date line. Slips are real PDFs read back."""

import io
import re

import pytest
from pypdf import PdfReader

from dossiers import clock, services, slips
from dossiers.demo import scenarios
from dossiers.formatting import place_and_date, vn_datetime
from dossiers.models import Dossier, OutgoingEmail, Slip
from dossiers.workflow import EventType, Status
from dossiers.worktime import VN_TZ as VN
from dossiers.worktime import WorkCalendar

from .conftest import actor, vn
from .test_slip_rendering import _images_and_qr
from .worker import ready_jobs, run_jobs

CENTRE = "Trung tâm Phục vụ hành chính công xã Vĩnh Bảo"
AUTHORITY = "Ủy ban nhân dân xã Vĩnh Bảo"
# Monday 2 March 2026: drafted, submitted, received (clock starts 09:00), assigned.
MONDAY = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30), vn(2026, 3, 2, 9), vn(2026, 3, 2, 9, 30)]


def words(content: bytes) -> str:
    """The PDF's text with its line breaks and runs of spaces made single spaces."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def download(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return words(b"".join(response.streaming_content))


def printed_appointment(text: str) -> str:
    match = re.search(
        r"Thời gian trả kết quả: (\d\d:\d\d \d\d/\d\d/\d{4}|Tạm dừng \([^)]*\))", text
    )
    assert match, text
    return match.group(1)


def page_appointment(html: str) -> str:
    match = re.search(r"<dt>Hẹn trả kết quả</dt><dd>(.*?)(?:<div|</dd>)", html, re.S)
    assert match, html
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def receipt_rows(response) -> list[dict]:
    return [row for row in response.context["slips"] if row["kind"] == Slip.Kind.RECEIPT]


def step(dossier, action, cast, at):
    with clock.frozen(at):
        return scenarios.step(Dossier.objects.get(pk=dossier.pk), action, cast)


def new_slip_job(dossier) -> None:
    """The action enqueued the slip's job in its own transaction; nothing is rendered before the
    worker runs it."""
    jobs = [
        j.args_kwargs["args"]
        for j in ready_jobs(slips.render_slip)
        if j.args_kwargs["args"][0] == dossier.pk
    ]
    assert jobs, "no slip job enqueued by the action"
    seq = jobs[-1][2]
    assert not Slip.objects.filter(dossier=dossier, source_seq=seq).exists()


# --- 1. the appointment slip follows the appointment ---------------------------------------------


def test_a_supplement_issues_paused_then_new_appointment_slips_and_the_page_agrees(
    client, cast, make_dossier, specialist
):
    dossier = make_dossier(Status.PROCESSING, times=MONDAY)
    run_jobs()
    assert vn_datetime(dossier.due_at) == "17:00 05/03/2026"
    client.force_login(cast.citizen)
    page = f"/my/dossiers/{dossier.pk}/"

    # The specialist asks for a paper: the clock stops, the appointment is paused.
    step(dossier, "request_supplement", cast, vn(2026, 3, 3, 10))
    new_slip_job(dossier)
    run_jobs()
    response = client.get(page)
    html = response.content.decode()
    assert page_appointment(html) == "Tạm dừng (chờ bổ sung hồ sơ) từ 10:00 03/03/2026"
    facts = html.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "17:00 05/03/2026" not in facts  # the stale date is gone (the timeline keeps it)
    paused = download(client, f"/my/dossiers/{dossier.pk}/slips/receipt.pdf")
    assert printed_appointment(paused) == "Tạm dừng (chờ bổ sung hồ sơ)"
    assert "17:00 05/03/2026" not in paused
    email = OutgoingEmail.objects.get(event__event_type=EventType.SUPPLEMENT_REQUESTED)
    assert "Tạm dừng (chờ bổ sung hồ sơ)" in email.body and "05/03/2026" not in email.body
    client.force_login(specialist)
    office = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Tạm dừng (chờ bổ sung hồ sơ)" in office
    client.force_login(cast.citizen)

    # The citizen answers the next Monday: the time limit restarts (the decree's rule).
    step(dossier, "supplement", cast, vn(2026, 3, 9, 10))
    new_slip_job(dossier)
    run_jobs()
    dossier.refresh_from_db()
    response = client.get(page)
    html = response.content.decode()
    shown = page_appointment(html)
    assert shown == vn_datetime(dossier.due_at) == "17:00 12/03/2026"
    newest = download(client, f"/my/dossiers/{dossier.pk}/slips/receipt.pdf")
    assert printed_appointment(newest) == shown
    assert "thay thế giấy hẹn lập lúc 10:00 03/03/2026" in newest
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in newest and newest.count("Reception") == 1

    # Every version stays listed, newest first; the older ones are marked superseded and still
    # print what they said.
    rows = receipt_rows(response)
    assert [(r["version"], r["superseded"]) for r in rows] == [
        (3, False),
        (2, True),
        (1, True),
    ]
    assert [vn_datetime(r["issued_at"]) for r in rows] == [
        "10:00 09/03/2026",
        "10:00 03/03/2026",
        "09:00 02/03/2026",
    ]
    assert html.count("đã được thay thế bởi giấy lập lúc") == 2
    first = download(client, f"/my/dossiers/{dossier.pk}/slips/receipt/{rows[-1]['seq']}.pdf")
    assert printed_appointment(first) == "17:00 05/03/2026"
    assert Slip.objects.filter(dossier=dossier, kind=Slip.Kind.RECEIPT).count() == 3

    client.force_login(specialist)
    response = client.get(f"/office/dossiers/{dossier.pk}/")
    assert [r["superseded"] for r in receipt_rows(response)] == [False, True, True]
    assert response.content.decode().count("đã được thay thế bởi giấy lập lúc") == 2


def test_a_supplement_at_intake_issues_no_appointment(cast, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    dossier = scenarios.step(dossier, "request_supplement", cast)
    dossier = scenarios.step(dossier, "supplement", cast)
    assert dossier.status == Status.SUBMITTED
    assert Slip.Kind.RECEIPT not in slips.available_kinds(dossier)


def test_payment_and_reschedule_issue_new_appointment_slips(
    client, cast, make_dossier, fee_later_procedure, specialist
):
    dossier = make_dossier(Status.PROCESSING, procedure=fee_later_procedure, times=MONDAY)
    step(dossier, "request_payment", cast, vn(2026, 3, 3, 10))
    step(dossier, "record_payment", cast, vn(2026, 3, 4, 10))  # one working day later
    dossier.refresh_from_db()
    calendar = WorkCalendar.current()
    new_due = calendar.closing(calendar.next_working_day(dossier.due_at.astimezone(VN).date()))
    with clock.frozen(vn(2026, 3, 5, 10)):
        services.dossier_reschedule(
            actor=actor(specialist), dossier=dossier, new_due_at=new_due, reason="Chờ xác minh"
        )
    run_jobs()
    dossier.refresh_from_db()
    client.force_login(cast.citizen)
    response = client.get(f"/my/dossiers/{dossier.pk}/")
    rows = receipt_rows(response)
    assert len(rows) == 4  # received, payment wait, payment recorded, new date
    printed = [
        printed_appointment(
            download(client, f"/my/dossiers/{dossier.pk}/slips/receipt/{row['seq']}.pdf")
        )
        for row in rows
    ]
    assert printed[0] == vn_datetime(new_due) == page_appointment(response.content.decode())
    assert printed[1] == vn_datetime(dossier.original_due_at)  # pushed by the day it waited
    told = OutgoingEmail.objects.get(event__event_type=EventType.PAYMENT_RECORDED).body
    assert f"Ngày hẹn trả kết quả: {printed[1]}" in told
    assert printed[2] == "Tạm dừng (chờ thực hiện nghĩa vụ tài chính)"
    assert printed[3] == "17:00 25/03/2026"  # 17 working days from Monday 2 March


# --- 2. the fee of the channel used --------------------------------------------------------------


def test_slips_print_the_fee_of_the_channel_used(client, make_dossier, procedure, reception):
    procedure.fee_online_vnd = 7000
    procedure.save()
    online = make_dossier(Status.RECEIVED)
    for kind in (Slip.Kind.ACKNOWLEDGEMENT, Slip.Kind.RECEIPT):
        text = words(slips.render_content(online, kind))
        assert "Phí, lệ phí: 7.000 đồng (mức nộp trực tuyến)" in text
        assert "15.000" not in text
    counter = services.dossier_intake(
        actor=actor(reception),
        procedure=procedure,
        agency=online.receiving_agency,
        applicant={"full_name": "Phạm Thị Đào", "id_number": "031185001111"},
        form_data={"full_name": "Phạm Thị Đào", "purpose": "Kết hôn"},
        papers_seen=[d.pk for d in procedure.documents.filter(required=True, kind="submit")],
    )
    text = words(slips.render_content(counter, Slip.Kind.RECEIPT))
    assert "Phí, lệ phí: 15.000 đồng (mức nộp trực tiếp)" in text and "7.000" not in text

    html = client.get(f"/procedures/{procedure.code}/").content.decode()
    assert "15.000 đồng khi nộp trực tiếp; 7.000 đồng khi nộp trực tuyến" in html


# --- 4. one name per agency ----------------------------------------------------------------------


@pytest.fixture
def named_commune(commune):
    commune.name, commune.one_stop_unit = AUTHORITY, CENTRE
    commune.save()
    return commune


def test_the_centre_receives_and_the_authority_decides(
    client, make_dossier, named_commune, cast, leader
):
    received = make_dossier(Status.RECEIVED)
    text = words(slips.render_content(received, Slip.Kind.RECEIPT))
    assert f"{CENTRE.upper()}" in text and f"{CENTRE} đã tiếp nhận hồ sơ" in text
    assert f"Nơi nhận kết quả: {CENTRE}" in text

    stopped = make_dossier(Status.STOPPED)
    text = words(slips.render_content(stopped, Slip.Kind.STOP))
    assert f"{AUTHORITY} thông báo dừng giải quyết" in text
    assert AUTHORITY.upper() in text and CENTRE.upper() not in text  # heading and signature
    assert f"Mọi thắc mắc xin liên hệ {CENTRE}" in text  # where the citizen goes

    for user, url in (
        (cast.citizen, f"/my/dossiers/{received.pk}/"),
        (leader, f"/office/dossiers/{received.pk}/"),
    ):
        client.force_login(user)
        html = " ".join(client.get(url).content.decode().split())
        assert re.search(rf"<dt>(Nơi nộp|Nơi tiếp nhận)</dt><dd>{CENTRE}</dd>", html), url
        assert f"<dt>Cơ quan giải quyết</dt><dd>{AUTHORITY}</dd>" in html, url


def test_without_a_centre_name_the_one_stop_unit_is_named_after_the_authority(commune):
    assert commune.reception_name == "Bộ phận Một cửa – UBND xã Vĩnh Bảo"
    assert commune.authority_name == "UBND xã Vĩnh Bảo"
    assert commune.place == "Vĩnh Bảo"


# --- 5. how, where and by when to pay ------------------------------------------------------------


def test_a_dossier_waiting_for_payment_says_how_where_and_by_when(
    client, make_dossier, fee_later_procedure, named_commune, cast, specialist
):
    named_commune.address = "Số 1 đường Trung tâm, xã Vĩnh Bảo"
    named_commune.office_hours = "Thứ Hai đến Thứ Sáu: 7:00–11:30, 13:30–17:00"
    named_commune.bank_account_number = "9704 0000 0001"
    named_commune.bank_name = "Ngân hàng mẫu"
    named_commune.bank_beneficiary = AUTHORITY
    named_commune.save()
    times = [*MONDAY, vn(2026, 3, 3, 10)]  # payment asked for on Tuesday 3 March
    dossier = make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure, times=times)
    expected = [
        "15.000 đồng",
        "17:00 10/03/2026",  # 5 working days after the request
        CENTRE,
        "Số 1 đường Trung tâm, xã Vĩnh Bảo",
        "Thứ Hai đến Thứ Sáu: 7:00–11:30, 13:30–17:00",
        "9704 0000 0001",
        "Ngân hàng mẫu",
        dossier.code,
    ]

    client.force_login(cast.citizen)
    html = client.get(f"/my/dossiers/{dossier.pk}/").content.decode()
    block = html.split('id="payment"')[1].split("<h2")[0]
    for fact in expected:
        assert fact in block, fact
    assert f"Nội dung chuyển khoản: <strong>{dossier.code}</strong>" in block
    assert page_appointment(html).startswith("Tạm dừng (chờ thực hiện nghĩa vụ tài chính)")

    body = OutgoingEmail.objects.get(event__event_type=EventType.PAYMENT_REQUESTED).body
    for fact in expected:
        assert fact in body, fact

    client.force_login(specialist)
    html = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    block = html.split('id="payment"')[1].split("<h2")[0]
    for fact in ("15.000 đồng", "17:00 10/03/2026", "9704 0000 0001", dossier.code):
        assert fact in block, fact


def test_the_demo_agencies_have_counters_and_accounts(db):
    from dossiers.demo.catalogue import load_agencies, load_procedures

    province, communes = load_agencies()
    assert province.place == "Hải Phòng"
    assert [c.place for c in communes] == ["Vĩnh Bảo", "Hồng Bàng", "Cát Hải"]
    for commune in communes:
        assert commune.office_hours and commune.takes_bank_transfers
        assert commune.reception_name.startswith("Trung tâm Phục vụ hành chính công")
        assert commune.authority_name.startswith("Ủy ban nhân dân")
    fees = {p.code: (p.fee_vnd, p.fee_online_vnd) for p in load_procedures()}
    assert fees["1.004194"] == (15000, 7000)


# --- 6. the national forms: place and date, "đã nhận" -------------------------------------------


def test_place_and_date_line_as_the_national_forms_write_it():
    assert place_and_date("Vĩnh Bảo", vn(2026, 12, 3)) == "Vĩnh Bảo, ngày 03 tháng 12 năm 2026"
    assert place_and_date("Vĩnh Bảo", vn(2026, 2, 5)) == "Vĩnh Bảo, ngày 05 tháng 02 năm 2026"
    assert place_and_date("Cát Hải", vn(2026, 7, 15)) == "Cát Hải, ngày 15 tháng 7 năm 2026"
    # Vietnam's date, not UTC's: 23:30 on the 2nd in UTC is the 3rd in Hà Nội.
    assert place_and_date("Vĩnh Bảo", vn(2026, 12, 3, 6, 30)).endswith("ngày 03 tháng 12 năm 2026")


THURSDAY = [vn(2026, 12, 3, 8), vn(2026, 12, 3, 8, 30), vn(2026, 12, 3, 9), vn(2026, 12, 3, 9, 30)]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Status.SUBMITTED, Slip.Kind.ACKNOWLEDGEMENT),
        (Status.RECEIVED, Slip.Kind.RECEIPT),
        (Status.REFUSED, Slip.Kind.REFUSAL),
        (Status.SUPPLEMENT_REQUESTED, Slip.Kind.SUPPLEMENT),
        (Status.STOPPED, Slip.Kind.STOP),
        (Status.RETURNED, Slip.Kind.CONTROL),
    ],
)
def test_every_slip_has_the_place_and_date_line(make_dossier, status, kind):
    times = [*THURSDAY, *[vn(2026, 12, 3, 10, m) for m in range(0, 50, 10)]]
    dossier = make_dossier(status, times=times)
    text = words(slips.render_content(dossier, kind))
    assert "Vĩnh Bảo, ngày 03 tháng 12 năm 2026" in text


def test_the_apology_has_the_place_and_date_line(make_dossier, specialist):
    dossier = make_dossier(Status.PROCESSING, times=THURSDAY)
    calendar = WorkCalendar.current()
    new_due = calendar.closing(calendar.next_working_day(dossier.due_at.astimezone(VN).date()))
    with clock.frozen(vn(2026, 12, 4, 9)):
        services.dossier_reschedule(
            actor=actor(specialist), dossier=dossier, new_due_at=new_due, reason="Chờ xác minh"
        )
    text = words(slips.render_content(dossier, Slip.Kind.APOLOGY))
    assert "Vĩnh Bảo, ngày 04 tháng 12 năm 2026" in text


def test_the_acknowledgement_says_received_not_accepted(make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    text = words(slips.render_content(dossier, Slip.Kind.ACKNOWLEDGEMENT))
    assert "GIẤY XÁC NHẬN ĐÃ NHẬN HỒ SƠ" in text
    assert "đã nhận (chưa tiếp nhận) hồ sơ của" in text
    assert "Đã nhận, chờ cán bộ một cửa kiểm tra, tiếp nhận" in text
    assert "đã tiếp nhận" not in text and "NGƯỜI TIẾP NHẬN" not in text


# --- 3. links from the request in development, from the setting in production ------------------


def qr_codes(slip: Slip) -> list[str]:
    with slip.file.open("rb") as handle:
        return _images_and_qr(handle.read())[1]


def lookup_url(base: str, dossier) -> str:
    return f"{base}/lookup/?code={dossier.code}&key={dossier.lookup_key}"


@pytest.mark.parametrize(
    ("debug", "expected"),
    [(True, "http://127.0.0.1:8765"), (False, "https://motcua.example.gov.vn")],
)
def test_slip_and_email_links_point_at_the_right_site(
    client, settings, make_dossier, reception, debug, expected
):
    settings.DEBUG = debug
    settings.ONESTOP_PUBLIC_URL = "https://motcua.example.gov.vn"
    dossier = make_dossier(Status.SUBMITTED)
    client.force_login(reception)
    response = client.post(
        f"/office/dossiers/{dossier.pk}/act/receive/",
        {"version": dossier.version},
        HTTP_HOST="127.0.0.1:8765",  # a development server on another port
    )
    assert response.status_code == 302
    run_jobs()  # the worker: no request, the address travelled with the job
    dossier.refresh_from_db()
    assert qr_codes(Slip.objects.get(dossier=dossier, kind=Slip.Kind.RECEIPT)) == [
        lookup_url(expected, dossier)
    ]
    email = OutgoingEmail.objects.get(event__event_type=EventType.RECEIVED)
    assert f"{expected}/lookup/?code={dossier.code}" in email.body


def test_a_slip_rendered_on_download_in_development_links_to_that_server(
    client, settings, make_dossier, cast
):
    settings.DEBUG = True
    dossier = make_dossier(Status.SUBMITTED)  # its slip job has not run
    client.force_login(cast.citizen)
    response = client.get(
        f"/my/dossiers/{dossier.pk}/slips/acknowledgement.pdf", HTTP_HOST="localhost:9000"
    )
    assert response.status_code == 200
    assert _images_and_qr(b"".join(response.streaming_content))[1] == [
        lookup_url("http://localhost:9000", dossier)
    ]


@pytest.mark.parametrize(
    ("debug", "value", "fails"),
    [
        (False, "", True),
        (False, "motcua.example.gov.vn", True),
        (False, "ftp://motcua.example.gov.vn", True),
        (False, "https://motcua.example.gov.vn/?x=1", True),
        (False, "https://admin:secret@motcua.example.gov.vn", True),
        (False, "https://motcua.example.gov.vn", False),
        (False, "http://127.0.0.1:8000/", False),
        (True, "", False),  # development takes the request's address
    ],
)
def test_production_needs_a_valid_public_url(settings, debug, value, fails):
    from dossiers.checks import check_public_url

    settings.DEBUG, settings.ONESTOP_PUBLIC_URL = debug, value
    errors = check_public_url()
    assert [e.id for e in errors] == (["onestop.E002"] if fails else [])
