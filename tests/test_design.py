"""The look of every main page, in a real browser at a desktop (1280 px) and a phone (390 px)
width: nothing overflows sideways, axe-core finds no WCAG 2.1 A/AA violation, the office uses
the screen's width; and the header says who is logged in (issue 13, look and feel, items 9, 20).

One seeded demo and one browser for all three roles (cookies cleared between them), so the
walk stays short. ONESTOP_SCREENSHOTS=1 writes the README's screenshots to docs/screenshots/.
"""

import os
import re

import pytest
from django.test.utils import CaptureQueriesContext

from dossiers.models import Dossier
from dossiers.workflow import Status

from .browser import SCREENSHOTS
from .helpers import browser_log_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page) -> list:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG).response["violations"]
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found]


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


class Walk:
    """Visits pages at both widths, collecting every problem so one run reports them all."""

    def __init__(self, page, base):
        self.page, self.base, self.problems = page, base, []
        self.shots = SCREENSHOTS if os.environ.get("ONESTOP_SCREENSHOTS") == "1" else None

    def check(self, url, *, shot_desktop=None, shot_phone=None):
        page = self.page
        for viewport, shot in ((DESKTOP, shot_desktop), (PHONE, shot_phone)):
            page.set_viewport_size(viewport)
            response = page.goto(self.base + url)
            if response.status != 200:
                self.problems.append((url, viewport["width"], f"HTTP {response.status}"))
                continue
            overflow = _overflow(page)
            if overflow > 0:
                self.problems.append((url, viewport["width"], f"{overflow} px too wide"))
            found = _violations(page)
            if found:
                self.problems.append((url, viewport["width"], found))
            if shot and self.shots:
                page.screenshot(path=str(self.shots / f"{shot}.png"))

    def log_in(self, username):
        self.page.context.clear_cookies()
        self.page.set_viewport_size(DESKTOP)
        browser_log_in(self.page, self.base, username, "onestop-demo")


@pytest.mark.django_db(transaction=True)
def test_every_main_page_fits_both_widths_and_passes_axe(live_server, browser_page):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")
    walk = Walk(browser_page, live_server.url)
    vinh_bao = Dossier.objects.filter(receiving_agency__code="000.00.01.H27")

    # Citizen: the public pages, then their own.
    mine = Dossier.objects.filter(applicant_user__username="citizen").exclude(code="")
    looked_up = mine.first()
    walk.check("/procedures/", shot_desktop="look-01-catalogue")
    walk.check("/procedures/1.004873/")
    walk.check(f"/lookup/?code={looked_up.code}&key={looked_up.lookup_key}")
    walk.check("/accounts/login/")
    walk.check("/accounts/sign-up/")
    walk.log_in("citizen")
    walk.check("/my/dossiers/")
    followed = mine.filter(status=Status.SUPPLEMENT_REQUESTED).first()
    walk.check(f"/my/dossiers/{followed.pk}/", shot_desktop="look-02-citizen-dossier")
    walk.check(f"/my/dossiers/{mine.filter(status=Status.RETURNED).first().pk}/")
    walk.check("/procedures/1.004222/apply/")
    walk.check("/accounts/profile/")
    walk.check("/accounts/security/")

    # Official (reception of Xã Vĩnh Bảo): queue, a dossier, intake, register and exports.
    walk.log_in("reception")
    walk.check(
        "/office/?tab=all", shot_desktop="look-03-office-queue", shot_phone="look-06-queue-phone"
    )
    walk.check("/office/?q=nguyen")
    submitted = vinh_bao.filter(status=Status.SUBMITTED).first()
    walk.check(f"/office/dossiers/{submitted.pk}/", shot_desktop="look-04-office-dossier")
    # Refusing stands apart from receiving: a red button, not the navy one.
    page = walk.page

    def colour(action):
        button = page.locator(f"section[aria-labelledby=act-{action}] button[type=submit]")
        return button.evaluate("b => getComputedStyle(b).backgroundColor")

    assert colour("refuse") == "rgb(164, 22, 26)" and colour("receive") == "rgb(10, 74, 143)"
    processing = vinh_bao.filter(status=Status.PROCESSING).first()
    walk.check(f"/office/dossiers/{processing.pk}/")
    walk.check("/office/intake/")
    walk.check("/office/intake/1.004873/")
    walk.check("/office/register/")
    walk.check("/office/exports/")

    # Supervisor: indicators, audit log, a dossier's trail, integrity.
    walk.log_in("supervisor")
    walk.check("/supervision/", shot_desktop="look-05-indicators")
    walk.check("/supervision/dossiers/?figure=resolved")
    walk.check("/supervision/audit/")
    returned = Dossier.objects.filter(status=Status.RETURNED).first()
    walk.check(f"/supervision/dossiers/{returned.pk}/", shot_phone="look-07-trail-phone")
    walk.check("/supervision/integrity/")
    walk.check("/supervision/access/")
    walk.check("/supervision/integrations/")
    walk.check("/supervision/exports/")

    assert walk.problems == []


