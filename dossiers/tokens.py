"""API tokens: issue (the key shown once), check, list and revoke.

A token lives ONESTOP_API_TOKEN_DAYS days. Changing the password or deactivating the account
revokes every token of that account (`revoke_on_credential_change`, connected to the user
model's pre_save in apps.py), whoever made the change: the user, a password reset, the admin or
`manage.py changepassword`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

from . import clock
from .models import ApiToken

# Touching last_used_at on every request would be a write per API call: once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=settings.ONESTOP_API_TOKEN_DAYS)


def issue(user, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the key (which is stored nowhere)."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        key_hash=_hash(key),
        prefix=key[:8],
        created_at=now,
        expires_at=now + lifetime(),
    )
    return token, key


def live_tokens(user):
    """`user`'s tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=clock.now())


def check(key: str) -> ApiToken | None:
    """The live token with this key (its user active), else None."""
    if not key:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    now = clock.now()
    if token is None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())


def revoke_all(user) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


def revoke_on_credential_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of the user model: a new password or a deactivation ends every token."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login on every login
    before = get_user_model().objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password or (before["is_active"] and not instance.is_active):
        revoke_all(instance)
