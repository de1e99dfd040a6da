"""Login with the national e-ID against a real OpenID Connect provider on 127.0.0.1
(tests/eid_provider.py): the flow, the account rule, each refusal, the read-only identity,
the assurance level stored on dossiers and procedures that require an e-ID login."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from citizens.models import CitizenProfile
from dossiers import services
from dossiers.models import Dossier
from dossiers.sealing import ADDED_LATER
from dossiers.workflow import Status

from .eid_provider import authorize_redirect, login_through, running_provider

eid_provider = pytest.fixture(running_provider)

User = get_user_model()
pytestmark = pytest.mark.django_db


def _refused(response, caplog, reason):
    assert response.status_code in (400, 403, 502)
    assert "Không đăng nhập được bằng định danh điện tử" in response.content.decode()
    assert any(
        "e-ID login refused" in r.getMessage() and reason in r.getMessage() for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    assert "_auth_user_id" not in response.wsgi_request.session


def test_first_login_creates_a_citizen_account_from_the_id_token(client, eid_provider, commune):
    response = login_through(client)
    assert response.status_code == 302
    profile = CitizenProfile.objects.get(id_number="031090001234")
    assert profile.full_name == "Nguyễn Văn An"
    assert profile.date_of_birth.isoformat() == "1990-05-17"
    assert profile.eid_issuer == eid_provider.issuer
    assert profile.eid_subject == "vneid-sub-0001"
    assert profile.eid_verified_at is not None
    assert not profile.user.has_usable_password()
    assert client.session["_auth_user_id"] == str(profile.user.pk)
    assert client.session["onestop_eid"]["acr"] == "vneid:level2"
    # The flow used PKCE S256, a nonce and the configured acr_values; the provider checked the
    # client's secret and the verifier before it issued the token.
    asked = eid_provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["nonce"]
    assert asked["acr_values"] == "vneid:level2"
    assert eid_provider.token_requests[-1]["ok"] is True
    # The new account has no contact data yet: the profile page asks for it.
    assert response["Location"] == "/accounts/profile/"


def test_discovery_is_cached(client, eid_provider, commune):
    login_through(client)
    client.logout()
    login_through(client)
    assert eid_provider.discovery_hits == 1


def test_login_page_and_sign_up_page_show_the_button(client, eid_provider):
    for url in ("/accounts/login/", "/accounts/sign-up/"):
        page = client.get(url).content.decode()
        assert "Đăng nhập bằng VNeID" in page
        assert "/accounts/eid/login/" in page


def test_without_an_issuer_the_e_id_login_is_off(client, settings):
    settings.ONESTOP_EID_ISSUER = ""
    assert "Đăng nhập bằng VNeID" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/eid/login/").status_code == 404
    assert client.get("/accounts/eid/callback/?code=x&state=y").status_code == 404


def test_an_existing_profile_is_linked_and_its_password_stops_working(
    client, eid_provider, citizen
):
    assert citizen.has_usable_password()
    other = type(client)()
    other.force_login(citizen)  # a session of whoever knew the password
    eid_provider.identity["name"] = "Nguyễn Văn An"
    response = login_through(client)
    assert response["Location"] == "/accounts/profile/"
    citizen.refresh_from_db()
    assert not citizen.has_usable_password()
    assert client.session["_auth_user_id"] == str(citizen.pk)
    # The password's other session is over.
    assert other.get("/accounts/profile/").status_code == 302
    assert not client.login(username="citizen", password="onestop-test")


def test_an_officials_account_is_never_logged_into_by_e_id(client, eid_provider, reception, caplog):
    CitizenProfile.objects.create(
        user=reception, full_name="Cán bộ", id_number="031090001234", email="r@example.vn"
    )
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    response = login_through(client)
    assert response.status_code == 403
    _refused(response, caplog, "account")


@pytest.mark.parametrize(
    "option,value,reason",
    [
        ("wrong_key", True, "signature"),
        ("audience", "someone-else", "audience"),
        ("expired", True, "expired"),
        ("omit_claims", ("id_number",), "missing_claim"),
    ],
)
def test_bad_id_tokens_are_refused(client, eid_provider, caplog, option, value, reason):
    setattr(eid_provider, option, value)
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    response = login_through(client)
    _refused(response, caplog, reason)
    assert not CitizenProfile.objects.exists()


def test_a_bad_id_number_is_refused(client, eid_provider, caplog):
    eid_provider.identity["id_number"] = "123"
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    _refused(login_through(client), caplog, "bad_id_number")
    assert not User.objects.exists()


def test_a_provider_error_is_refused(client, eid_provider, caplog):
    eid_provider.deny = True
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    response = login_through(client)
    _refused(response, caplog, "provider_error")
    assert eid_provider.token_requests == []


def test_a_replayed_state_is_refused(client, eid_provider, caplog, commune):
    start = client.get("/accounts/eid/login/")
    back = urlsplit(authorize_redirect(start["Location"]))
    callback = f"{back.path}?{back.query}"
    assert client.get(callback).status_code == 302
    client.logout()
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    again = client.get(callback)
    _refused(again, caplog, "state")


def test_a_state_from_another_session_is_refused(client, eid_provider, caplog):
    start = client.get("/accounts/eid/login/")
    back = urlsplit(authorize_redirect(start["Location"]))
    stranger = type(client)()
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    _refused(stranger.get(f"{back.path}?{back.query}"), caplog, "state")


def test_a_replayed_id_token_is_refused_by_its_nonce(client, eid_provider, caplog, commune):
    assert login_through(client).status_code == 302
    client.logout()
    eid_provider.replay_id_token = True  # the provider's answer carries the earlier ID token
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    _refused(login_through(client), caplog, "nonce")


def test_a_nonce_is_accepted_once_even_within_its_own_login(eid_provider, client):
    from citizens import eid

    start = client.get("/accounts/eid/login/")
    nonce = parse_qs(urlsplit(start["Location"]).query)["nonce"][0]
    token = eid_provider.id_token(eid_provider.identity, nonce)
    assert eid.verify_id_token(token, nonce=nonce)["id_number"] == "031090001234"
    with pytest.raises(eid.Refused) as refused:
        eid.verify_id_token(token, nonce=nonce)
    assert refused.value.reason == "nonce"


def test_the_pkce_verifier_is_what_the_provider_checks(client, eid_provider, caplog):
    """A code stolen on its way back is useless without the session's verifier."""
    start = client.get("/accounts/eid/login/")
    back = urlsplit(authorize_redirect(start["Location"]))
    code = parse_qs(back.query)["code"][0]
    import httpx

    stolen = httpx.post(
        f"{eid_provider.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "x"},
        auth=(eid_provider.client_id, eid_provider.client_secret),
    )
    assert stolen.status_code == 400
    assert eid_provider.token_requests[-1]["ok"] is False


