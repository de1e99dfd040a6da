"""Writes of the citizen side: accounts and the profile (data given once)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dossiers import clock
from dossiers.errors import Forbidden, ValidationFailed
from dossiers.identity import EID_FIELDS
from dossiers.models import ApiToken
from dossiers.permissions import is_official, is_supervisor

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
    # The ID number identifies the account; what the e-ID vouched for is not the citizen's to edit.
    fixed = {"id_number"}
    if profile.eid_verified_at:
        fixed |= {name for name in EID_FIELDS if getattr(profile, name)}
    for name in PROFILE_FIELDS:
        if name in changes and name not in fixed:
            setattr(profile, name, changes[name])
    profile._history_user = user
    profile.save()
    if "email" in changes and user.email != changes["email"]:
        user.email = changes["email"] or ""
        user.save(update_fields=["email"])
    return profile


class EidLogin:
    """What `citizen_eid_login` did: the account, and whether it was made or linked now."""

    def __init__(self, user, *, created: bool, linked: bool):
        self.user, self.created, self.linked = user, created, linked


@transaction.atomic
def citizen_eid_login(*, identity) -> EidLogin:
    """The citizen account of a verified e-ID identity (citizens.eid.Identity): the profile
    with that ID number, or a new account.

    Linking rule (docs/integrations.md): the e-ID proves the number, a sign-up form does not.
    A profile someone made with this number by typing it is taken over by the person the e-ID
    vouches for: its name and date of birth become the e-ID's (read-only from now on), and its
    password stops working (with it every other session of the account and its API tokens), so
    whoever typed the number cannot keep a way in. Accounts of officials and supervisors are
    never logged into by e-ID, and a number already bound to another e-ID subject is refused.
    """
    now = clock.now()
    profile = (
        CitizenProfile.objects.select_for_update()
        .select_related("user")
        .filter(id_number=identity.id_number)
        .first()
    )
    if profile is None:
        if User.objects.filter(username=identity.id_number).exists():
            raise Forbidden(_("Số định danh này là tên của một tài khoản không phải công dân."))
        try:
            with transaction.atomic():
                user = User.objects.create_user(username=identity.id_number, password=None)
        except IntegrityError:  # the same person's second tab, a moment earlier
            raise Forbidden(_("Vui lòng đăng nhập lại.")) from None
        user.email = identity.email
        user.save(update_fields=["email"])
        profile = CitizenProfile(user=user, id_number=identity.id_number, email=identity.email)
        created, linked = True, False
    else:
        user = profile.user
        if user.is_staff or user.is_superuser or is_official(user) or is_supervisor(user):
            raise Forbidden(_("Tài khoản cán bộ không đăng nhập bằng định danh điện tử."))
        if (
            profile.eid_subject
            and profile.eid_issuer == identity.issuer
            and profile.eid_subject != identity.subject
        ):
            raise Forbidden(_("Số định danh này đã gắn với một định danh điện tử khác."))
        created, linked = False, profile.eid_verified_at is None
        if linked:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    profile.full_name = identity.full_name
    if identity.date_of_birth:
        profile.date_of_birth = identity.date_of_birth
    profile.eid_issuer = identity.issuer
    profile.eid_subject = identity.subject
    profile.eid_verified_at = now
    profile._history_user = user
    profile.save()
    return EidLogin(user, created=created, linked=linked)
