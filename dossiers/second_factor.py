"""The staff's second factor (django-otp): one TOTP device (an authenticator app) and a set of
single-use recovery codes per person.

Enrolment: `start_enrolment` makes an unconfirmed TOTP device (its secret shown as a QR code and
as text), `confirm_enrolment` confirms it with a first code and returns fresh recovery codes
(shown once). `verify` accepts a current TOTP code (each one once: django-otp refuses a code of
a time step already used) or an unused recovery code (deleted as it is used); both devices
throttle repeated failures (growing waits).
"""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def start_enrolment(user) -> TOTPDevice:
    """The user's pending (unconfirmed) TOTP device, made if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


@transaction.atomic
def confirm_enrolment(device: TOTPDevice, code: str) -> list[str] | None:
    """Confirms `device` if `code` is its current code: the new recovery codes, else None."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token(normalize(code)):
        return None
    # One authenticator per person: a new one replaces the old.
    TOTPDevice.objects.filter(user=device.user_id).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(device.user)


@transaction.atomic
def new_recovery_codes(user) -> list[str]:
    """Replaces the user's recovery codes by a fresh set (the old ones stop working)."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def verify(user, code: str):
    """The device that accepts `code` (a current TOTP code or an unused recovery code), else
    None. Devices are locked while checking, so a code is never accepted twice."""
    code = normalize(code)
    if not code or not user.is_authenticated:
        return None
    if code.isdigit() and len(code) <= 8:  # TOTP codes; recovery codes are 8 base32 letters
        candidates = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        candidates = StaticDevice.objects.filter(user=user, confirmed=True)
    for device in candidates.select_for_update():
        if device.verify_token(code):
            return device
    return None


def remove_all(user) -> None:
    """Forget the user's second factor (an administrator's reset: they enrol again)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
