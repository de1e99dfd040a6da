"""In a real browser: a citizen downloads the signed result of a returned dossier, and the public
verification page calls it genuine; a copy with one byte changed is called modified."""

import pytest

from dossiers.workflow import Status

from . import signing_ca as ca_support
from .test_accessibility import violations

pytestmark = pytest.mark.django_db(transaction=True)

# The test CA (signing_ca.py), used here by name.
signing_ca = ca_support.signing_ca


def test_the_verification_page_checks_a_downloaded_result(
    live_server, browser_page, screenshot, signing_ca, commune, make_dossier, tmp_path
):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RETURNED)
    page, base = browser_page, live_server.url

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("citizen")
    page.get_by_label("Mật khẩu").fill("onestop-test")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/my/dossiers/")
    page.goto(f"{base}/my/dossiers/{dossier.pk}/")
    assert page.get_by_text("Đã ký số", exact=True).is_visible()
    link = page.locator("h2:text-is('Kết quả giải quyết') + p + ul a").first
    response = page.request.get(base + link.get_attribute("href"))
    assert response.ok
    signed = tmp_path / "ket-qua.pdf"
    signed.write_bytes(response.body())

    # Public: no login needed (a bank, say); the citizen logs out first.
    page.context.clear_cookies()
    page.goto(f"{base}/verify/")
    page.get_by_label("Văn bản điện tử cần kiểm tra (tệp PDF)").set_input_files(str(signed))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_load_state()
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-outcome") == "genuine"
    assert "Văn bản chính xác" in verdict.inner_text()
    assert commune.name in verdict.inner_text()
    assert violations(page) == []
    screenshot(page, "citizen-12-verified-result")

    content = bytearray(signed.read_bytes())
    at = bytes(content).index(b"/MediaBox")
    content[at + 1] = ord("m")
    tampered = tmp_path / "ket-qua-sua.pdf"
    tampered.write_bytes(bytes(content))
    page.goto(f"{base}/verify/")
    page.get_by_label("Văn bản điện tử cần kiểm tra (tệp PDF)").set_input_files(str(tampered))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("#verdict").get_attribute("data-outcome") == "modified"
    assert "Không xác thực được" in page.locator("#verdict").inner_text()
    assert violations(page) == []
