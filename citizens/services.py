"""Writes of the citizen side: accounts and the profile (data given once)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dossiers.errors import ValidationFailed

from .models import CitizenProfile

User = get_user_model()
PROFILE_FIELDS = ("full_name", "id_number", "date_of_birth", "phone", "email", "address")


@transaction.atomic
def citizen_sign_up(*, password: str, **profile) -> User:
    """A new citizen account; the 12-digit ID number is the login name."""
    id_number = profile["id_number"]
    if (
        User.objects.filter(username=id_number).exists()
        or CitizenProfile.objects.filter(id_number=id_number).exists()
    ):
        raise ValidationFailed(
            fields={"id_number": [_("Số định danh cá nhân này đã có tài khoản.")]}
        )
    try:
        user = User.objects.create_user(
            username=id_number, password=password, email=profile.get("email", "")
        )
    except IntegrityError:  # a concurrent sign-up with the same number
        raise ValidationFailed(
            fields={"id_number": [_("Số định danh cá nhân này đã có tài khoản.")]}
        ) from None
    profile_row = CitizenProfile(user=user, **{k: profile.get(k) for k in PROFILE_FIELDS})
    profile_row._history_user = user
    profile_row.save()
    return user


@transaction.atomic
def citizen_update_profile(*, user, **changes) -> CitizenProfile:
    profile = CitizenProfile.objects.select_for_update().get(user=user)
    for name in PROFILE_FIELDS:
        if name in changes and name != "id_number":  # the ID number identifies the account
            setattr(profile, name, changes[name])
    profile._history_user = user
    profile.save()
    if "email" in changes and user.email != changes["email"]:
        user.email = changes["email"] or ""
        user.save(update_fields=["email"])
    return profile
