"""Login with the national e-ID: an OpenID Connect relying party (docs/integrations.md, "e-ID").

The authorization-code flow with PKCE (S256), a state and a nonce per login, and the ID token
verified here against the provider's published keys: signature, issuer, audience, expiry and
issue time, nonce. Authlib's OAuth2 client (over httpx) builds the authorization request and
exchanges the code (client authentication, PKCE verifier); joserfc verifies the ID token. Each
check is our own call, so each refusal has its own reason, page and log line.

The provider is found by discovery (`<issuer>/.well-known/openid-configuration`) and its keys
at its `jwks_uri`; both are kept in the shared cache (ONESTOP_EID_DISCOVERY_CACHE_SECONDS), the
keys fetched again once when a token names a key not yet known (the provider rotated its keys).

Nothing here writes the database: `finish` returns the verified `Identity`, and
`citizens.services.citizen_eid_login` makes or links the account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    DecodeError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from dossiers.validators import id_number_problem

logger = logging.getLogger("onestop.eid")

# Pending logins in the session, by state (a few tabs at once; each state used once).
FLOWS_KEY = "onestop_eid_flows"
MAX_PENDING = 5
# A login not finished within this time is forgotten.
FLOW_SECONDS = 600
# Asymmetric algorithms only: "none" and HMAC with the client secret are never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

REASONS = {
    "state": gettext_lazy(
        "Yêu cầu đăng nhập không hợp lệ hoặc đã được dùng (có thể bạn đã bấm quay lại). "
        "Vui lòng đăng nhập lại."
    ),
    "provider_error": gettext_lazy("Nhà cung cấp định danh điện tử đã từ chối đăng nhập."),
    "provider_unavailable": gettext_lazy(
        "Không kết nối được với nhà cung cấp định danh điện tử. Vui lòng thử lại sau."
    ),
    "token": gettext_lazy("Nhà cung cấp định danh điện tử không cấp được thẻ đăng nhập."),
    "signature": gettext_lazy("Chữ ký của thẻ định danh không hợp lệ."),
    "claims": gettext_lazy("Thẻ định danh không dành cho dịch vụ này hoặc không hợp lệ."),
    "audience": gettext_lazy("Thẻ định danh không dành cho dịch vụ này."),
    "expired": gettext_lazy("Thẻ định danh đã hết hạn. Vui lòng đăng nhập lại."),
    "nonce": gettext_lazy(
        "Thẻ định danh không thuộc lần đăng nhập này (có thể bị dùng lại). Vui lòng đăng nhập lại."
    ),
    "missing_claim": gettext_lazy(
        "Nhà cung cấp định danh điện tử không gửi số định danh cá nhân hoặc họ tên."
    ),
    "bad_id_number": gettext_lazy("Số định danh cá nhân nhận từ định danh điện tử không hợp lệ."),
    "account": gettext_lazy("Không thể đăng nhập tài khoản này bằng định danh điện tử."),
}


class Refused(Exception):
    """A login refused: `reason` (a key of REASONS), `detail` for the log only."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def message(self) -> str:
        return str(REASONS.get(self.reason, REASONS["claims"]))


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says of the person."""

    issuer: str
    subject: str
    id_number: str
    full_name: str
    date_of_birth: dt.date | None
    acr: str
    email: str = ""


def enabled() -> bool:
    return bool(settings.ONESTOP_EID_ISSUER and settings.ONESTOP_EID_CLIENT_ID)


def button_label() -> str:
    return settings.ONESTOP_EID_BUTTON_LABEL


# --- the provider's metadata and keys --------------------------------------------------------


def _cache_key(kind: str) -> str:
    digest = hashlib.sha256(settings.ONESTOP_EID_ISSUER.encode()).hexdigest()[:16]
    return f"onestop:eid:{kind}:{digest}"


def _get_json(url: str) -> dict:
    try:
        response = httpx.get(url, timeout=settings.ONESTOP_EID_TIMEOUT_SECONDS)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise Refused("provider_unavailable", f"{url}: {error}") from None
    if not isinstance(data, dict):
        raise Refused("provider_unavailable", f"{url}: not a JSON object")
    return data


def metadata() -> dict:
    """The provider's discovery document (cached), checked to name our issuer."""
    key = _cache_key("discovery")
    found = cache.get(key)
    if found is None:
        issuer = settings.ONESTOP_EID_ISSUER
        found = _get_json(f"{issuer}/.well-known/openid-configuration")
        if found.get("issuer", "").rstrip("/") != issuer:
            raise Refused("provider_unavailable", f"discovery names issuer {found.get('issuer')}")
        needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not all(isinstance(found.get(name), str) for name in needed):
            raise Refused("provider_unavailable", "discovery document lacks endpoints")
        cache.set(key, found, settings.ONESTOP_EID_DISCOVERY_CACHE_SECONDS)
    return found