@pytest.mark.django_db(transaction=True)
def test_the_office_queue_uses_the_desktop_width(live_server, browser_page, reception):
    page, base = browser_page, live_server.url
    browser_log_in(page, base, "reception")
    page.set_viewport_size(DESKTOP)
    page.goto(base + "/office/")
    assert page.locator("main").bounding_box()["width"] >= 1100
    assert page.locator("main table").bounding_box()["width"] >= 1100
    head = page.locator("main table thead th").first
    assert head.evaluate("th => getComputedStyle(th).position") == "sticky"
    # On a phone the rows are stacked, one card per dossier.
    page.set_viewport_size(PHONE)
    row = page.locator("main table tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
    page.set_viewport_size(DESKTOP)
    # A citizen's page keeps a readable measure.
    page.goto(base + "/procedures/")
    assert page.locator("main").bounding_box()["width"] <= 1100


def _header(html: str) -> str:
    return re.search(r"<header class=\"site\">.*?</header>", html, re.S).group(0)


def test_the_header_names_the_official_their_roles_and_commune(client, reception, commune):
    from dossiers.models import Membership
    from dossiers.workflow import Role

    Membership.objects.create(user=reception, agency=commune, role=Role.SPECIALIST)
    reception.first_name = "Phạm Thị Hoa"
    reception.save()
    client.force_login(reception)
    header = _header(client.get("/office/").content.decode())
    assert "Phạm Thị Hoa" in header
    assert "Cán bộ một cửa, Chuyên viên xử lý · " + commune.name in header
    assert "Đăng xuất" in header
    # The search box: a GET form to the queue with `q`, on every page (here a citizen's page).
    header = _header(client.get("/procedures/").content.decode())
    search = re.search(r"<form class=\"header-search\"[^>]*>.*?</form>", header, re.S).group(0)
    assert 'action="/office/"' in search and 'method="get"' in search
    assert 'name="q"' in search
    # It keeps what was searched on the queue.
    header = _header(client.get("/office/?q=Nguyễn").content.decode())
    assert 'value="Nguyễn"' in header


def test_the_header_names_the_citizen_and_offers_no_office_search(client, citizen):
    client.force_login(citizen)
    header = _header(client.get("/my/dossiers/").content.decode())
    assert "Nguyễn Văn An" in header and "Công dân" in header
    assert "header-search" not in header and "Cán bộ" not in header


def test_the_supervisor_header_names_the_province(client, supervisor, province):
    client.force_login(supervisor)
    header = _header(client.get("/supervision/").content.decode())
    assert "Giám sát · " + province.name in header
    assert "header-search" not in header


def test_an_administrator_is_named_without_a_role(client, db):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("quantri", "qt@example.vn", "x")
    client.force_login(admin)
    header = _header(client.get("/procedures/").content.decode())
    assert "quantri" in header and "Công dân" not in header and "header-search" not in header


def test_nobody_logged_in_sees_log_in_not_a_name(client, citizen):
    header = _header(client.get("/procedures/").content.decode())
    assert "Đăng nhập" in header and "Nguyễn Văn An" not in header and "Đăng xuất" not in header


def test_the_header_costs_at_most_one_query(rf, citizen, reception):
    """The context processor: staff roles and agencies in one (cached) membership query, a
    citizen's name in one more at most."""
    from django.db import connection

    from onestop.context_processors import roles

    for user in (reception, citizen):
        request = rf.get("/")
        request.user = type(user).objects.get(pk=user.pk)  # nothing cached yet
        with CaptureQueriesContext(connection) as staff:
            roles(request)
        assert len(staff.captured_queries) <= (1 if user == reception else 2), user
    # An official's page where the view already loaded the memberships: the header adds none.
    request = rf.get("/")
    request.user = type(reception).objects.get(pk=reception.pk)
    from dossiers.permissions import memberships_of

    memberships_of(request.user)
    with CaptureQueriesContext(connection) as queries:
        context = roles(request)
    assert queries.captured_queries == []
    assert context["signed_in"]["posts"][0]["roles"] == ["Cán bộ một cửa"]
