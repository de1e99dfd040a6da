"""What a citizen types, in a real browser: an ID number that cannot exist is refused with a
clear message, a lookup key typed from paper in small letters and with spaces is found, the
catalogue forgives "ki"/"ký" and missing accents, and a refused submission leaves no draft."""

import pytest

from dossiers.models import Dossier, Procedure
from dossiers.workflow import Status

from .helpers import browser_log_in

pytestmark = pytest.mark.django_db(transaction=True)


def sign_up(page, base, number, born):
    page.goto(f"{base}/accounts/sign-up/")
    page.get_by_label("Họ và tên").fill("Đặng Thị Thu Hà")
    page.get_by_label("Số định danh cá nhân").fill(number)
    page.get_by_label("Ngày sinh").fill(born)
    page.get_by_label("Số điện thoại").fill("0961234567")
    page.get_by_label("Thư điện tử").fill("thuha@example.vn")
    page.get_by_label("Địa chỉ").fill("Số 9 Trần Phú, xã Vĩnh Bảo, Hải Phòng")
    page.locator("#id_password1").fill("Trang-an-2026!")
    page.get_by_label("Nhập lại mật khẩu").fill("Trang-an-2026!")
    page.get_by_role("button", name="Tạo tài khoản").click()
    page.wait_for_load_state()


def test_impossible_id_numbers_are_refused_in_the_form(live_server, browser_page):
    page, base = browser_page, live_server.url
    for number, born, says in [
        ("000000000000", "1995-03-01", "Ba chữ số đầu (000)"),
        ("999999999999", "1995-03-01", "Ba chữ số đầu (999)"),
        ("031295001234", "1995-03-01", "năm sinh 2095"),
    ]:
        sign_up(page, base, number, born)
        error = page.locator("#id_id_number_error")
        assert error.is_visible() and says in error.inner_text(), number
    assert not Dossier.objects.exists()
    sign_up(page, base, "031195001234", "1995-03-01")
    page.wait_for_url("**/procedures/")


def test_lookup_search_and_a_refused_submission(
    live_server, browser_page, make_dossier, citizen, procedure
):
    page, base = browser_page, live_server.url
    dossier = make_dossier(Status.RECEIVED)
    key = dossier.lookup_key
    page.goto(f"{base}/lookup/")
    page.get_by_label("Mã hồ sơ").fill(f" {dossier.code.lower()} ")
    page.get_by_label("Mã tra cứu (in trên giấy tiếp nhận)").fill(f"{key[:5].lower()} {key[5:]}")
    page.get_by_role("button", name="Tra cứu").click()
    assert page.get_by_role("heading", name="Kết quả tra cứu").is_visible()
    assert page.get_by_text("Được tiếp nhận").first.is_visible()

    procedure.name = "Đăng ký kết hôn"
    procedure.save()
    for typed in ("dang ki ket hon", "ĐĂNG KÍ", "đăng ky"):
        page.goto(f"{base}/procedures/")
        page.get_by_label("Tìm theo tên, mã thủ tục hoặc lĩnh vực").fill(typed)
        page.get_by_role("button", name="Tìm").click()
        assert page.get_by_role("link", name="Đăng ký kết hôn").is_visible(), typed

    drafts = Dossier.objects.filter(applicant_user=citizen, status=Status.DRAFT)
    before = drafts.count()
    browser_log_in(page, base, "citizen")
    page.goto(f"{base}/procedures/{Procedure.objects.get(pk=procedure.pk).code}/apply/")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_load_state()
    assert page.get_by_text("Chưa có gì được lưu").is_visible()
    assert drafts.count() == before  # no stray draft
    page.get_by_role("button", name="Lưu nháp").click()
    page.wait_for_url("**/edit/")
    page.get_by_role("button", name="Lưu nháp").click()
    page.wait_for_load_state()
    assert drafts.count() == before + 1  # one draft for the attempt
