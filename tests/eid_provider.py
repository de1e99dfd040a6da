"""A real OpenID Connect provider on 127.0.0.1 for the e-ID tests (a stand-in for VNeID).

An HTTP server in a thread: discovery, JWKS, an authorization endpoint that sends the browser
back with a code for the configured test identity (no login form: the person is whoever the
test says), and a token endpoint that checks the client's authentication, the redirect URI and
the PKCE code_verifier, and issues an RS256 ID token signed with a key it generated.

Options make each refusal: `wrong_key` (signed with another key under the same key id),
`audience`, `expired`, `replay_id_token` (the token endpoint hands back the previous login's ID
token), `deny` (the authorization endpoint answers error=access_denied), `omit_claims`.

Make `running_provider` a fixture in the test module (it configures the ONESTOP_EID_*
settings), and use `login_through` to drive the whole flow with Django's test client over
real HTTP to the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "onestop-test-client"
CLIENT_SECRET = "test-secret-" + "x" * 20  # nosec B105 (a test peer's secret)
DEFAULT_IDENTITY = {
    "sub": "vneid-sub-0001",
    "id_number": "031090001234",
    "name": "Nguyễn Văn An",
    "birthdate": "1990-05-17",
    "acr": "vneid:level2",
}


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)
        self.other_key = RSAKey.generate_key(
            2048, parameters={"kid": "k1", "alg": "RS256"}, private=True
        )
        self.identity = dict(DEFAULT_IDENTITY)
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.wrong_key = False
        self.audience: str | None = None
        self.expired = False
        self.replay_id_token = False
        self.deny = False
        self.omit_claims: tuple[str, ...] = ()
        self.codes: dict[str, dict] = {}
        self.issued: list[str] = []
        self.token_requests: list[dict] = []
        self.authorize_requests: list[dict] = []
        self.discovery_hits = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what the endpoints do ---------------------------------------------------------------

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "acr_values_supported": ["vneid:level1", "vneid:level2"],
        }

    def authorize(self, query: dict) -> tuple[int, dict]:
        self.authorize_requests.append(query)
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {"error": "invalid_request"}
        if self.deny:
            return 302, {
                "location": f"{redirect_uri}?"
                + urlencode({"error": "access_denied", "state": state})
            }
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return 302, {
                "location": f"{redirect_uri}?"
                + urlencode({"error": "invalid_request", "state": state})
            }
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": redirect_uri,
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "identity": dict(self.identity),
        }
        return 302, {"location": f"{redirect_uri}?" + urlencode({"code": code, "state": state})}

    def token(self, headers, form: dict) -> tuple[int, dict]:
        record = {"form": form, "ok": False}
        self.token_requests.append(record)
        client_id, secret = _basic(headers.get("Authorization", ""))
        if (client_id, secret) != (self.client_id, self.client_secret):
            record["why"] = "client authentication"
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            record["why"] = "code"
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            record["why"] = "redirect_uri"
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            record["why"] = "code_verifier"
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        record["ok"] = True
        if self.replay_id_token and self.issued:
            id_token = self.issued[-1]
        else:
            id_token = self.id_token(grant["identity"], grant["nonce"])
        self.issued.append(id_token)
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def id_token(self, identity: dict, nonce: str | None) -> str:
        now = int(time.time())
        if self.expired:
            now -= 3600
        claims = {
            "iss": self.issuer,
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **{k: v for k, v in identity.items() if v is not None},
        }
        if nonce:
            claims["nonce"] = nonce
        for name in self.omit_claims:
            claims.pop(name, None)
        key = self.other_key if self.wrong_key else self.key
        return jwt.encode({"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims, key)

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None, location=None):
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                data = json.dumps(body or {}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    provider.discovery_hits += 1
                    self._send(200, provider.discovery())
                elif url.path == "/jwks":
                    self._send(200, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    status, body = provider.authorize(query)
                    if status == 302:
                        self._send(302, location=body["location"])
                    else:
                        self._send(status, body)
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                if urlsplit(self.path).path == "/token":
                    status, body = provider.token(self.headers, form)
                    self._send(status, body)
                else:
                    self._send(404, {"error": "not_found"})

        return Handler


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except ValueError:
        return "", ""
    from urllib.parse import unquote

    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def configure(settings, provider: Provider, **extra) -> None:
    """Point the ONESTOP_EID_* settings at `provider`."""
    settings.ONESTOP_EID_ISSUER = provider.issuer
    settings.ONESTOP_EID_CLIENT_ID = provider.client_id
    settings.ONESTOP_EID_CLIENT_SECRET = provider.client_secret
    settings.ONESTOP_EID_SCOPES = "openid profile"
    settings.ONESTOP_EID_ACR_VALUES = "vneid:level2"
    settings.ONESTOP_EID_ACR_ORDER = ["vneid:level1", "vneid:level2"]
    settings.ONESTOP_EID_ID_NUMBER_CLAIM = "id_number"
    settings.ONESTOP_EID_BUTTON_LABEL = "VNeID"
    for name, value in extra.items():
        setattr(settings, name, value)


def running_provider(settings):
    """A started provider with the settings pointing at it; stopped when the generator ends.
    A test module makes it a fixture: `eid_provider = pytest.fixture(running_provider)`."""
    provider = Provider().start()
    configure(settings, provider)
    try:
        yield provider
    finally:
        provider.stop()


def authorize_redirect(location: str) -> str:
    """Follow the provider's authorization endpoint over HTTP (what the browser does): the URL
    it sends the browser back to."""
    response = httpx.get(location, follow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def login_through(client, next_url: str = ""):
    """The whole e-ID login with Django's test client: our start page, the provider's
    authorization endpoint over real HTTP, then our callback (which calls the provider's token
    endpoint itself). Returns the callback's response."""
    start = "/accounts/eid/login/" + (f"?{urlencode({'next': next_url})}" if next_url else "")
    response = client.get(start)
    assert response.status_code == 302, response.content[:500]
    back = authorize_redirect(response["Location"])
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")