# --- the identity is read-only ------------------------------------------------------------


def test_identity_fields_from_the_e_id_are_read_only_in_the_profile(client, eid_provider):
    login_through(client)
    response = client.post(
        "/accounts/profile/",
        {
            "full_name": "Someone Else",
            "id_number": "031095004321",
            "date_of_birth": "1995-01-01",
            "phone": "0912345678",
            "email": "an@example.vn",
            "address": "Thôn Đông",
        },
    )
    assert response.status_code == 302
    profile = CitizenProfile.objects.get()
    assert (profile.full_name, profile.id_number, profile.date_of_birth.isoformat()) == (
        "Nguyễn Văn An",
        "031090001234",
        "1990-05-17",
    )
    assert profile.phone == "0912345678"
    page = client.get("/accounts/profile/").content.decode()
    assert "định danh điện tử" in page
    assert page.count("disabled") >= 3


def test_the_profile_service_ignores_identity_fields_once_vouched(eid_provider, client):
    from citizens.services import citizen_update_profile

    login_through(client)
    profile = CitizenProfile.objects.get()
    citizen_update_profile(user=profile.user, full_name="X", date_of_birth=None, address="Y")
    profile.refresh_from_db()
    assert profile.full_name == "Nguyễn Văn An" and profile.date_of_birth is not None
    assert profile.address == "Y"


def test_the_apply_form_shows_the_name_read_only_and_submission_keeps_it(
    client, eid_provider, procedure, commune
):
    login_through(client)
    page = client.get(f"/procedures/{procedure.code}/apply/").content.decode()
    assert 'name="f_full_name"' in page and "Theo định danh điện tử" in page
    response = _apply(client, procedure, commune, full_name="Người Khác")
    assert response.status_code == 302, response.content.decode()[:2000]
    dossier = Dossier.objects.get()
    assert dossier.status == Status.SUBMITTED
    assert dossier.form_data["full_name"] == "Nguyễn Văn An"
    assert dossier.applicant["full_name"] == "Nguyễn Văn An"


# --- acr on dossiers, procedures that require an e-ID login --------------------------------


def _apply(client, procedure, commune, **answers):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dossiers.demo.scenarios import MINIMAL_PDF

    required = procedure.documents.filter(required=True, kind="submit").first()
    data = {
        "agency": commune.pk,
        "f_full_name": answers.get("full_name", "Nguyễn Văn An"),
        "f_purpose": "Kết hôn",
        "intent": "submit",
        "client_token": "t-" + procedure.code,
        f"doc_{required.pk}": SimpleUploadedFile("a.pdf", MINIMAL_PDF, "application/pdf"),
    }
    return client.post(f"/procedures/{procedure.code}/apply/", data)


def test_the_sessions_acr_is_stored_on_the_dossier_and_shown(
    client, eid_provider, procedure, commune, reception
):
    login_through(client)
    assert _apply(client, procedure, commune).status_code == 302
    dossier = Dossier.objects.get()
    assert dossier.eid_acr == "vneid:level2"
    event = dossier.events.get(event_type="dossier.submitted")
    assert event.data["eid_acr"] == "vneid:level2"
    official = type(client)()
    official.force_login(reception)
    page = official.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "vneid:level2" in page
    api = official.get(f"/api/v1/dossiers/{dossier.code}/")
    assert api.json()["eid_acr"] == "vneid:level2"


