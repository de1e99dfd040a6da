"""In a real browser: a citizen who holds an issued result files a procedure asking for that paper
and chooses the stored one instead of uploading it."""

import pytest

from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.models import Dossier
from dossiers.workflow import Status

from .document_store import holder_of_result, procedure_asking_for
from .helpers import browser_log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_citizen_files_a_dossier_choosing_a_stored_document(
    live_server, browser_page, screenshot, cast, commune, tmp_path
):
    entry = holder_of_result(cast=cast, agency=commune)
    asking, paper = procedure_asking_for(entry.document_type)
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "citizen")
    page.goto(f"{base}/procedures/{asking.code}/apply/")

    offer = page.get_by_label(f"Dùng giấy tờ đã có: {entry.title} số {entry.number}")
    assert offer.is_visible()
    offer.check()
    form = tmp_path / "to-khai.pdf"
    form.write_bytes(MINIMAL_PDF)
    page.locator(f"#doc_{asking.documents.get(order=1).pk}").set_input_files(str(form))
    screenshot(page, "citizen-11-apply-reusing-a-stored-paper")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url("**/my/dossiers/*/")

    dossier = Dossier.objects.get(procedure=asking)
    assert dossier.status == Status.SUBMITTED
    reused = dossier.attachments.get(document=paper)
    assert reused.reused_from == entry and reused.sha256 == entry.sha256
    assert page.get_by_text(f"Mã hồ sơ của bạn: {dossier.code}").is_visible()
