"""Bodies over the size limits, and URLs the API does not have: a 413 (the API's JSON error
shape, or the site's page) rather than a 500 or a bare 400, and a JSON 404/405 everywhere under
/api/. Over a real HTTP server on 127.0.0.1 where the size of the body matters."""

import json

import httpx
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from dossiers import tokens as api_tokens
from dossiers.demo.scenarios import MINIMAL_PDF

THREE_MB = 3 * 1024 * 1024  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


@pytest.fixture(autouse=True)
def _no_throttle_carry_over(db):
    cache.clear()


def error_of(response):
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def is_413_page(response) -> bool:
    return (
        response.status_code == 413
        and response.headers["Content-Type"].startswith("text/html")
        and "<h1>Dữ liệu gửi lên quá lớn</h1>" in response.text
        and 'href="/procedures/"' in response.text  # the site's layout, with a way back
    )


def multipart(fields: dict[str, bytes], files: dict[str, tuple[str, bytes]] | None = None):
    """A multipart body built by hand, so its size is exactly what the test says."""
    boundary = "onestop-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    for name, (filename, content) in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def draft(citizen, procedure, commune):
    """A citizen's draft and its API client (token over HTTP)."""
    token = api_tokens.issue(citizen, "test")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    ref = client.post("/api/v1/dossiers/", {"procedure": procedure.code}, format="json")
    return {"token": token, "ref": ref.json()["ref"], "document": procedure.documents.first()}


# --- the API: 413 in the error shape --------------------------------------------------------


def test_api_json_body_over_the_limit_is_413(live_server, transactional_db):
    """3 MB of JSON to the public token endpoint: refused from its Content-Length (it used to
    be a 500, Django raising RequestDataTooBig inside the view)."""
    body = json.dumps({"username": "x" * THREE_MB, "password": "y"})
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/token/",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "request_too_large" and error["message"]


def test_api_multipart_fields_over_the_limit_are_413(live_server, transactional_db, draft):
    """Form fields are limited while the body is parsed (files are not counted): Django finds
    the body too big inside the view, and the API still answers 413 in its shape."""
    body, headers = multipart({"purpose": b"application", "note": b"x" * THREE_MB})
    response = httpx.post(
        f"{live_server.url}/api/v1/dossiers/{draft['ref']}/attachments/",
        content=body,
        headers={**headers, "Authorization": f"Token {draft['token']}"},
        timeout=30,
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_api_upload_over_the_file_limit_is_a_clean_400(
    live_server, transactional_db, draft, settings
):
    """A file over ONESTOP_MAX_FILE_BYTES but in a request under ONESTOP_MAX_REQUEST_BYTES is
    read and refused by the upload checks, naming the field; a request over the whole limit
    is refused (413) before it is read."""
    settings.ONESTOP_MAX_FILE_BYTES = 1024 * 1024
    settings.ONESTOP_MAX_REQUEST_BYTES = 4 * 1024 * 1024
    url = f"{live_server.url}/api/v1/dossiers/{draft['ref']}/attachments/"
    auth = {"Authorization": f"Token {draft['token']}"}
    document = str(draft["document"].pk).encode()

    big_file = MINIMAL_PDF + b"%" * (2 * 1024 * 1024)
    body, headers = multipart({"document_type": document}, {"file": ("big.pdf", big_file)})
    response = httpx.post(url, content=body, headers={**headers, **auth}, timeout=30)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_failed" and "1 MB" in error["fields"]["file"][0]

    huge_file = MINIMAL_PDF + b"%" * (5 * 1024 * 1024)
    body, headers = multipart({"document_type": document}, {"file": ("huge.pdf", huge_file)})
    response = httpx.post(url, content=body, headers={**headers, **auth}, timeout=30)
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


# --- the site: the 413 page ------------------------------------------------------------------


def test_big_form_post_shows_the_413_page(live_server, transactional_db):
    """A form body over the limit, to the login form: the page, in the site's layout, before
    the CSRF check reads a byte."""
    body = "username=" + "x" * THREE_MB + "&password=y"
    response = httpx.post(
        f"{live_server.url}/accounts/login/",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert is_413_page(response), (response.status_code, response.text[:300])


def test_big_multipart_fields_show_the_413_page(live_server, transactional_db, settings):
    """Multipart fields over the limit are only found while the CSRF check parses the form:
    handler400 still answers the 413 page, not Django's bare 400. (With the CSRF cookie, so
    that the check gets as far as reading the form's token.)"""
    settings.CSRF_COOKIE_SECURE = False  # the test server speaks plain HTTP
    body, headers = multipart({"username": b"x" * THREE_MB, "password": b"y"})
    with httpx.Client(base_url=live_server.url, timeout=30) as browser:
        assert browser.get("/accounts/login/").status_code == 200  # sets the CSRF cookie
        response = browser.post("/accounts/login/", content=body, headers=headers)
    assert is_413_page(response), (response.status_code, response.text[:300])


def test_the_413_page_speaks_the_chosen_language(live_server, transactional_db):
    body = "q=" + "x" * THREE_MB
    response = httpx.post(
        f"{live_server.url}/accounts/login/",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"django_language": "en"},
        timeout=30,
    )
    assert response.status_code == 413 and '<html lang="en">' in response.text


def test_web_upload_over_the_file_limit_is_a_form_error(citizen, procedure, commune, settings):
    """On the citizen's application form, a file over the limit is reported next to its field
    (400, the form again), not a crash."""
    settings.ONESTOP_MAX_FILE_BYTES = 1024 * 1024
    from django.test import Client

    client = Client()
    client.force_login(citizen)
    document = procedure.documents.first()
    big = SimpleUploadedFile("to-khai.pdf", MINIMAL_PDF + b"%" * (2 * 1024 * 1024))
    response = client.post(
        f"/procedures/{procedure.code}/apply/",
        {"agency": commune.pk, f"doc_{document.pk}": big, "intent": "save"},
    )
    assert response.status_code == 400
    assert "Tệp vượt quá 1 MB." in response.content.decode()


# --- the API: unknown URLs and methods in the error shape -------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v2/dossiers/",
        "/api/v1/nothing-here/",
        "/api/v1/dossiers/%C2%84/",  # a ref the route does not take
        "/api/v1/webhooks/abc/",
        "/api/v1/dossiers/000.00.01.H27-261202-0005/actions/fly/",  # no such action
    ],
)
def test_unknown_api_urls_answer_a_json_404(client, db, settings, path, debug):
    settings.DEBUG = debug  # DEBUG's technical 404 page is not answered either
    response = client.post(path) if "actions" in path else client.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_api_methods_not_allowed_stay_json(client, db):
    for method, path in [
        ("delete", "/api/v1/lookup/"),
        ("put", "/api/v1/procedures/"),
        ("post", "/api/v1/schema/"),
        ("post", "/api/v1/docs/"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 405, (method, path)
        assert error_of(response)["code"] == "method_not_allowed"
        assert "GET" in response.headers["Allow"]


def test_site_404_stays_a_page(client, db):
    response = client.get("/nothing-here/")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