def test_a_password_session_files_without_acr(client, citizen, procedure, commune):
    client.force_login(citizen)
    assert _apply(client, procedure, commune).status_code == 302
    assert Dossier.objects.get().eid_acr == ""


def test_a_procedure_requiring_e_id_refuses_a_password_session(
    client, eid_provider, citizen, procedure, commune
):
    procedure.eid_required = True
    procedure.save()
    client.force_login(citizen)
    page = client.get(f"/procedures/{procedure.code}/apply/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "yêu cầu đăng nhập bằng định danh điện tử" in text
    assert "/accounts/eid/login/?next=" in text
    assert _apply(client, procedure, commune).status_code == 403
    assert not Dossier.objects.exists()


def test_the_service_refuses_too(citizen, procedure, commune):
    from dossiers.errors import Forbidden

    procedure.eid_required = True
    procedure.save()
    with pytest.raises(Forbidden):
        services.dossier_create_draft(
            actor=services.Actor(user=citizen), procedure=procedure, receiving_agency=commune
        )
    draft = services.dossier_create_draft(
        actor=services.Actor(user=citizen, eid_acr="vneid:level2"),
        procedure=procedure,
        receiving_agency=commune,
    )
    with pytest.raises(Forbidden):
        services.dossier_submit(actor=services.Actor(user=citizen), dossier=draft)


def test_a_lower_level_than_required_is_refused(client, eid_provider, procedure, commune):
    procedure.eid_required = True
    procedure.eid_min_acr = "vneid:level2"
    procedure.save()
    eid_provider.identity["acr"] = "vneid:level1"
    login_through(client)
    page = client.get(f"/procedures/{procedure.code}/apply/")
    assert page.status_code == 403
    assert "vneid:level2" in page.content.decode()
    client.logout()
    eid_provider.identity["acr"] = "vneid:level2"
    login_through(client)
    assert client.get(f"/procedures/{procedure.code}/apply/").status_code == 200
    assert _apply(client, procedure, commune).status_code == 302
    assert Dossier.objects.get().eid_acr == "vneid:level2"


def test_the_new_columns_are_added_later_to_sealed_histories():
    assert {"eid_acr", "assisted_by_id"} <= ADDED_LATER["dossiers.historicaldossier"]
    assert {"eid_required", "eid_min_acr"} <= ADDED_LATER["dossiers.historicalprocedure"]
    assert {"eid_issuer", "eid_subject", "eid_verified_at"} <= ADDED_LATER[
        "citizens.historicalcitizenprofile"
    ]


def test_an_unreachable_provider_answers_a_page_not_a_500(client, settings, caplog):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ONESTOP_EID_ISSUER = f"http://127.0.0.1:{port}"
    settings.ONESTOP_EID_CLIENT_ID = "x"
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    response = client.get("/accounts/eid/login/")
    assert response.status_code == 502
    _refused(response, caplog, "provider_unavailable")


def test_a_date_of_birth_the_e_id_did_not_give_can_be_typed(client, eid_provider):
    eid_provider.identity["birthdate"] = None
    login_through(client)
    response = client.post(
        "/accounts/profile/",
        {
            "date_of_birth": "1990-05-17",
            "phone": "0912345678",
            "email": "an@example.vn",
            "address": "Thôn Đông",
        },
    )
    assert response.status_code == 302
    profile = CitizenProfile.objects.get()
    assert profile.date_of_birth.isoformat() == "1990-05-17"
    assert profile.full_name == "Nguyễn Văn An"


def test_an_administrator_sets_the_requirement_in_the_admin(client, procedure):
    admin = User.objects.create_superuser("root", "root@example.vn", "onestop-test")
    client.force_login(admin)
    page = client.get(f"/admin/dossiers/procedure/{procedure.pk}/change/").content.decode()
    assert 'name="eid_required"' in page and 'name="eid_min_acr"' in page


def test_a_token_signed_with_the_client_secret_is_refused(eid_provider, client):
    """Algorithm confusion: HS256 with the (shared) client secret is never accepted."""
    import time

    from joserfc import jwt
    from joserfc.jwk import OctKey

    from citizens import eid

    start = client.get("/accounts/eid/login/")
    nonce = parse_qs(urlsplit(start["Location"]).query)["nonce"][0]
    now = int(time.time())
    claims = {
        "iss": eid_provider.issuer,
        "aud": eid_provider.client_id,
        "sub": "x",
        "iat": now,
        "exp": now + 60,
        "nonce": nonce,
        "id_number": "031090001234",
        "name": "X",
    }
    forged = jwt.encode(
        {"alg": "HS256"}, claims, OctKey.import_key(eid_provider.client_secret.encode())
    )
    with pytest.raises(eid.Refused) as refused:
        eid.verify_id_token(forged, nonce=nonce)
    assert refused.value.reason == "signature"


def test_a_wrong_client_secret_is_refused_by_the_provider(client, eid_provider, settings, caplog):
    settings.ONESTOP_EID_CLIENT_SECRET = "not-the-secret"
    caplog.set_level(logging.WARNING, logger="onestop.eid")
    _refused(login_through(client), caplog, "token")
    assert eid_provider.token_requests[-1]["why"] == "client authentication"
