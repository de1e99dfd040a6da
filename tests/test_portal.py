"""The citizen portal through its pages: accounts, catalogue, apply, receipt, follow, lookup."""

import hashlib
import io
import re
from urllib.parse import quote

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from citizens.models import CitizenProfile
from dossiers import services
from dossiers.demo.scenarios import MINIMAL_PDF, new_draft, pdf_upload
from dossiers.models import Attachment, Dossier, DossierEvent, Slip
from dossiers.workflow import Status

from .conftest import actor


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen)
    return client


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- accounts --------------------------------------------------------------------------------

SIGN_UP = {
    "full_name": "Lê Thị Hồng Nhung",
    "id_number": "031199007777",
    "date_of_birth": "1999-04-30",
    "phone": "0934567890",
    "email": "nhung@example.vn",
    "address": "Số 5 Lạch Tray, phường Hồng Bàng, Hải Phòng",
    "password1": "Hoa-sen-2026!",
    "password2": "Hoa-sen-2026!",
}


def test_sign_up_creates_account_and_profile_and_logs_in(client, db):
    response = client.post("/accounts/sign-up/", SIGN_UP, follow=True)
    assert response.status_code == 200
    profile = CitizenProfile.objects.get(id_number="031199007777")
    assert profile.full_name == "Lê Thị Hồng Nhung" and profile.user.username == "031199007777"
    assert response.context["user"] == profile.user
    client.logout()
    assert client.login(username="031199007777", password="Hoa-sen-2026!")


