"""Content-Security-Policy: every page answers with the strict policy (no inline script or style,
no eval), and no template outside the PDFs has inline script or style to need more.

The real browser's view of the same pages is in tests/test_e2e_csp.py.
"""

import re
from pathlib import Path

import pytest
from django.test import Client

from dossiers.workflow import Status

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*")


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.status_code} {response.request['PATH_INFO']}: no CSP header"
    policy = {}
    for part in header.split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy


def assert_strict(response):
    policy = directives(response)
    for name, sources in policy.items():
        assert not set(sources) & set(UNSAFE), (response.request["PATH_INFO"], name, sources)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def procedure_code(procedure):
    return procedure.code


@pytest.mark.django_db
def test_every_kind_of_page_answers_with_the_strict_policy(
    make_dossier, citizen, reception, supervisor, procedure_code
):
    dossier = make_dossier(Status.SUBMITTED)
    pages = {
        Client(): [
            ("/procedures/", 200),
            (f"/procedures/{procedure_code}/", 200),
            ("/lookup/", 200),
            ("/accounts/login/", 200),
            ("/accounts/sign-up/", 200),
            ("/accounts/password-reset/", 200),
            ("/no-such-page/", 404),
            ("/my/dossiers/", 302),
            ("/api/v1/docs/", 200),
            ("/admin/login/", 200),
        ],
        logged_in(citizen): [
            ("/my/dossiers/", 200),
            (f"/my/dossiers/{dossier.pk}/", 200),
            ("/accounts/profile/", 200),
            (f"/procedures/{procedure_code}/apply/", 200),
            ("/my/dossiers/999999/", 404),
            ("/office/", 403),
            ("/supervision/", 403),
        ],
        logged_in(reception): [
            ("/office/", 200),
            (f"/office/dossiers/{dossier.pk}/", 200),
            ("/office/intake/", 200),
            (f"/office/intake/{procedure_code}/", 200),
            ("/office/register/", 200),
            ("/office/dossiers/999999/", 404),
            ("/supervision/", 403),
        ],
        logged_in(supervisor): [
            ("/supervision/", 200),
            ("/supervision/dossiers/?figure=received", 200),
            (f"/supervision/dossiers/{dossier.pk}/", 200),
            ("/supervision/audit/", 200),
            ("/supervision/access/", 200),
            ("/supervision/integrity/", 200),
            ("/supervision/integrations/", 200),
            ("/office/", 403),
        ],
    }
    for client, urls in pages.items():
        for url, status in urls:
            response = client.get(url)
            assert response.status_code == status, url
            assert_strict(response)


@pytest.mark.django_db
def test_the_csrf_failure_page_is_ours_and_strict(citizen):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "citizen", "password": "x"})
    assert response.status_code == 403
    assert_strict(response)
    page = response.content.decode()
    assert "<style" not in page and "onestop.css" in page  # not Django's built-in page


def test_json_answers_carry_the_policy_too(client, db):
    assert_strict(client.get("/api/v1/procedures/", HTTP_ACCEPT="application/json"))
    assert_strict(client.get("/healthz"))


@pytest.mark.django_db
def test_the_swagger_ui_page_runs_from_files_under_the_strict_policy(client):
    response = client.get("/api/v1/docs/")
    assert_strict(response)
    page = response.content.decode()
    assert not INLINE_SCRIPT.search(page) and "<style" not in page and " style=" not in page
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    start = client.get(script.replace("&amp;", "&"))
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in start.content


def test_only_the_browsable_api_allows_inline_styles_and_never_inline_scripts(client, db):
    """DRF's own HTML pages carry style="" attributes (dossiers/api/renderers.py)."""
    response = client.get("/api/v1/procedures/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"Django REST framework" in response.content
    policy = directives(response)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    # The relaxation stays on that response: the next JSON answer and page are strict again.
    assert_strict(client.get("/api/v1/procedures/", HTTP_ACCEPT="application/json"))
    assert_strict(client.get("/procedures/"))


# --- the templates themselves ---------------------------------------------------------------

# <script> without a src (inline code); a data block such as type="application/json" is no code.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")")
INLINE_STYLE = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def inline_code(text: str) -> list[str]:
    found = []
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("<style>", INLINE_STYLE),
        ("style attribute", STYLE_ATTRIBUTE),
        ("event handler attribute", EVENT_HANDLER),
        ("javascript: URL", JAVASCRIPT_URL),
    ]:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line}: {name}")
    return found


def html_templates():
    """Every HTML template of the project and its apps, except the PDFs (WeasyPrint renders
    those on the server: they are never served as pages, so the CSP does not apply)."""
    project = TEMPLATES.parent
    roots = [TEMPLATES, *project.glob("*/templates"), *project.glob("*/*/templates")]
    for root in roots:
        for path in sorted(root.rglob("*.html")):
            if path.relative_to(root).parts[0] != "pdf":
                yield path


def test_the_scan_finds_inline_code():
    """The patterns below catch what they are meant to catch (and let files through)."""
    assert inline_code('<script>alert(1)</script><script src="/static/a.js"></script>') == [
        "line 1: inline <script>"
    ]
    assert inline_code('<script type="application/json" id="d">{}</script>') == []
    assert inline_code("<p>\n<STYLE>p{}</STYLE>") == ["line 2: <style>"]
    assert inline_code('<span class="bar" style="width:5%">') == ["line 1: style attribute"]
    assert inline_code('<svg viewBox="0 0 1 1" width="100%"><rect width="5"/></svg>') == []
    assert inline_code('<button onclick="go()">') == ["line 1: event handler attribute"]
    assert inline_code('<a href="javascript:go()">') == ["line 1: javascript: URL"]


def test_no_page_template_has_inline_script_or_style():
    templates = list(html_templates())
    assert TEMPLATES / "base.html" in templates
    assert not [t for t in templates if "pdf" in t.relative_to(TEMPLATES.parent).parts]
    offenders = {
        str(path.relative_to(TEMPLATES.parent)): found
        for path in templates
        if (found := inline_code(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_pdf_templates_keep_their_styles():
    """WeasyPrint's slips take their styles from templates/pdf/slip.css, parsed once per process
    (dossiers/pdf.py), not from a <style> in every page; the scan above leaves them alone."""
    assert "@page" in (TEMPLATES / "pdf" / "slip.css").read_text(encoding="utf-8")
    assert not INLINE_STYLE.search((TEMPLATES / "pdf" / "base.html").read_text(encoding="utf-8"))
