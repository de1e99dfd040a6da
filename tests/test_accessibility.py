"""WCAG 2.1 A/AA checks (axe-core, in Debian's chromium) on every citizen page."""

import pytest

from dossiers.models import Dossier
from dossiers.workflow import Status

from .helpers import browser_log_in

pytestmark = pytest.mark.django_db(transaction=True)

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page):
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG).response["violations"]
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found]


def test_citizen_pages_have_no_wcag_violations(live_server, browser_page):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")
    page, base = browser_page, live_server.url
    public = [
        "/procedures/",
        "/procedures/1.004873/",
        "/lookup/",
        "/verify/",
        "/verify/?code=0000-0000-0000",
        "/accounts/sign-up/",
        "/accounts/login/",
    ]
    for url in public:
        page.goto(base + url)
        assert violations(page) == [], url
    page.goto(base + "/lookup/?code=000&key=WRONG")
    assert violations(page) == []

    page.goto(base + "/accounts/login/")
    page.locator("#id_username").fill("citizen")
    page.locator("#id_password").fill("onestop-demo")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/my/dossiers/")
    mine = Dossier.objects.filter(applicant_user__username="citizen")
    pages = ["/my/dossiers/", "/accounts/profile/", "/procedures/1.004222/apply/"]
    for status in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED, Status.RETURNED, Status.PROCESSING):
        dossier = mine.filter(status=status).first()
        pages.append(f"/my/dossiers/{dossier.pk}/")
    pages.append(f"/my/dossiers/{mine.filter(status=Status.RECEIVED).first().pk}/withdraw/")
    for url in pages:
        page.goto(base + url)
        assert violations(page) == [], url


def test_office_pages_have_no_wcag_violations(live_server, browser_page):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "reception", "onestop-demo")  # and the demo authenticator's code
    page.wait_for_url("**/office/")
    dossier = Dossier.objects.filter(
        receiving_agency__code="000.00.01.H27", status=Status.SUBMITTED
    ).first()
    for url in [
        "/office/",
        "/office/?tab=all&q=nguyen",
        f"/office/dossiers/{dossier.pk}/",
        "/office/intake/",
        "/office/intake/1.004873/",
        "/office/register/",
    ]:
        page.goto(base + url)
        assert violations(page) == [], url


def test_supervision_pages_have_no_wcag_violations(live_server, browser_page, screenshot):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "supervisor", "onestop-demo")  # and the demo authenticator's code
    page.wait_for_url("**/supervision/")
    screenshot(page, "supervision-01-dashboard")
    returned = Dossier.objects.filter(status=Status.RETURNED).first()
    for url, shot in [
        ("/supervision/dossiers/?figure=resolved", "supervision-02-drill-down"),
        (f"/supervision/dossiers/{returned.pk}/", "supervision-03-trail"),
        ("/supervision/audit/", "supervision-04-audit-log"),
        ("/supervision/integrity/", "supervision-05-integrity"),
        ("/supervision/access/", "supervision-06-access-log"),  # the trail's read is there
        ("/supervision/integrations/", "supervision-07-integrations"),
    ]:
        page.goto(base + url)
        assert violations(page) == [], url
        screenshot(page, shot)
    page.goto(base + "/supervision/")
    assert violations(page) == []
