"""In a real browser: a citizen answers a supplement request during processing; the time limit
restarts, a new receipt-and-appointment slip is issued, and the date it prints is the date the
dossier page shows, the older slips listed as superseded."""

import io
import re

import pytest
from pypdf import PdfReader

from dossiers import clock
from dossiers.demo import scenarios
from dossiers.models import Dossier, Slip
from dossiers.workflow import Status

from .conftest import vn
from .worker import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_new_appointment_slip_prints_the_date_the_page_shows(
    live_server, browser_page, screenshot, make_dossier, cast, tmp_path
):
    # Received on Monday 9 November 2026 (due Thursday 12 at 17:00); a paper asked for on the
    # Tuesday; the citizen answers now, which restarts the time limit.
    monday = [vn(2026, 11, 9, 8), vn(2026, 11, 9, 8, 30), vn(2026, 11, 9, 9)]
    dossier = make_dossier(Status.PROCESSING, times=[*monday, vn(2026, 11, 9, 9, 30)])
    with clock.frozen(vn(2026, 11, 10, 10)):
        scenarios.step(dossier, "request_supplement", cast)
    run_jobs()
    page, base = browser_page, live_server.url

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("citizen")
    page.get_by_label("Mật khẩu").fill("onestop-test")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/my/dossiers/")
    page.goto(f"{base}/my/dossiers/{dossier.pk}/")
    appointment = page.locator("dl.facts dt:text-is('Hẹn trả kết quả') + dd")
    assert appointment.inner_text().startswith("Tạm dừng (chờ bổ sung hồ sơ)")

    requested = dossier.procedure.documents.order_by("order", "id").first()
    scan = tmp_path / "ban-ro-net.pdf"
    scan.write_bytes(scenarios.MINIMAL_PDF)
    page.get_by_label(requested.name).set_input_files(str(scan))
    page.get_by_role("button", name="Gửi bổ sung").click()
    page.wait_for_load_state()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.PROCESSING

    run_jobs()  # the worker renders the slip the supplement's action enqueued
    page.reload()
    shown = appointment.inner_text().strip()
    assert re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}", shown), shown
    assert shown != "17:00 12/11/2026"
    screenshot(page, "citizen-11-new-appointment")

    links = page.get_by_role("link", name=str(Slip.Kind.RECEIPT.label) + " (PDF)")
    assert links.count() == 3
    response = page.request.get(base + links.first.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages).split()
    )
    assert f"Thời gian trả kết quả: {shown}" in text
    assert page.get_by_text("đã được thay thế bởi giấy lập lúc").count() == 2

    oldest = page.request.get(base + links.last.get_attribute("href"))
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(oldest.body())).pages).split()
    )
    assert "Thời gian trả kết quả: 17:00 12/11/2026" in text
