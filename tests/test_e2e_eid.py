"""End to end in a real browser: a citizen clicks the e-ID button on the login page, goes to the
test provider on 127.0.0.1 (tests/eid_provider.py) and back, lands logged in with a new
account, completes the contact details, and files a dossier of a procedure that requires an
e-ID login; the dossier keeps the login's assurance level."""

import pytest

from citizens.models import CitizenProfile
from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Dossier
from dossiers.workflow import Status

from .eid_provider import running_provider

pytestmark = pytest.mark.django_db(transaction=True)

eid_provider = pytest.fixture(running_provider)


def test_citizen_logs_in_with_e_id_and_files_with_its_assurance_level(
    live_server, eid_provider, procedure, commune, browser_page, screenshot, tmp_path
):
    procedure.eid_required = True
    procedure.eid_min_acr = "vneid:level2"
    procedure.save()
    eid_provider.identity.update(
        sub="vneid-sub-7777",
        id_number="031201005555",
        name="Đặng Thị Thu Hà",
        birthdate="2001-08-19",
    )
    page, base = browser_page, live_server.url

    page.goto(f"{base}/accounts/login/")
    screenshot(page, "eid-01-login")
    page.get_by_role("link", name="Đăng nhập bằng VNeID").click()
    # To the provider on 127.0.0.1 and back: a new account, whose contact details are asked for.
    page.wait_for_url("**/accounts/profile/")
    assert page.get_by_label("Họ và tên").is_disabled()
    assert page.get_by_label("Họ và tên").input_value() == "Đặng Thị Thu Hà"
    page.get_by_label("Số điện thoại").fill("0961234567")
    page.get_by_label("Thư điện tử").fill("thuha@example.vn")
    page.get_by_label("Địa chỉ").fill("Số 9 Trần Phú, xã Vĩnh Bảo, Hải Phòng")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**/accounts/profile/")
    profile = CitizenProfile.objects.get(id_number="031201005555")
    assert profile.eid_subject == "vneid-sub-7777" and profile.phone == "0961234567"

    page.goto(f"{base}/procedures/{procedure.code}/apply/")
    name = page.get_by_label("Họ và tên *")
    assert name.is_disabled() and name.input_value() == "Đặng Thị Thu Hà"
    page.get_by_label("Mục đích sử dụng *").select_option("Kết hôn")
    scan = tmp_path / "to-khai.pdf"
    scan.write_bytes(MINIMAL_PDF)
    page.locator("input[type=file]").first.set_input_files(str(scan))
    screenshot(page, "eid-02-apply")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url("**/my/dossiers/*/")
    screenshot(page, "eid-03-submitted")

    dossier = Dossier.objects.get(applicant_user=profile.user)
    assert dossier.status == Status.SUBMITTED
    assert dossier.eid_acr == "vneid:level2"
    assert dossier.applicant["full_name"] == "Đặng Thị Thu Hà"
    assert dossier.events.get(event_type="dossier.submitted").data["eid_acr"] == "vneid:level2"