def _keys(refresh: bool = False) -> KeySet:
    key = _cache_key("jwks")
    found = None if refresh else cache.get(key)
    if found is None:
        found = _get_json(metadata()["jwks_uri"])
        cache.set(key, found, settings.ONESTOP_EID_DISCOVERY_CACHE_SECONDS)
    try:
        return KeySet.import_key_set(found)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise Refused("provider_unavailable", f"JWKS: {error}") from None


def forget_provider() -> None:
    """Drop the cached discovery document and keys (settings changed; tests)."""
    cache.delete_many([_cache_key("discovery"), _cache_key("jwks")])


# --- the flow ------------------------------------------------------------------------------


def _client(redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=settings.ONESTOP_EID_CLIENT_ID,
        client_secret=settings.ONESTOP_EID_CLIENT_SECRET,
        scope=settings.ONESTOP_EID_SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # nosec B106 (a method's name)
        timeout=settings.ONESTOP_EID_TIMEOUT_SECONDS,
    )


def start(session, *, redirect_uri: str, next_url: str = "") -> str:
    """The provider's authorization URL for a new login; its state, nonce and PKCE verifier
    wait in the session until the provider sends the browser back."""
    endpoint = metadata()["authorization_endpoint"]
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    extra = {"nonce": nonce}
    if settings.ONESTOP_EID_ACR_VALUES:
        extra["acr_values"] = settings.ONESTOP_EID_ACR_VALUES
    with _client(redirect_uri) as client:
        url, _state = client.create_authorization_url(
            endpoint, state=state, code_verifier=verifier, **extra
        )
    now = time.time()
    flows = {
        k: v
        for k, v in (session.get(FLOWS_KEY) or {}).items()
        if isinstance(v, dict) and now - v.get("at", 0) < FLOW_SECONDS
    }
    flows = dict(sorted(flows.items(), key=lambda item: item[1]["at"])[-(MAX_PENDING - 1) :])
    flows[state] = {"nonce": nonce, "verifier": verifier, "next": next_url, "at": now}
    session[FLOWS_KEY] = flows
    return url


def take_flow(session, state: str) -> dict:
    """The pending login of `state`, removed from the session: a state works once."""
    flows = dict(session.get(FLOWS_KEY) or {})
    flow = flows.pop(state, None) if state else None
    session[FLOWS_KEY] = flows
    if not isinstance(flow, dict) or time.time() - flow.get("at", 0) >= FLOW_SECONDS:
        raise Refused("state", "unknown, expired or already used state")
    return flow


