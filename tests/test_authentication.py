"""Authentication hardening (issue 11): login lockout, the staff's second factor, expiring and
revocable API tokens, the throttled password reset and the staff's idle timeout. Each test
plays the attack and checks it now fails."""

import base64
import datetime as dt
import re
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.db.models import F
from django.test import Client
from django_otp.oath import totp
from rest_framework.test import APIClient

from dossiers import clock, second_factor, tokens
from dossiers.models import ApiToken

from .helpers import client_of, current_code, enrol_totp, fresh_code

User = get_user_model()
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def web_login(client, username, password="onestop-test"):
    return client.post(LOGIN, {"username": username, "password": password})


def api_login(client, username, password="onestop-test", **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )


def cool_off_passes():
    """As if the cool-off time had gone by since every recorded failure."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=16))


def throttle_passes():
    """django-otp makes a device wait after a wrong code (1 s after the first, doubling)."""
    time.sleep(1.1)


# --- 1. lockout ----------------------------------------------------------------------------------


def test_web_login_locks_the_account_even_for_the_right_password(citizen):
    client = Client()
    for _i in range(4):
        assert web_login(client, "citizen", "wrong").status_code == 200
    assert web_login(client, "citizen", "wrong").status_code == 429  # the fifth failure
    locked = web_login(client, "citizen")
    assert locked.status_code == 429
    assert "Tạm khoá đăng nhập" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address, same account: still locked (the account counts on its own).
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert web_login(elsewhere, "citizen").status_code == 429
    cool_off_passes()
    assert web_login(Client(), "citizen").status_code == 302


def test_one_address_trying_many_accounts_is_locked(citizen, citizen2):
    client = Client()
    for number in range(5):
        web_login(client, f"nobody{number}", "wrong")
    assert web_login(client, "citizen2").status_code == 429
    # The account itself is not locked: from another address it logs in.
    assert web_login(Client(REMOTE_ADDR="198.51.100.21"), "citizen2").status_code == 302


def test_a_forged_forwarded_for_does_not_dodge_the_address_lockout(citizen):
    client = Client()
    for number in range(5):
        client.post(
            LOGIN,
            {"username": f"nobody{number}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
        )
    response = client.post(
        LOGIN,
        {"username": "citizen", "password": "onestop-test"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429


def test_admin_login_locks_too(db):
    User.objects.create_superuser("root", "root@example.vn", "onestop-test")
    client = Client()
    for _i in range(5):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "root", "password": "onestop-test"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_api_token_endpoint_locks_in_the_json_error_shape(citizen):
    client = APIClient()
    for _i in range(4):
        assert api_login(client, "citizen", "wrong").status_code == 400
    assert api_login(client, "citizen", "wrong").status_code == 429  # the fifth failure
    locked = api_login(client, "citizen")
    assert locked.status_code == 429 and error_of(locked)["code"] == "locked_out"
    assert int(locked["Retry-After"]) == 15 * 60
    assert not ApiToken.objects.exists()
    cool_off_passes()
    assert api_login(APIClient(), "citizen").status_code == 200


def test_lockout_settings_come_from_the_environment(settings, citizen):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    web_login(client, "citizen", "wrong")
    web_login(client, "citizen", "wrong")
    assert web_login(client, "citizen").status_code == 429


# --- 2. the staff's second factor ---------------------------------------------------------------


def test_staff_without_a_device_enrol_after_the_password(reception):
    client = Client()
    assert web_login(client, "reception").status_code == 302
    office = client.get("/office/")
    assert office.status_code == 302 and office["Location"].startswith("/accounts/security/enrol/")
    page = client.get(office["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'role="img"' in html
    secret = page.context["secret"].replace(" ", "")
    key = base64.b32decode(secret)
    wrong = client.post(office["Location"], {"code": "000000"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    assert not second_factor.has_device(reception)
    throttle_passes()
    done = client.post(office["Location"], {"code": f"{totp(key):06d}"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    assert second_factor.has_device(reception)
    assert client.get("/office/").status_code == 200


def test_staff_with_a_device_pass_the_second_factor_before_any_staff_page(reception, supervisor):
    device = enrol_totp(reception)
    client = Client()
    web_login(client, "reception")
    for url in ("/office/", "/office/register/", "/admin/", "/start/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/security/verify/"), url
    # Holding the password alone, nobody can enrol another authenticator instead.
    assert client.get("/accounts/security/enrol/")["Location"].startswith(
        "/accounts/security/verify/"
    )
    wrong = client.post("/accounts/security/verify/", {"code": "123456"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    assert client.get("/office/").status_code == 302
    throttle_passes()
    code = fresh_code(device)
    ok = client.post("/accounts/security/verify/", {"code": code, "next": "/office/"})
    assert ok.status_code == 302 and ok["Location"] == "/office/"
    assert client.get("/office/").status_code == 200
    # The same code does not open a second session (a code is good once).
    other = Client()
    web_login(other, "reception")
    assert other.post("/accounts/security/verify/", {"code": code}).status_code == 200
    assert other.get("/office/").status_code == 302


def test_supervisors_and_administrators_are_asked_too(supervisor):
    enrol_totp(supervisor)
    client = Client()
    web_login(client, "supervisor")
    assert client.get("/supervision/")["Location"].startswith("/accounts/security/verify/")


def test_a_recovery_code_works_once(reception):
    enrol_totp(reception)
    codes = second_factor.new_recovery_codes(reception)
    first = Client()
    web_login(first, "reception")
    first.post("/accounts/security/verify/", {"code": codes[0]})
    assert first.get("/office/").status_code == 200
    again = Client()
    web_login(again, "reception")
    refused = again.post("/accounts/security/verify/", {"code": codes[0]})
    assert refused.status_code == 200 and again.get("/office/").status_code == 302
    assert second_factor.recovery_codes_left(reception) == 9


def test_citizens_are_not_asked_for_a_second_factor(citizen):
    client = Client()
    web_login(client, "citizen")
    assert client.get("/my/dossiers/").status_code == 200


def test_an_unverified_staff_session_does_not_count_on_the_api(reception):
    enrol_totp(reception)
    client = APIClient()
    web_login(client, "reception")
    assert client.get("/api/v1/dossiers/").status_code in (401, 403)
    second_factor_code = fresh_code(enrol_totp(reception))
    client.post("/accounts/security/verify/", {"code": second_factor_code})
    assert client.get("/api/v1/dossiers/").status_code == 200


def test_staff_need_their_second_factor_for_an_api_token(reception):
    not_enrolled = api_login(APIClient(), "reception")
    assert not_enrolled.status_code == 403
    assert error_of(not_enrolled)["code"] == "second_factor_not_enrolled"
    device = enrol_totp(reception)
    missing = api_login(APIClient(), "reception")
    assert missing.status_code == 400 and "otp" in error_of(missing)["fields"]
    wrong = api_login(APIClient(), "reception", otp="000000")
    assert wrong.status_code == 400 and "otp" in error_of(wrong)["fields"]
    throttle_passes()
    ok = api_login(APIClient(), "reception", otp=current_code(device))
    assert ok.status_code == 200 and ok.json()["token"]


# --- 3. API tokens ------------------------------------------------------------------------------


def test_a_token_is_stored_hashed_and_expires(settings, citizen):
    response = api_login(APIClient(), "citizen")
    key = response.json()["token"]
    row = ApiToken.objects.get()
    assert key not in (row.key_hash, row.prefix) and row.key_hash != key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/dossiers/").status_code == 200
    later = clock.now() + dt.timedelta(days=settings.ONESTOP_API_TOKEN_DAYS, minutes=1)
    with clock.frozen(later):
        expired = client.get("/api/v1/dossiers/")
    assert expired.status_code == 401 and error_of(expired)["code"] == "authentication_failed"


def test_a_password_change_revokes_the_tokens(citizen):
    client = client_of(citizen)
    assert client.get("/api/v1/dossiers/").status_code == 200
    citizen.set_password("Mat-khau-moi-2026")
    citizen.save()
    response = client.get("/api/v1/dossiers/")
    assert response.status_code == 401 and error_of(response)["code"] == "authentication_failed"


def test_a_deactivated_account_loses_its_tokens(citizen):
    client = client_of(citizen)
    citizen.is_active = False
    citizen.save()
    assert client.get("/api/v1/dossiers/").status_code == 401
    citizen.is_active = True
    citizen.save()
    assert client.get("/api/v1/dossiers/").status_code == 401  # revoked, not paused


def test_a_user_sees_and_revokes_their_tokens_on_the_page(citizen, citizen2):
    api = client_of(citizen)
    token = ApiToken.objects.get(user=citizen)
    others = ApiToken.objects.get(pk=tokens.issue(citizen2, "theirs")[0].pk)
    web = Client()
    web.force_login(citizen)
    page = web.get("/accounts/security/").content.decode()
    assert token.prefix in page and others.prefix not in page
    assert web.post(f"/accounts/security/tokens/{others.pk}/revoke/").status_code == 404
    assert web.post(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/dossiers/").status_code == 401
    assert tokens.live_tokens(citizen2).filter(pk=others.pk).exists()


def test_a_token_made_on_the_page_is_shown_once_and_works(citizen):
    web = Client()
    web.force_login(citizen)
    created = web.post("/accounts/security/tokens/", {"name": "Kịch bản nhập liệu"})
    key = created.context["key"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/dossiers/").status_code == 200
    assert key not in web.get("/accounts/security/").content.decode()


def test_delete_on_the_token_endpoint_revokes_the_token_in_use(citizen):
    api = client_of(citizen)
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.get("/api/v1/dossiers/").status_code == 401


# --- 4. password reset --------------------------------------------------------------------------


def test_password_reset_mails_an_account_a_few_times_an_hour(settings, citizen):
    client = Client()
    answers = [
        client.post("/accounts/password-reset/", {"email": "citizen@example.vn"})
        for _i in range(10)
    ]
    assert all(a.status_code == 302 and a["Location"].endswith("/sent/") for a in answers)
    assert len(mail.outbox) == settings.ONESTOP_PASSWORD_RESET_PER_ACCOUNT == 3
    later = clock.now() + dt.timedelta(hours=1, minutes=1)
    with clock.frozen(later):
        client.post("/accounts/password-reset/", {"email": "citizen@example.vn"})
    assert len(mail.outbox) == 4


def test_password_reset_requests_are_limited_per_address(settings, db):
    settings.ONESTOP_PASSWORD_RESET_PER_ADDRESS = 4
    for number in range(6):
        User.objects.create_user(f"user{number}", f"user{number}@example.vn", "x-Secret-2026")
    client = Client()
    answers = [
        client.post("/accounts/password-reset/", {"email": f"user{number}@example.vn"})
        for number in range(6)
    ]
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.vn"})
    assert len(mail.outbox) == 4
    locations = {a["Location"] for a in [*answers, unknown]}
    assert len(locations) == 1  # the same neutral page whatever happened
    other = Client(REMOTE_ADDR="198.51.100.30")
    other.post("/accounts/password-reset/", {"email": "user5@example.vn"})
    assert len(mail.outbox) == 5


# --- 5. staff idle timeout ----------------------------------------------------------------------


def test_an_idle_staff_session_ends(settings, reception):
    client = Client()
    client.force_login(reception)
    assert client.get("/office/").status_code == 200
    with clock.frozen(clock.now() + dt.timedelta(minutes=20)):
        assert client.get("/office/").status_code == 200  # activity keeps it alive
    with clock.frozen(clock.now() + dt.timedelta(minutes=45)):
        assert client.get("/office/").status_code == 200  # 25 minutes after the last page
    with clock.frozen(clock.now() + dt.timedelta(minutes=45 + 31)):
        response = client.get("/office/", follow=True)
    assert response.redirect_chain[0][0].startswith(f"{LOGIN}?next=/office/")
    assert "không hoạt động" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_citizens_keep_their_normal_session(citizen):
    client = Client()
    client.force_login(citizen)
    with clock.frozen(clock.now() + dt.timedelta(hours=3)):
        assert client.get("/my/dossiers/").status_code == 200


def test_the_idle_time_is_a_setting(settings, reception):
    settings.ONESTOP_STAFF_IDLE_MINUTES = 5
    client = Client()
    client.force_login(reception)
    client.get("/office/")
    with clock.frozen(clock.now() + dt.timedelta(minutes=6)):
        assert client.get("/office/").status_code == 302


# --- in a real browser ---------------------------------------------------------------------------

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.mark.django_db(transaction=True)
def test_enrolment_in_a_browser_is_accessible(live_server, browser_page, reception):
    from axe_playwright_python.sync_playwright import Axe

    def violations():
        found = Axe().run(page, options=WCAG).response["violations"]
        return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]

    page, base = browser_page, live_server.url
    page.goto(f"{base}{LOGIN}")
    page.locator("#id_username").fill("reception")
    page.locator("#id_password").fill("onestop-test")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/accounts/security/enrol/**")
    assert violations() == []
    secret = re.sub(r"\s", "", page.locator("#otp-secret").inner_text())
    page.locator("#id_code").fill(f"{totp(base64.b32decode(secret)):06d}")
    page.locator("#id_code").press("Enter")
    page.wait_for_selector(".recovery-codes")
    assert page.locator(".recovery-codes li").count() == 10
    assert violations() == []
    page.goto(f"{base}/accounts/security/")
    assert violations() == []
    page.goto(f"{base}/office/")
    assert page.url.endswith("/office/")
