"""End to end in a real browser: reception receives the dossier a citizen filed, the specialist
proposes, the leader approves, reception returns the result, and the citizen sees it returned."""

import pytest

from dossiers.models import Dossier
from dossiers.workflow import Status

from .helpers import browser_log_in

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, base, username):
    browser_log_in(page, base, username)


def log_out(page):
    page.get_by_role("button", name="Đăng xuất").click()


def open_from_tab(page, base, tab, code):
    page.goto(f"{base}/office/?tab={tab}")
    page.get_by_role("link", name=code).click()


def test_dossier_from_reception_to_return(
    live_server,
    make_dossier,
    citizen,
    reception,
    specialist,
    leader,
    browser_page,
    screenshot,
    tmp_path,
):
    dossier = make_dossier(Status.SUBMITTED)
    page, base = browser_page, live_server.url

    log_in(page, base, "reception")
    page.wait_for_url("**/office/")
    screenshot(page, "office-01-queue")
    open_from_tab(page, base, "receive", dossier.code)
    screenshot(page, "office-02-dossier")
    page.locator("section[aria-labelledby=act-receive] button[type=submit]").click()
    assert page.get_by_text("Đã thực hiện: Tiếp nhận").is_visible()
    page.locator("section[aria-labelledby=act-assign]").get_by_label(
        "Chuyên viên xử lý"
    ).select_option(label="Specialist")
    page.locator("section[aria-labelledby=act-assign] button[type=submit]").click()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.PROCESSING
    log_out(page)

    log_in(page, base, "specialist")
    open_from_tab(page, base, "mine", dossier.code)
    propose = page.locator("section[aria-labelledby=act-propose]")
    propose.get_by_label("Giải quyết", exact=True).check()
    result = tmp_path / "giay-xac-nhan.pdf"
    from dossiers.demo.scenarios import MINIMAL_PDF

    result.write_bytes(MINIMAL_PDF)
    propose.locator("input[type=file]").set_input_files(str(result))
    screenshot(page, "office-03-propose")
    propose.locator("button[type=submit]").click()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.PENDING_APPROVAL
    log_out(page)

    log_in(page, base, "leader")
    open_from_tab(page, base, "approve", dossier.code)
    page.locator("section[aria-labelledby=act-approve] button[type=submit]").click()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RESOLVED
    log_out(page)

    log_in(page, base, "reception")
    open_from_tab(page, base, "return", dossier.code)
    page.locator("section[aria-labelledby=act-return_result]").get_by_label(
        "Hình thức trả kết quả"
    ).select_option("counter")
    page.locator("section[aria-labelledby=act-return_result] button[type=submit]").click()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RETURNED
    screenshot(page, "office-04-returned")
    log_out(page)

    log_in(page, base, "citizen")
    page.wait_for_url("**/my/dossiers/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=dossier.code))
    assert row.get_by_text("Đã trả kết quả").is_visible()
    page.get_by_role("link", name=dossier.code).click()
    assert page.get_by_role("heading", name="Kết quả giải quyết").is_visible()
    assert page.get_by_role("heading", name="Đánh giá mức độ hài lòng").is_visible()
    screenshot(page, "office-05-citizen-sees-result")
