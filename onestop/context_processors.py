from dossiers.permissions import is_official, is_staff_reader, is_supervisor


def roles(request):
    """What the navigation offers: the office to officials (one cached membership query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_official": False, "is_supervisor": False, "is_staff_reader": False}
    return {
        "is_official": is_official(user),
        "is_supervisor": is_supervisor(user),
        "is_staff_reader": is_staff_reader(user),
    }
