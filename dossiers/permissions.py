"""Who sees what and who may do what. One visibility rule for every list, page, file and API.

- A citizen sees their own dossiers (drafts included).
- An official sees the non-draft dossiers whose receiving or competent agency is one of theirs.
- A supervisor sees the non-draft dossiers of every agency in their province (their agency and
  the agencies below it); a supervisor never acts.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.db.models import Q

from .models import Agency, Dossier, Membership
from .workflow import OFFICIAL_ROLES, Role, Status, permission_codename


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_onestop_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("agency"))
        user._onestop_memberships = cached
    return cached


def official_agency_ids(user) -> set[int]:
    return {m.agency_id for m in memberships_of(user) if m.role in OFFICIAL_ROLES}


def supervised_agency_ids(user) -> set[int]:
    roots = {m.agency_id for m in memberships_of(user) if m.role == Role.SUPERVISOR}
    if not roots:
        return set()
    children = Agency.objects.filter(parent_id__in=roots).values_list("id", flat=True)
    return roots | set(children)


def is_official(user) -> bool:
    return bool(official_agency_ids(user))


def is_supervisor(user) -> bool:
    return any(m.role == Role.SUPERVISOR for m in memberships_of(user))


def visibility_filter(user) -> Q:
    """The Q a dossier queryset is filtered with for `user` (matches nothing for anonymous)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    condition = Q(applicant_user=user)
    agencies = official_agency_ids(user) | supervised_agency_ids(user)
    if agencies:
        condition |= ~Q(status=Status.DRAFT) & (
            Q(receiving_agency_id__in=agencies) | Q(competent_agency_id__in=agencies)
        )
    return condition


def visible_dossiers(user):
    return Dossier.objects.filter(visibility_filter(user))


def can_see(user, dossier: Dossier) -> bool:
    if not user.is_authenticated:
        return False
    if dossier.applicant_user_id == user.pk:
        return True
    if dossier.status == Status.DRAFT:
        return False
    agencies = official_agency_ids(user) | supervised_agency_ids(user)
    return bool({dossier.receiving_agency_id, dossier.competent_agency_id} & agencies)


def roles_at(user, agency_ids: Iterable[int]) -> set[str]:
    wanted = set(agency_ids)
    return {m.role for m in memberships_of(user) if m.agency_id in wanted}


def granted_permissions(user) -> set[tuple[str, str]]:
    """(role, codename) pairs the groups of the user's roles hold: one query per request."""
    cached = getattr(user, "_onestop_granted", None)
    if cached is None:
        roles = {m.role for m in memberships_of(user)}
        cached = set(
            Permission.objects.filter(
                group__name__in=roles, content_type__app_label="dossiers"
            ).values_list("group__name", "codename")
        )
        user._onestop_granted = cached
    return cached


def official_roles_for(user, dossier: Dossier, action: str) -> list[str]:
    """The official roles through which `user` may fire `action` on `dossier` (any status)."""
    held = roles_at(user, {dossier.receiving_agency_id, dossier.competent_agency_id})
    if not held:
        return []
    granted = granted_permissions(user)
    codename = permission_codename(action)
    return [role for role in OFFICIAL_ROLES if role in held and (role, codename) in granted]


def agency_ids_with_role(user, role: str) -> set[int]:
    return {m.agency_id for m in memberships_of(user) if m.role == role}