def finish(session, params, *, redirect_uri: str) -> tuple[Identity, str]:
    """The provider sent the browser back with `params` (the query): check the state, exchange
    the code, verify the ID token. Returns the identity and the page to go to next."""
    flow = take_flow(session, params.get("state", ""))
    if params.get("error"):
        raise Refused(
            "provider_error", f"{params.get('error')}: {params.get('error_description', '')}"
        )
    code = params.get("code", "")
    if not code:
        raise Refused("token", "no code in the callback")
    provider = metadata()
    try:
        with _client(redirect_uri) as client:
            token = client.fetch_token(
                provider["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=flow["verifier"],
            )
    except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError) as error:
        raise Refused("token", f"{type(error).__name__}: {error}") from None
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not id_token:
        raise Refused("token", "no id_token in the token response")
    claims = verify_id_token(id_token, nonce=flow["nonce"])
    return identity_of(claims), flow.get("next", "")


def verify_id_token(id_token: str, *, nonce: str) -> dict:
    """The ID token's claims, once its signature (the provider's keys), issuer, audience,
    expiry, issue time and nonce hold; Refused otherwise. A nonce is accepted once."""
    try:
        try:
            decoded = jwt.decode(id_token, _keys(), algorithms=ALGORITHMS)
        except (BadSignatureError, ValueError, JoseError):
            # A key we do not know yet (rotation): fetch the keys again, once.
            decoded = jwt.decode(id_token, _keys(refresh=True), algorithms=ALGORITHMS)
    except BadSignatureError as error:
        raise Refused("signature", str(error)) from None
    except (DecodeError, JoseError, ValueError, TypeError) as error:
        raise Refused("signature", f"{type(error).__name__}: {error}") from None
    claims = decoded.claims
    client_id = settings.ONESTOP_EID_CLIENT_ID
    registry = jwt.JWTClaimsRegistry(
        leeway=settings.ONESTOP_EID_LEEWAY_SECONDS,
        iss={"essential": True, "value": settings.ONESTOP_EID_ISSUER},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise Refused("expired", str(error)) from None
    except (InvalidClaimError, MissingClaimError) as error:
        claim = getattr(error, "claim", "")
        reason = {"aud": "audience", "nonce": "nonce"}.get(claim, "claims")
        raise Refused(reason, str(error)) from None
    except JoseError as error:
        raise Refused("claims", str(error)) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise Refused("audience", "several audiences and azp is not this client")
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or issued > time.time() + registry.leeway:
        raise Refused("claims", "iat in the future")
    # The same ID token (its nonce) presented a second time, e.g. replayed into another login.
    nonce_key = "onestop:eid:nonce:" + hashlib.sha256(nonce.encode()).hexdigest()
    if not cache.add(nonce_key, 1, timeout=FLOW_SECONDS + registry.leeway + 3600):
        raise Refused("nonce", "nonce already used")
    return claims


def identity_of(claims: dict) -> Identity:
    number = claims.get(settings.ONESTOP_EID_ID_NUMBER_CLAIM)
    name = claims.get(settings.ONESTOP_EID_NAME_CLAIM)
    if not number or not isinstance(name, str) or not name.strip():
        raise Refused("missing_claim", f"claims present: {sorted(claims)}")
    born = None
    raw_birth = claims.get(settings.ONESTOP_EID_BIRTHDATE_CLAIM)
    if raw_birth:
        try:
            born = dt.date.fromisoformat(str(raw_birth))
        except ValueError:
            raise Refused("claims", f"birthdate {raw_birth!r}") from None
    number = str(number)
    problem = id_number_problem(number, born)
    if problem:
        raise Refused("bad_id_number", problem)
    email = claims.get("email") if claims.get("email_verified") else ""
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        id_number=number,
        full_name=" ".join(name.split())[:255],
        date_of_birth=born,
        acr=str(claims.get("acr") or "")[:64],
        email=str(email or "")[:254],
    )


def log_refusal(error: Refused, request) -> None:
    logger.warning(
        "e-ID login refused: %s (%s) from %s",
        error.reason,
        error.detail,
        request.META.get("REMOTE_ADDR", ""),
    )


def unused_message() -> str:
    return _("Đăng nhập bằng định danh điện tử chưa được bật.")
