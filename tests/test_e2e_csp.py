"""The Content-Security-Policy in a real browser: each role's main pages, the error pages, the
admin and the API docs load without one violation or console error, and still work (forms
submit, the admin's and Swagger UI's scripts run, the slip opens in the PDF viewer)."""

import pytest

from dossiers.models import Dossier
from dossiers.workflow import Status

from .helpers import browser_log_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "onestop-demo"  # seed_demo's accounts


def log_in(page, base, username):
    """The one login step of this file: the password, then staff's second factor."""
    browser_log_in(page, base, username, PASSWORD)


def log_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()


class Watch:
    """Collects CSP violations (the securitypolicyviolation event), console errors and
    warnings, and uncaught script errors of every page the browser opens."""

    def __init__(self, page):
        self.page, self.problems = page, []
        page.expose_function("__cspViolation", lambda v: self.problems.append(("csp", v)))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => window.__cspViolation("
            "`${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`"
            "));"
        )
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(("error", str(error))))

    def _console(self, message):
        if message.type not in ("error", "warning"):
            return
        # Chromium asks every page without an icon link for /favicon.ico (DRF's pages).
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        self.problems.append((message.type, message.text))

    def settle(self):
        """Let queued violation events and console messages reach this side."""
        self.page.evaluate("() => new Promise(done => setTimeout(done, 50))")
        self.page.wait_for_timeout(50)

    def check(self, label):
        self.settle()
        problems, self.problems = self.problems, []
        assert problems == [], label

    def visit(self, base, url, status=200):
        response = self.page.goto(base + url)
        assert response.status == status, url
        assert "'unsafe-inline'" not in response.headers["content-security-policy"], url
        if status != 200:  # Chromium logs the page's own error status as a console error
            self.settle()
            own = f"Failed to load resource: the server responded with a status of {status} "
            self.problems = [
                p for p in self.problems if not (p[0] == "error" and p[1].startswith(own))
            ]
        self.check(url)


@pytest.fixture
def watch(browser_page):
    return Watch(browser_page)


@pytest.fixture
def demo(db):
    from django.core.management import call_command

    call_command("seed_demo", "--force", "--dossiers", "20")


def returned_to_citizen() -> Dossier:
    """A dossier of the demo citizen walked to "returned" (not yet rated), through the services."""
    from django.contrib.auth import get_user_model

    from dossiers.demo.scenarios import Cast, make_dossier
    from dossiers.models import Agency, Procedure

    people = {u.username: u for u in get_user_model().objects.all()}
    cast = Cast(*(people[name] for name in ("citizen", "reception", "specialist", "leader")))
    return make_dossier(
        Status.RETURNED,
        cast=cast,
        procedure=Procedure.objects.get(code="1.004873"),
        agency=Agency.objects.get(code="000.00.01.H27"),
    )


def test_the_watch_sees_what_the_policy_blocks(live_server, demo, watch):
    """The strict policy is enforced in the browser, and the watch below would report it."""
    page = watch.page
    page.goto(live_server.url + "/procedures/")
    watch.check("clean page")
    page.evaluate(
        """() => {
        document.body.insertAdjacentHTML('beforeend', '<p style="color: red">inline</p>');
        const script = document.createElement('script');
        script.textContent = 'window.ranInline = true';
        document.body.append(script);
    }"""
    )
    watch.settle()
    assert not page.evaluate("window.ranInline === true")
    directives = {p[1].split()[0] for p in watch.problems if p[0] == "csp"}
    assert {"style-src-attr", "script-src-elem"} <= directives
    watch.problems.clear()


def test_citizen_pages_and_forms_under_the_policy(live_server, demo, watch):
    page, base = watch.page, live_server.url
    for url in ["/procedures/", "/procedures/1.004873/", "/lookup/", "/accounts/sign-up/"]:
        watch.visit(base, url)
    watch.visit(base, "/accounts/password-reset/")
    watch.visit(base, "/no-such-page/", 404)

    # A GET form and the language switch (a POST form in every page's header).
    watch.visit(base, "/lookup/?code=000&key=WRONG", 404)
    watch.visit(base, "/procedures/")
    page.locator("#language").select_option("en")
    with page.expect_navigation():
        page.locator("form.lang button[type=submit]").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("#language").select_option("vi")
    with page.expect_navigation():
        page.locator("form.lang button[type=submit]").click()
    watch.check("language switch")

    log_in(page, base, "citizen")
    page.wait_for_url("**/my/dossiers/")
    watch.check("login")
    mine = Dossier.objects.filter(applicant_user__username="citizen")
    for url in ["/my/dossiers/", "/accounts/profile/", "/procedures/1.004222/apply/"]:
        watch.visit(base, url)
    for status in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED, Status.PROCESSING):
        watch.visit(base, f"/my/dossiers/{mine.filter(status=status).first().pk}/")
    watch.visit(base, "/my/dossiers/999999/", 404)
    watch.visit(base, "/office/", 403)

    # The rating form: its radio labels were inline-styled (now a class).
    unrated = returned_to_citizen()
    watch.visit(base, f"/my/dossiers/{unrated.pk}/")
    label = page.locator("label.inline").first
    assert label.evaluate("l => getComputedStyle(l).display") == "inline"
    label.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi đánh giá").click()
    watch.check("rating sent")
    assert Dossier.objects.get(pk=unrated.pk).rating != ""

    # The profile form saves.
    page.goto(base + "/accounts/profile/")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    watch.check("profile saved")
    assert page.locator(".messages").is_visible()


