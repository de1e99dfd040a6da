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


def test_queue_search_sort_intake_look_up_and_approval_in_a_browser(
    live_server,
    make_dossier,
    procedure,
    citizen,
    reception,
    specialist,
    leader,
    browser_page,
    screenshot,
):
    """Issue 13, officials: reception lands on what waits for intake, finds a dossier of another
    tab by searching, sorts by filing time, fills the counter form from a known ID number; the
    queue fits a phone; the leader opens the result before approving, and "stop" stands apart."""
    processing = make_dossier(Status.PROCESSING)
    pending = make_dossier(Status.PENDING_APPROVAL)
    make_dossier(Status.SUBMITTED)
    page, base = browser_page, live_server.url

    log_in(page, base, "reception")
    page.wait_for_url("**/office/")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text().startswith("Chờ tiếp nhận")
    assert page.get_by_role("link", name=processing.code).count() == 0
    page.get_by_text("Lọc và tìm kiếm").click()
    page.get_by_label("Mã hồ sơ, tên hoặc số định danh người nộp").fill(processing.code)
    page.get_by_role("button", name="Lọc", exact=True).click()
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1
    assert rows.get_by_role("link", name=processing.code).is_visible()
    assert "Đang xử lý" in rows.inner_text()
    assert page.get_by_text("trong mọi hàng đợi").is_visible()

    # The queue on a phone: nothing sticks out sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/office/?tab=all")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "office-06-queue-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sorting is a link in the column header (no script), and says its direction.
    page.get_by_role("link", name="Nộp lúc").click()
    assert "order=filed" in page.url
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Nộp lúc")
    page.get_by_role("link", name="Nộp lúc").click()
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Nộp lúc")
    screenshot(page, "office-07-queue-sorted")

    # Counter intake: the ID number brings back the applicant of an earlier dossier.
    page.goto(f"{base}/office/intake/{procedure.code}/")
    page.locator("#id_id_number").fill("031090001234")
    page.get_by_role("button", name="Tra cứu người nộp theo số định danh").click()
    assert page.get_by_label("Họ và tên người nộp").input_value() == "Nguyễn Văn An"
    assert page.get_by_label("Số điện thoại").input_value() == "0912345678"
    assert page.locator("#id_f_full_name").count() == 0  # the name is not asked twice
    screenshot(page, "office-08-intake-look-up")
    log_out(page)

    log_in(page, base, "leader")
    page.wait_for_url("**/office/")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text().startswith("Chờ phê duyệt")
    page.get_by_role("link", name=pending.code).click()
    approve = page.locator("section[aria-labelledby=act-approve]")
    preview = approve.get_by_role("link", name="ket-qua.pdf")
    opened = page.request.get(base + preview.get_attribute("href"))
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    stop = page.locator(".danger-zone section[aria-labelledby=act-stop] button[type=submit]")
    assert stop.get_attribute("class") == "button-danger"
    assert page.locator(".danger-zone section[aria-labelledby=act-approve]").count() == 0
    screenshot(page, "office-09-approve")
    approve.locator("button[type=submit]").click()
    assert Dossier.objects.get(pk=pending.pk).status == Status.RESOLVED