@pytest.mark.parametrize(
    ("next_page", "lands_on"),
    [
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("https:/\\evil.example/", "/"),
        ("/my/dossiers/", "/my/dossiers/"),
    ],
)
def test_sign_up_goes_on_only_to_this_site(client, db, next_page, lands_on):
    response = client.post(f"/accounts/sign-up/?next={quote(next_page)}", SIGN_UP)
    assert response.status_code == 302
    assert response["Location"] == lands_on or (
        lands_on == "/" and response["Location"] == reverse("citizens:catalogue")
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "12345"}, "id_number"),
        ({"id_number": "03119900777a"}, "id_number"),
        ({"password2": "khac-hoan-toan"}, "password2"),
        ({"password1": "123", "password2": "123"}, "password1"),
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"full_name": ""}, "full_name"),
    ],
)
def test_sign_up_errors_are_shown_next_to_fields(client, db, change, field):
    response = client.post("/accounts/sign-up/", {**SIGN_UP, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "Lê Thị Hồng Nhung" in response.content.decode() or field == "full_name"  # input kept
    assert not CitizenProfile.objects.filter(id_number=SIGN_UP["id_number"]).exists()


def test_sign_up_twice_with_one_id_number(client, citizen):
    taken = {"id_number": "031090001234", "date_of_birth": "1990-05-17"}  # the fixture's
    response = client.post("/accounts/sign-up/", {**SIGN_UP, **taken})
    assert response.status_code == 200
    assert "đã có tài khoản" in str(response.context["form"].errors["id_number"])


def test_profile_is_edited_once_and_prefills_the_application(signed_in, citizen, procedure):
    response = signed_in.post(
        "/accounts/profile/",
        {
            "full_name": "Nguyễn Văn An",
            "date_of_birth": "1990-05-17",
            "phone": "0977000111",
            "email": "an.moi@example.vn",
            "address": "Thôn Tây, xã Vĩnh Bảo",
            "id_number": "999999999999",  # ignored: the ID number is not editable
        },
    )
    assert response.status_code == 302
    profile = CitizenProfile.objects.get(user=citizen)
    assert (profile.phone, profile.id_number) == ("0977000111", "031090001234")
    page = signed_in.get(f"/procedures/{procedure.code}/apply/")
    assert page.context["form"].initial["f_full_name"] == "Nguyễn Văn An"


def test_password_reset_sends_an_email(client, citizen):
    response = client.post("/accounts/password-reset/", {"email": "citizen@example.vn"})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/accounts/reset/\S+/", message.body).group(0)
    form_page = client.get(link.split("testserver")[-1], follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]


def test_login_page_and_anonymous_redirects(client, db):
    assert client.get("/accounts/login/").status_code == 200
    response = client.get("/my/dossiers/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_search_is_accent_insensitive(client, procedure, paused_procedure):
    found = client.get("/procedures/", {"q": "xac nhan tinh trang HON NHAN"})
    assert [p.code for p in found.context["page"]] == [procedure.code]
    by_code = client.get("/procedures/", {"q": "1.004837"})
    assert [p.code for p in by_code.context["page"]] == [paused_procedure.code]
    by_sector = client.get("/procedures/", {"sector": "Hộ tịch"})
    assert by_sector.context["page"].paginator.count == 2
    assert (
        client.get("/procedures/", {"q": "không có thủ tục này"}).context["page"].paginator.count
        == 0
    )


def test_procedure_detail(client, procedure):
    page = client.get(f"/procedures/{procedure.code}/").content.decode()
    assert procedure.name in page and "15.000 đồng" in page and "3 ngày làm việc" in page
    assert "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân" in page
    assert client.get("/procedures/9.999999/").status_code == 404


def test_inactive_procedures_are_hidden(client, procedure):
    procedure.active = False
    procedure.save()
    assert client.get(f"/procedures/{procedure.code}/").status_code == 404
    assert client.get("/procedures/").context["page"].paginator.count == 0


# --- apply -----------------------------------------------------------------------------------


def _apply_data(procedure, commune, **extra):
    data = {
        "agency": commune.pk,
        "f_full_name": "Nguyễn Văn An",
        "f_purpose": "Kết hôn",
        "client_token": "t-1",
    }
    data.update(extra)
    return data


def _required_doc(procedure):
    return procedure.documents.get(required=True, kind="submit")


def test_apply_upload_and_submit(signed_in, citizen, procedure, commune):
    doc = _required_doc(procedure)
    response = signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(
            procedure, commune, intent="submit", **{f"doc_{doc.pk}": pdf_upload("to-khai.pdf")}
        ),
    )
    dossier = Dossier.objects.get(applicant_user=citizen)
    assert response.status_code == 302 and response["Location"] == f"/my/dossiers/{dossier.pk}/"
    assert dossier.status == Status.SUBMITTED and dossier.code
    assert dossier.form_data == {"full_name": "Nguyễn Văn An", "purpose": "Kết hôn"}
    assert dossier.attachments.get().original_name == "to-khai.pdf"


def test_wrong_file_keeps_everything_entered(signed_in, citizen, procedure, commune):
    doc = _required_doc(procedure)
    fake = SimpleUploadedFile("to-khai.pdf", b"GIF89a not really a pdf", "application/pdf")
    response = signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(procedure, commune, intent="submit", **{f"doc_{doc.pk}": fake}),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "không đúng định dạng" in html  # the message next to the document
    assert f'id="doc_{doc.pk}_error"' in html and 'aria-invalid="true"' in html
    assert 'value="Nguyễn Văn An"' in html and 'value="Kết hôn" selected' in html  # answers kept
    # A refused first submission leaves no draft behind (issue 13): the page keeps the answers.
    assert not Dossier.objects.filter(applicant_user=citizen).exists()


def test_oversize_file_is_refused_with_a_message(signed_in, citizen, procedure, commune, settings):
    settings.ONESTOP_MAX_FILE_BYTES = 100
    doc = _required_doc(procedure)
    big = SimpleUploadedFile("scan.pdf", MINIMAL_PDF + b" " * 500)
    response = signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(procedure, commune, intent="save", **{f"doc_{doc.pk}": big}),
    )
    assert response.status_code == 400 and "vượt quá" in response.content.decode()


def test_save_draft_then_resume_and_submit(signed_in, citizen, procedure, commune):
    first = signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(procedure, commune, intent="save", f_purpose=""),
    )
    draft = Dossier.objects.get(applicant_user=citizen)
    assert first.status_code == 302 and first["Location"] == f"/my/dossiers/{draft.pk}/edit/"
    assert draft.status == Status.DRAFT and "purpose" not in draft.form_data

    resumed = signed_in.get(f"/my/dossiers/{draft.pk}/edit/")
    assert resumed.context["form"].initial["f_full_name"] == "Nguyễn Văn An"
    assert signed_in.get(f"/my/dossiers/{draft.pk}/").status_code == 302  # a draft opens its form

    missing = signed_in.post(
        f"/my/dossiers/{draft.pk}/edit/", {"f_full_name": "Nguyễn Văn An", "intent": "submit"}
    )
    assert missing.status_code == 400
    errors = missing.context["form"].errors
    assert "f_purpose" in errors
    doc = _required_doc(procedure)
    assert any(row["errors"] for row in missing.context["rows"] if row["document"] == doc)

    done = signed_in.post(
        f"/my/dossiers/{draft.pk}/edit/",
        {
            "f_full_name": "Nguyễn Văn An",
            "f_purpose": "Khác",
            "intent": "submit",
            f"doc_{doc.pk}": pdf_upload(),
        },
    )
    assert done.status_code == 302
    assert Dossier.objects.get(pk=draft.pk).status == Status.SUBMITTED