def test_office_pages_actions_and_slip_under_the_policy(live_server, demo, watch):
    page, base = watch.page, live_server.url
    log_in(page, base, "reception")
    page.wait_for_url("**/office/")
    watch.check("login")
    for url in [
        "/office/",
        "/office/?tab=all&q=nguyen",
        "/office/intake/",
        "/office/intake/1.004873/",
        "/office/register/",
    ]:
        watch.visit(base, url)
    watch.visit(base, "/supervision/", 403)
    assert page.locator("label.inline").count() == 0  # the 403 page
    page.goto(base + "/office/intake/1.004873/")
    assert page.locator("label.inline").first.evaluate("l => getComputedStyle(l).display") == (
        "inline"
    )

    dossier = Dossier.objects.filter(
        receiving_agency__code="000.00.01.H27", status=Status.SUBMITTED
    ).first()
    watch.visit(base, f"/office/dossiers/{dossier.pk}/")
    with page.expect_navigation():
        page.locator("section[aria-labelledby=act-receive] button[type=submit]").click()
    assert page.get_by_text("Đã thực hiện: Tiếp nhận").is_visible()
    watch.check("received")
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RECEIVED

    # The receipt opens in the browser's PDF viewer (the policy is on the PDF too).
    page.get_by_role("link", name="Giấy tiếp nhận hồ sơ và hẹn trả kết quả").click()
    page.wait_for_url("**.pdf")
    for _ in range(100):  # Chromium's viewer is a frame of its own (an extension's page)
        if any(frame.url.startswith("chrome-extension://") for frame in page.frames):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the slip did not open in the PDF viewer")
    watch.check("slip")


def test_supervision_pages_under_the_policy(live_server, demo, watch):
    page, base = watch.page, live_server.url
    log_in(page, base, "supervisor")
    page.wait_for_url("**/supervision/")
    watch.check("login")
    returned = Dossier.objects.filter(status=Status.RETURNED).first()
    for url in [
        "/supervision/",
        "/supervision/dossiers/?figure=resolved",
        f"/supervision/dossiers/{returned.pk}/",
        "/supervision/audit/",
        "/supervision/integrity/",
        "/supervision/access/",
        "/supervision/integrations/",
    ]:
        watch.visit(base, url)
    watch.visit(base, "/office/", 403)

    # The dashboard's charts (pygal's SVG without its inline style, styled by the site's
    # /supervision/charts.css): the status bars are as long as their counts, in the chart colour.
    page.goto(base + "/supervision/")
    widths = page.locator("#chart-onestop-statuses rect.rect").evaluate_all(
        "bars => bars.map(b => b.getBoundingClientRect().width)"
    )
    assert widths and min(widths) < max(widths)
    fill = page.locator("#chart-onestop-statuses rect.rect").first.evaluate(
        "r => getComputedStyle(r).fill"
    )
    assert fill == "rgb(139, 26, 26)"
    # The filter form submits.
    page.locator("#id_date_from").fill("2026-01-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Xem").click()
    assert "date_from=2026-01-01" in page.url
    watch.check("filtered")


def test_admin_and_api_docs_under_the_policy(live_server, demo, watch):
    page, base = watch.page, live_server.url
    watch.visit(base, "/api/v1/docs/")
    log_in(page, base, "admin")
    watch.check("login")
    for url in ["/admin/", "/admin/auth/user/", "/admin/auth/user/add/"]:
        watch.visit(base, url)

    # The admin's scripts run: ticking every row updates the selection counter.
    page.goto(base + "/admin/auth/user/")
    counter = page.locator(".action-counter")
    before = counter.inner_text()
    page.locator("#action-toggle").check()
    assert counter.inner_text() != before
    watch.check("admin actions")

    # Swagger UI runs from files: it lists the operations and tries one against the API.
    page.goto(base + "/api/v1/docs/")
    operation = page.locator(".opblock-get").filter(
        has=page.locator(".opblock-summary-path", has_text="/api/v1/procedures/")
    )
    operation.first.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = operation.first.locator(".live-responses-table tbody .response-col_status").first
    assert status.inner_text().strip() == "200"
    watch.check("swagger try it out")

    # DRF's browsable API keeps strict scripts; its own inline styles are allowed there alone.
    response = page.goto(base + "/api/v1/procedures/")
    assert "style-src 'self' 'unsafe-inline'" in response.headers["content-security-policy"]
    watch.check("browsable api")
