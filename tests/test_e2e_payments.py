"""In a real browser: the citizen sees what a dossier owes (amount, due date, a VietQR code),
presses "pay online", pays on the test gateway's page (tests/payment_gateway.py) and comes back
to a paid dossier with its electronic receipt."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from dossiers import vietqr
from dossiers.models import Dossier, Payment
from dossiers.workflow import Status
from tests.payment_gateway import PaymentGateway, new_secret
from tests.test_payments import decode_svg

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = new_secret()


@pytest.fixture
def gateway(settings):
    with PaymentGateway(secret=SECRET, merchant="ONESTOP-E2E") as peer:
        settings.ONESTOP_PAYMENT_GATEWAY_URL = peer.pay_url
        settings.ONESTOP_PAYMENT_GATEWAY_MERCHANT = "ONESTOP-E2E"
        settings.ONESTOP_PAYMENT_GATEWAY_SECRET = SECRET
        yield peer


@pytest.fixture
def owing(make_dossier, fee_later_procedure, commune):
    commune.bank_account_number = "0011001234567"
    commune.bank_name = "Vietcombank"
    commune.bank_beneficiary = "UBND xã Vĩnh Bảo"
    commune.bank_bin = "970436"
    commune.save()
    return make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure)


def test_citizen_pays_online_and_gets_the_receipt(
    live_server, browser_page, screenshot, gateway, owing, citizen
):
    page, base = browser_page, live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("citizen")
    page.get_by_label("Mật khẩu").fill("onestop-test")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/my/dossiers/")
    page.goto(f"{base}/my/dossiers/{owing.pk}/")

    assert page.get_by_test_id("amount-due").inner_text() == "15.000 đồng"
    svg = page.locator("figure.vietqr svg").evaluate("node => node.outerHTML")
    assert vietqr.parse(decode_svg(svg)).reference == owing.code
    assert page.locator("figure.vietqr svg").bounding_box()["width"] > 100
    screenshot(page, "citizen-payment-due")

    page.get_by_role("button", name="Thanh toán trực tuyến").click()
    page.wait_for_url(f"{gateway.pay_url}?**")
    assert page.locator("#amount").inner_text() == "15000"
    page.get_by_role("button", name="Thanh toán").click()

    page.wait_for_url(f"**/my/dossiers/{owing.pk}/pay/return/")
    assert page.get_by_text("Đã ghi nhận khoản nộp").is_visible()
    assert Dossier.objects.get(pk=owing.pk).status == Status.PROCESSING
    paid = Payment.objects.get()
    link = page.get_by_role("link", name=f"Biên lai điện tử số {paid.receipt_number} (PDF)")
    with page.expect_download() as download_info:
        link.click(modifiers=["Alt"])
    text = " ".join(p.extract_text() for p in PdfReader(download_info.value.path()).pages)
    assert paid.transaction_id in text and owing.code in text and "15.000" in text

    page.get_by_role("link", name="Về trang hồ sơ").click()
    assert page.get_by_text("Các khoản đã nộp").is_visible()
    assert page.locator("figure.vietqr").count() == 0  # nothing owed any more


def test_payment_pages_fit_both_widths_and_pass_axe(live_server, browser_page, settings):
    from django.core.management import call_command

    from tests.test_design import Walk

    settings.ONESTOP_PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/pay"  # offered, never followed
    settings.ONESTOP_PAYMENT_GATEWAY_MERCHANT = "ONESTOP-DEMO"
    settings.ONESTOP_PAYMENT_GATEWAY_SECRET = SECRET
    call_command("seed_demo", "--force", "--dossiers", "20")
    walk = Walk(browser_page, live_server.url)
    owing = Dossier.objects.filter(
        applicant_user__username="citizen", status=Status.AWAITING_PAYMENT
    ).first()
    walk.log_in("citizen")
    walk.check(f"/my/dossiers/{owing.pk}/", shot_phone="look-08-citizen-payment-phone")
    assert walk.page.locator("figure.vietqr svg").count() == 1
    walk.check(f"/my/dossiers/{owing.pk}/pay/return/")
    walk.log_in("reception")
    office = Dossier.objects.filter(
        status=Status.AWAITING_PAYMENT, receiving_agency__code="000.00.01.H27"
    ).first()
    walk.check(f"/office/dossiers/{office.pk}/")
    walk.check("/office/payments/import/")
    assert walk.problems == []
