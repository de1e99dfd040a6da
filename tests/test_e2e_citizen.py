"""End to end in a real browser: a new citizen signs up, applies with an upload, submits,
downloads the receipt and finds the dossier in their list."""

import io

import pytest
from pypdf import PdfReader

from dossiers.demo import catalogue
from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Dossier
from dossiers.workflow import Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_catalogue(db):
    catalogue.load_agencies()
    catalogue.load_procedures()


def test_citizen_files_a_dossier_and_gets_the_receipt(
    live_server, demo_catalogue, browser_page, screenshot, tmp_path
):
    page = browser_page
    base = live_server.url

    page.goto(f"{base}/accounts/sign-up/")
    page.get_by_label("Họ và tên").fill("Đặng Thị Thu Hà")
    page.get_by_label("Số định danh cá nhân").fill("031201005555")
    page.get_by_label("Ngày sinh").fill("2001-08-19")
    page.get_by_label("Số điện thoại").fill("0961234567")
    page.get_by_label("Thư điện tử").fill("thuha@example.vn")
    page.get_by_label("Địa chỉ").fill("Số 9 Trần Phú, xã Vĩnh Bảo, Hải Phòng")
    page.locator("#id_password1").fill("Trang-an-2026!")
    page.get_by_label("Nhập lại mật khẩu").fill("Trang-an-2026!")
    screenshot(page, "citizen-01-sign-up")
    page.get_by_role("button", name="Tạo tài khoản").click()
    page.wait_for_url("**/procedures/")

    page.get_by_label("Tìm theo tên, mã thủ tục hoặc lĩnh vực").fill("dang ky thuong tru")
    page.get_by_role("button", name="Tìm").click()
    screenshot(page, "citizen-02-catalogue")
    page.get_by_role("link", name="Đăng ký thường trú").click()
    screenshot(page, "citizen-03-procedure")
    page.get_by_role("button", name="Bắt đầu nộp hồ sơ").click()

    # The profile pre-fills the form; the citizen adds the rest and the required paper.
    assert page.get_by_label("Họ và tên người yêu cầu *").input_value() == "Đặng Thị Thu Hà"
    page.get_by_label("Địa chỉ đăng ký thường trú *").fill("Số 9 Trần Phú, xã Vĩnh Bảo")
    scan = tmp_path / "to-khai-CT01.pdf"
    scan.write_bytes(MINIMAL_PDF)
    page.locator("input[type=file]").first.set_input_files(str(scan))
    screenshot(page, "citizen-04-apply")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url("**/my/dossiers/*/")
    screenshot(page, "citizen-05-submitted")

    dossier = Dossier.objects.get(applicant_user__username="031201005555")
    assert dossier.status == Status.SUBMITTED
    assert page.get_by_text(f"Mã hồ sơ của bạn: {dossier.code}").is_visible()

    receipt_link = page.get_by_role("link", name="Giấy xác nhận đã nhận hồ sơ (PDF)")
    response = page.request.get(base + receipt_link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "Đặng Thị Thu Hà" in text and "Đăng ký thường trú" in text and dossier.code in text

    page.get_by_role("link", name="Hồ sơ của tôi").first.click()
    page.wait_for_url("**/my/dossiers/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=dossier.code))
    assert row.get_by_text("Mới đăng ký").is_visible()
    screenshot(page, "citizen-06-my-dossiers")

    page.goto(f"{base}/lookup/?code={dossier.code}&key={dossier.lookup_key}")
    assert page.locator("dl.facts").get_by_text("Mới đăng ký").is_visible()
    # The lookup shows no personal data (the header names whoever is logged in, here herself).
    assert "Đặng Thị Thu Hà" not in page.locator("main").inner_html()
    screenshot(page, "citizen-07-lookup")


def test_demo_citizen_sees_every_status(live_server, browser_page, screenshot):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")
    page, base = browser_page, live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("citizen")
    page.get_by_label("Mật khẩu").fill("onestop-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/my/dossiers/")
    table = page.locator("table")
    for status in Status:
        label = str(status.label)
        assert table.get_by_text(label, exact=True).first.is_visible(), label
    assert table.get_by_text("Quá hạn").count() + table.get_by_text("Sắp đến hạn").count() >= 1
    screenshot(page, "citizen-08-demo-list")

    for status, name in [
        (Status.SUPPLEMENT_REQUESTED, "citizen-09-supplement-requested"),
        (Status.RETURNED, "citizen-10-returned"),
    ]:
        dossier = Dossier.objects.filter(applicant_user__username="citizen", status=status).first()
        page.goto(f"{base}/my/dossiers/{dossier.pk}/")
        heading = {Status.SUPPLEMENT_REQUESTED: "Bổ sung hồ sơ", Status.RETURNED: "Quá trình xử lý"}
        assert page.get_by_role("heading", name=heading[status]).is_visible()
        screenshot(page, name)