def test_double_submit_makes_one_dossier(signed_in, citizen, procedure, commune):
    doc = _required_doc(procedure)
    data = _apply_data(procedure, commune, intent="submit")
    signed_in.post(f"/procedures/{procedure.code}/apply/", {**data, f"doc_{doc.pk}": pdf_upload()})
    again = signed_in.post(
        f"/procedures/{procedure.code}/apply/", {**data, f"doc_{doc.pk}": pdf_upload()}
    )
    assert again.status_code == 302
    dossier = Dossier.objects.get(applicant_user=citizen)
    assert again["Location"] == f"/my/dossiers/{dossier.pk}/"
    assert dossier.events.filter(event_type="dossier.submitted").count() == 1
    resubmitted = signed_in.post(f"/my/dossiers/{dossier.pk}/edit/", {"intent": "submit"})
    assert resubmitted.status_code == 302
    assert Dossier.objects.filter(applicant_user=citizen).count() == 1


def test_documents_on_file_are_attached_again(signed_in, citizen, make_dossier, procedure, commune):
    earlier = make_dossier(Status.RETURNED)
    on_file = earlier.attachments.filter(purpose=Attachment.Purpose.APPLICATION).first()
    result = earlier.attachments.get(purpose=Attachment.Purpose.RESULT)
    doc = _required_doc(procedure)
    page = signed_in.get(f"/procedures/{procedure.code}/apply/")
    offered = {a.pk for a in page.context["on_file"]}
    assert {on_file.pk, result.pk} <= offered
    signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(procedure, commune, intent="submit", **{f"reuse_{doc.pk}": str(on_file.pk)}),
    )
    dossier = Dossier.objects.filter(applicant_user=citizen).order_by("-pk").first()
    assert dossier.status == Status.SUBMITTED
    reused = dossier.attachments.get()
    assert (reused.sha256, reused.file.name) == (on_file.sha256, on_file.file.name)


def test_someone_elses_document_cannot_be_reused(signed_in, citizen2, procedure, commune, cast):
    from dossiers.demo.scenarios import Cast

    other = new_draft(
        cast=Cast(
            citizen=citizen2,
            reception=cast.reception,
            specialist=cast.specialist,
            leader=cast.leader,
        ),
        procedure=procedure,
        agency=commune,
    )
    foreign = other.attachments.first()
    doc = _required_doc(procedure)
    response = signed_in.post(
        f"/procedures/{procedure.code}/apply/",
        _apply_data(procedure, commune, intent="save", **{f"reuse_{doc.pk}": str(foreign.pk)}),
    )
    assert response.status_code == 400
    mine = Dossier.objects.get(applicant_user__username="citizen")
    assert not mine.attachments.exists()


