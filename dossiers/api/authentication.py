"""How API requests authenticate: an expiring, revocable token (`Authorization: Token <key>`,
dossiers/tokens.py), or the browser's session once it has passed the second factor."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)

from .. import tokens
from ..permissions import needs_second_factor


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Khoá API không hợp lệ."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Khoá API không hợp lệ.")) from None
        token = tokens.check(key)
        if token is None:
            # Unknown, expired, revoked, or its account deactivated: one answer for all.
            raise exceptions.AuthenticationFailed(
                _("Khoá API không hợp lệ, đã hết hạn hoặc đã bị thu hồi.")
            )
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class VerifiedSessionAuthentication(SessionAuthentication):
    """A session counts for staff only after the second factor (django-otp's OTPMiddleware
    says so with `user.is_verified()`); an unverified staff session is no authentication."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        verified = getattr(user, "is_verified", None)
        if needs_second_factor(user) and not (verified and verified()):
            return None
        return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=ApiTokenAuthentication.keyword
        )


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = VerifiedSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
