from contextlib import suppress

from django.core.exceptions import ObjectDoesNotExist

from dossiers.permissions import is_official, is_staff_reader, is_supervisor, memberships_of
from dossiers.workflow import Role


def roles(request):
    """What the navigation offers (the office to officials) and who the header says is logged in.

    Staff: the request's one cached membership query (which the office and supervision views
    make anyway) gives the roles and agencies; a citizen's name costs one profile query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "is_official": False,
            "is_supervisor": False,
            "is_staff_reader": False,
            "signed_in": None,
        }
    return {
        "is_official": is_official(user),
        "is_supervisor": is_supervisor(user),
        "is_staff_reader": is_staff_reader(user),
        "signed_in": _signed_in(user),
    }


def _signed_in(user) -> dict:
    """The header's "who am I": a name, and for staff their roles (in the active language) at
    each of their agencies."""
    posts: dict[int, dict] = {}
    # In the roles' own order (reception before specialist...), whatever order the rows come in.
    order = list(Role.values)
    for membership in sorted(memberships_of(user), key=lambda m: order.index(m.role)):
        post = posts.setdefault(
            membership.agency_id, {"agency": membership.agency.name, "roles": []}
        )
        post["roles"].append(str(Role(membership.role).label))
    name, is_citizen = user.get_full_name(), False
    if not posts and not (user.is_staff or user.is_superuser):
        # An administrator has no profile: their name alone, without asking. The profile is
        # cached on the user when the view already read it.
        with suppress(ObjectDoesNotExist):
            name, is_citizen = user.citizen_profile.full_name, True
    return {
        "name": name or user.get_username(),
        "posts": list(posts.values()),
        "is_citizen": is_citizen,
    }
