"""Issue 14's "done when", in a real browser with every peer real and on 127.0.0.1: a citizen logs
in through the test e-ID provider (tests/eid_provider.py), files a dossier that reuses a document
from an earlier result (the documents store), pays by the test gateway's signed callback
(tests/payment_gateway.py), and downloads a result signed with a certificate of the test CA
(tests/signing_ca.py) that the public verification page calls genuine; a tampered copy is called
modified. Then the supervisors' dashboard shows the electronic-result, digitisation and reuse
shares on the demo data."""

import re

import pytest

from dossiers.demo import scenarios
from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Dossier, Payment
from dossiers.workflow import Status

from .document_store import holder_of_result, procedure_asking_for
from .eid_provider import running_provider
from .helpers import browser_log_in
from .payment_gateway import PaymentGateway, new_secret

pytestmark = pytest.mark.django_db(transaction=True)

eid_provider = pytest.fixture(running_provider)
SECRET = new_secret()


@pytest.fixture
def gateway(settings):
    with PaymentGateway(secret=SECRET, merchant="ONESTOP-E2E") as peer:
        settings.ONESTOP_PAYMENT_GATEWAY_URL = peer.pay_url
        settings.ONESTOP_PAYMENT_GATEWAY_MERCHANT = "ONESTOP-E2E"
        settings.ONESTOP_PAYMENT_GATEWAY_SECRET = SECRET
        yield peer


def test_e_id_login_reuse_online_payment_and_a_signed_result_end_to_end(
    live_server,
    browser_page,
    screenshot,
    eid_provider,
    gateway,
    signing_ca,
    cast,
    citizen,
    commune,
    tmp_path,
):
    signing_ca.install(signing_ca.dir, commune)
    commune.bank_account_number = "0011001234567"
    commune.bank_name = "Vietcombank"
    commune.bank_beneficiary = "UBND xã Vĩnh Bảo"
    commune.bank_bin = "970436"
    commune.save()
    # The citizen already holds an issued (signed) result; a procedure asks for that paper,
    # requires an e-ID login and charges its fee before the result.
    earlier = holder_of_result(cast=cast, agency=commune)
    asking, paper = procedure_asking_for(earlier.document_type)
    asking.eid_required = True
    asking.fee_vnd, asking.fee_due_later = 25000, True
    asking.save()
    eid_provider.identity.update(
        id_number=citizen.citizen_profile.id_number, name=citizen.citizen_profile.full_name
    )
    page, base = browser_page, live_server.url

    # 1. Log in with the e-ID: the provider vouches for the number of the existing account.
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Đăng nhập bằng VNeID").click()
    page.wait_for_url("**/accounts/profile/**")
    assert page.get_by_label("Họ và tên").is_disabled()

    # 2. File, taking the paper from the store instead of uploading it again.
    page.goto(f"{base}/procedures/{asking.code}/apply/")
    offer = page.get_by_label(f"Dùng giấy tờ đã có: {earlier.title} số {earlier.number}")
    offer.check()
    form = tmp_path / "to-khai.pdf"
    form.write_bytes(MINIMAL_PDF)
    page.locator(f"#doc_{asking.documents.get(order=1).pk}").set_input_files(str(form))
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url("**/my/dossiers/*/")
    dossier = Dossier.objects.get(procedure=asking)
    assert dossier.status == Status.SUBMITTED and dossier.eid_acr == "vneid:level2"
    reused = dossier.attachments.get(document=paper)
    assert reused.reused_from == earlier and reused.sha256 == earlier.sha256

    # The office receives and processes it, and asks for the fee.
    dossier = scenarios.walk(dossier, Status.AWAITING_PAYMENT, cast)

    # 3. Pay on the gateway; its signed callback confirms; the clock restarts.
    page.goto(f"{base}/my/dossiers/{dossier.pk}/")
    assert page.get_by_test_id("amount-due").inner_text() == "25.000 đồng"
    assert page.locator("figure.vietqr svg").count() == 1
    page.get_by_role("button", name="Thanh toán trực tuyến").click()
    page.wait_for_url(f"{gateway.pay_url}?**")
    page.get_by_role("button", name="Thanh toán").click()
    page.wait_for_url(f"**/my/dossiers/{dossier.pk}/pay/return/")
    assert gateway.answers and gateway.answers[0][0] == 200
    payment = Payment.objects.get(dossier=dossier)
    assert payment.amount_vnd == 25000
    dossier.refresh_from_db()
    assert dossier.status == Status.PROCESSING

    # The office proposes, the leader approves (signing the result), reception returns it.
    dossier = scenarios.walk(dossier, Status.RETURNED, cast)

    # 4. The signed result, downloaded from the citizen's page, checked on the public page.
    page.goto(f"{base}/my/dossiers/{dossier.pk}/")
    assert page.get_by_text("Đã ký số", exact=True).is_visible()
    link = page.locator("h2:text-is('Kết quả giải quyết') + p + ul a").first
    response = page.request.get(base + link.get_attribute("href"))
    assert response.ok
    signed = tmp_path / "ket-qua.pdf"
    signed.write_bytes(response.body())
    page.context.clear_cookies()  # the page is public: a bank needs no account

    def verdict_of(path) -> tuple[str, str]:
        page.goto(f"{base}/verify/")
        page.get_by_label("Văn bản điện tử cần kiểm tra (tệp PDF)").set_input_files(str(path))
        page.get_by_role("button", name="Kiểm tra", exact=True).click()
        page.wait_for_load_state()
        verdict = page.locator("#verdict")
        return verdict.get_attribute("data-outcome"), verdict.inner_text()

    outcome, text = verdict_of(signed)
    assert outcome == "genuine" and commune.name in text
    screenshot(page, "issue14-verified-result")
    tampered = bytearray(signed.read_bytes())
    at = bytes(tampered).index(b"/MediaBox")
    tampered[at + 1] = ord("m")
    copy = tmp_path / "ket-qua-sua.pdf"
    copy.write_bytes(bytes(tampered))
    outcome, _text = verdict_of(copy)
    assert outcome == "modified"


def test_the_dashboard_shows_the_decision_766_shares_on_the_demo_data(
    live_server, browser_page, screenshot, settings, tmp_path
):
    from django.core.management import call_command

    from dossiers.integrations import signing

    settings.ONESTOP_SIGNING_DIR = str(tmp_path / "signing")  # as `make run` (DEBUG on)
    signing.forget_cached()
    try:
        call_command("seed_demo", "--force", "--dossiers", "60", stdout=None)
    finally:
        signing.forget_cached()
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "supervisor", "onestop-demo")
    page.goto(f"{base}/supervision/")
    for label in (
        "Tỷ lệ cấp kết quả điện tử (QĐ 766)",
        "Tỷ lệ số hóa hồ sơ (QĐ 766)",
        "Tỷ lệ tái sử dụng giấy tờ đã số hóa (QĐ 766)",
    ):
        term = page.locator("dt", has_text=label)
        assert term.is_visible(), label
        figure = term.locator("xpath=following-sibling::dd[1]").inner_text()
        share = re.match(r"([\d.,]+) %", figure)
        assert share and 0 < float(share.group(1).replace(",", ".")) < 100, (label, figure)
    screenshot(page, "issue14-dashboard-shares")