# --- receipt ---------------------------------------------------------------------------------


def test_receipt_pdf_has_exact_vietnamese_and_is_rendered_once(signed_in, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    response = signed_in.get(f"/my/dossiers/{dossier.pk}/slips/acknowledgement.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content)
    text = pdf_text(content)
    assert "Nguyễn Văn An" in text
    assert "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and dossier.code in text
    slip = Slip.objects.get(dossier=dossier, kind="acknowledgement")
    event = DossierEvent.objects.get(dossier=dossier, event_type="dossier.slip_rendered")
    assert event.data["sha256"] == slip.sha256 == hashlib.sha256(content).hexdigest()
    again = b"".join(
        signed_in.get(f"/my/dossiers/{dossier.pk}/slips/acknowledgement.pdf").streaming_content
    )
    assert again == content
    assert Slip.objects.filter(dossier=dossier).count() == 1
    assert (
        DossierEvent.objects.filter(dossier=dossier, event_type="dossier.slip_rendered").count()
        == 1
    )


def test_receipt_and_appointment_after_reception(signed_in, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    content = b"".join(
        signed_in.get(f"/my/dossiers/{dossier.pk}/slips/receipt.pdf").streaming_content
    )
    text = pdf_text(content)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    from dossiers.formatting import vn_datetime

    assert vn_datetime(dossier.due_at) in text
    assert "15.000 đồng" in text


def test_slip_is_rendered_by_the_worker_after_the_action(make_dossier, reception):
    from .worker import run_jobs

    dossier = make_dossier(Status.SUBMITTED)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    assert not Slip.objects.filter(dossier=dossier, kind="receipt").exists()  # not in the request
    run_jobs()
    assert Slip.objects.filter(dossier=dossier, kind="receipt").exists()


def test_slips_not_yet_issued_are_404(signed_in, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    assert signed_in.get(f"/my/dossiers/{dossier.pk}/slips/receipt.pdf").status_code == 404
    assert signed_in.get(f"/my/dossiers/{dossier.pk}/slips/nonsense.pdf").status_code == 404


# --- my dossiers -----------------------------------------------------------------------------


def test_list_shows_status_and_badges_with_bounded_queries(
    signed_in, make_dossier, django_assert_max_num_queries
):
    from .conftest import vn

    overdue = make_dossier(
        Status.PROCESSING,
        times=[vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 5), vn(2026, 3, 2, 9), vn(2026, 3, 2, 9, 5)],
    )
    for _i in range(4):
        make_dossier(Status.SUBMITTED)
    with django_assert_max_num_queries(8):
        response = signed_in.get("/my/dossiers/")
    html = response.content.decode()
    assert overdue.code in html and "Quá hạn" in html and "Đang xử lý" in html
    assert len(response.context["rows"]) == 5


def test_detail_timeline_hides_internal_notes(signed_in, make_dossier, reception):
    dossier = make_dossier(Status.RECEIVED)
    services.dossier_add_note(
        actor=actor(reception), dossier=dossier, text="Ghi chú nội bộ: bí mật"
    )
    html = signed_in.get(f"/my/dossiers/{dossier.pk}/").content.decode()
    assert "Hồ sơ được tiếp nhận" in html and "Hẹn trả kết quả" in html
    assert "bí mật" not in html


def test_proposed_result_is_hidden_until_approved(signed_in, make_dossier):
    pending = make_dossier(Status.PENDING_APPROVAL)
    result = pending.attachments.get(purpose=Attachment.Purpose.RESULT)
    assert signed_in.get(f"/my/dossiers/{pending.pk}/files/{result.pk}/").status_code == 404
    returned = make_dossier(Status.RETURNED)
    result = returned.attachments.get(purpose=Attachment.Purpose.RESULT)
    response = signed_in.get(f"/my/dossiers/{returned.pk}/files/{result.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == MINIMAL_PDF


def test_answer_a_supplement_request(signed_in, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[doc.pk], reason="Ảnh mờ"
    )
    page = signed_in.get(f"/my/dossiers/{dossier.pk}/")
    assert doc.name in page.content.decode()
    response = signed_in.post(
        f"/my/dossiers/{dossier.pk}/supplement/",
        {
            "version": dossier.version,
            "note": "Gửi bản rõ nét",
            f"doc_{doc.pk}": pdf_upload("ro.pdf"),
        },
    )
    assert response.status_code == 302
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.status == Status.SUBMITTED
    assert fresh.attachments.filter(purpose=Attachment.Purpose.SUPPLEMENT).count() == 1


def test_supplement_without_the_papers_says_what_is_missing(signed_in, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[doc.pk], reason="Ảnh mờ"
    )
    response = signed_in.post(
        f"/my/dossiers/{dossier.pk}/supplement/", {"version": dossier.version}, follow=True
    )
    assert Dossier.objects.get(pk=dossier.pk).status == Status.SUPPLEMENT_REQUESTED
    assert "Vui lòng tải lên đủ" in response.content.decode()


def test_withdraw_with_confirmation(signed_in, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    confirm = signed_in.get(f"/my/dossiers/{dossier.pk}/withdraw/")
    assert confirm.status_code == 200 and "Xác nhận rút hồ sơ" in confirm.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RECEIVED  # GET changes nothing
    empty = signed_in.post(
        f"/my/dossiers/{dossier.pk}/withdraw/", {"version": dossier.version, "reason": ""}
    )
    assert empty.status_code == 200 and "reason" in empty.context["form"].errors
    done = signed_in.post(
        f"/my/dossiers/{dossier.pk}/withdraw/", {"version": dossier.version, "reason": "Nộp nhầm"}
    )
    assert done.status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).status == Status.WITHDRAWN


def test_stale_withdraw_form_says_reload(signed_in, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    response = signed_in.post(
        f"/my/dossiers/{dossier.pk}/withdraw/",
        {"version": dossier.version, "reason": "x"},
        follow=True,
    )
    assert "tải lại" in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RECEIVED


def test_rating(signed_in, make_dossier):
    dossier = make_dossier(Status.RETURNED)
    page = signed_in.get(f"/my/dossiers/{dossier.pk}/").content.decode()
    assert "Rất hài lòng" in page and "Không hài lòng" in page
    signed_in.post(
        f"/my/dossiers/{dossier.pk}/rate/",
        {"version": dossier.version, "rating": "very_satisfied", "comment": "Nhanh"},
    )
    rated = Dossier.objects.get(pk=dossier.pk)
    assert (rated.rating, rated.rating_comment) == ("very_satisfied", "Nhanh")
    again = signed_in.post(
        f"/my/dossiers/{dossier.pk}/rate/",
        {"version": rated.version, "rating": "unsatisfied"},
        follow=True,
    )
    assert "đã được đánh giá" in again.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).rating == "very_satisfied"


# --- scoping ---------------------------------------------------------------------------------


def test_another_citizens_dossier_is_404_everywhere(client, citizen2, make_dossier):
    dossier = make_dossier(Status.RETURNED)
    attachment = dossier.attachments.exclude(file="").first()
    client.force_login(citizen2)
    for url in [
        f"/my/dossiers/{dossier.pk}/",
        f"/my/dossiers/{dossier.pk}/edit/",
        f"/my/dossiers/{dossier.pk}/withdraw/",
        f"/my/dossiers/{dossier.pk}/files/{attachment.pk}/",
        f"/my/dossiers/{dossier.pk}/slips/receipt.pdf",
        f"/my/dossiers/{dossier.pk}/slips/acknowledgement.pdf",
        "/my/dossiers/999999/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in ("rate", "supplement", "withdraw"):
        assert (
            client.post(
                f"/my/dossiers/{dossier.pk}/{url}/",
                {"version": 1, "rating": "satisfied", "reason": "x"},
            ).status_code
            == 404
        )
    assert Dossier.objects.get(pk=dossier.pk).rating == ""


def test_a_file_of_another_dossier_is_404(signed_in, make_dossier):
    mine = make_dossier(Status.SUBMITTED)
    other = make_dossier(Status.SUBMITTED)
    foreign = other.attachments.first()
    assert signed_in.get(f"/my/dossiers/{mine.pk}/files/{foreign.pk}/").status_code == 404


# --- public lookup ---------------------------------------------------------------------------


def test_lookup_shows_status_without_personal_data(client, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    response = client.get("/lookup/", {"code": dossier.code, "key": dossier.lookup_key.lower()})
    html = response.content.decode()
    assert response.status_code == 200 and "Được tiếp nhận" in html
    for personal in (
        "Nguyễn Văn An",
        "031090001234",
        "0912345678",
        "citizen@example.vn",
        "Thôn Đông",
    ):
        assert personal not in html


def test_lookup_answers_alike_for_wrong_key_and_unknown_code(client, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    wrong_key = client.get("/lookup/", {"code": dossier.code, "key": "AAAAAAAAAA"})
    unknown = client.get("/lookup/", {"code": "000.00.99.H27-990101-0001", "key": "AAAAAAAAAA"})
    assert wrong_key.status_code == unknown.status_code == 404
    assert wrong_key.context["error"] == unknown.context["error"]
    assert dossier.procedure.name not in wrong_key.content.decode()


def test_lookup_is_throttled(client, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    for _i in range(20):
        client.get("/lookup/", {"code": dossier.code, "key": "AAAAAAAAAA"})
    blocked = client.get("/lookup/", {"code": dossier.code, "key": dossier.lookup_key})
    assert blocked.status_code == 429
    assert "quá nhiều lần" in blocked.content.decode()


# --- language --------------------------------------------------------------------------------


def test_vietnamese_by_default_even_for_an_english_browser(client, db):
    response = client.get("/procedures/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="vi">' in response.content.decode()


def test_english_on_request(client, db):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/procedures/"}, follow=True
    )
    html = response.content.decode()
    assert '<html lang="en">' in html and "Administrative procedures" in html


def test_the_receipts_qr_code_opens_the_public_status(signed_in, client, make_dossier):
    """Read the QR code out of the rendered PDF and follow it."""
    import pypdfium2
    import zxingcpp

    dossier = make_dossier(Status.RECEIVED)
    content = b"".join(
        signed_in.get(f"/my/dossiers/{dossier.pk}/slips/receipt.pdf").streaming_content
    )
    image = pypdfium2.PdfDocument(content)[0].render(scale=3).to_pil()
    (qr,) = zxingcpp.read_barcodes(image)
    assert qr.text.startswith("http://127.0.0.1:8000/lookup/?")
    signed_in.logout()
    response = client.get(qr.text.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and response.context["dossier"] == dossier


def test_a_wrong_supplement_file_is_refused_with_its_document(signed_in, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[doc.pk], reason="Ảnh mờ"
    )
    bad = SimpleUploadedFile("x.pdf", b"plain text, not a pdf")
    response = signed_in.post(
        f"/my/dossiers/{dossier.pk}/supplement/",
        {"version": dossier.version, f"doc_{doc.pk}": bad},
        follow=True,
    )
    html = response.content.decode()
    assert doc.name in html and "không đúng định dạng" in html
    assert Dossier.objects.get(pk=dossier.pk).status == Status.SUPPLEMENT_REQUESTED
