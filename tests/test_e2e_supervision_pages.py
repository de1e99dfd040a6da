"""The supervisor's pages in a real browser: the trail and the integrity page fit a phone (long
hashes wrap), the dashboard's charts draw without one CSP violation, styled by the site's own
style sheet, and pass axe at phone and desktop widths."""

import datetime as dt

import pytest

from dossiers import clock, slips
from dossiers.audit import record_digest
from dossiers.workflow import Status

from .helpers import browser_log_in
from .test_accessibility import violations
from .test_e2e_csp import Watch

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def overflow(page) -> int:
    """How far the page reaches past the viewport's width (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_trail_and_integrity_fit_a_phone(live_server, browser_page, make_dossier, supervisor):
    dossier = make_dossier(Status.RETURNED)
    slips.slip_for(dossier, "receipt")
    record_digest(clock.now().date() - dt.timedelta(days=1))
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "supervisor")
    page.set_viewport_size(PHONE)

    page.goto(f"{base}/supervision/dossiers/{dossier.pk}/")
    assert page.get_by_text("Người thực hiện: hệ thống").first.is_visible()
    assert page.get_by_text("Phiếu: Giấy tiếp nhận hồ sơ và hẹn trả kết quả").is_visible()
    assert overflow(page) == 0
    assert violations(page) == []

    page.goto(f"{base}/supervision/integrity/")
    assert page.locator("table code").first.is_visible()  # the digest, 64 hex characters
    assert overflow(page) == 0
    assert "manage.py" not in page.locator("main").inner_text()
    # What a supervisor can do instead of a command: ask for a run, here.
    page.get_by_role("button", name="Kiểm tra ngay").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").first.is_visible()


def test_dashboard_charts_draw_under_the_csp(live_server, browser_page, make_dossier, supervisor):
    for status in (Status.RETURNED, Status.PROCESSING, Status.SUBMITTED):
        make_dossier(status)
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "supervisor")
    watch = Watch(page)
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        watch.visit(base, "/supervision/")  # no CSP violation, no console error
        charts = page.locator("svg.pygal-chart")
        assert charts.count() == 2 and charts.first.is_visible()
        box = charts.first.bounding_box()
        assert box["width"] > 200 and box["height"] > 80
        # pygal's colours come from /supervision/charts.css: the first series' bars are red.
        fill = page.evaluate(
            "() => getComputedStyle(document.querySelector("
            "'#chart-onestop-trend .serie-0 rect.rect')).fill"
        )
        assert fill == "rgb(139, 26, 26)"
        assert overflow(page) == 0
        assert violations(page) == []
