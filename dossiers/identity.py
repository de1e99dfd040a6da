"""The national e-ID as the domain sees it: the assurance level (OpenID Connect `acr`) a
session's e-ID login proved, and whether it meets what a procedure requires.

The login itself (the OpenID Connect relying party) is the citizens' side: citizens/eid.py. It
puts what the provider said into the session under SESSION_KEY; `Actor.from_request` reads the
level from there, so every service sees it without knowing about HTTP.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

# The applicant's fields a login with the e-ID vouches for: read-only once they come from it.
EID_FIELDS = ("full_name", "id_number", "date_of_birth")

# The session entry of an e-ID login: {"user_id", "acr", "issuer", "at"}.
SESSION_KEY = "onestop_eid"


def session_acr(session, user) -> str | None:
    """The `acr` of this session's e-ID login of `user` ("" when the provider gave none), or
    None when the session did not log in with the e-ID."""
    if session is None or not getattr(user, "is_authenticated", False):
        return None
    login = session.get(SESSION_KEY)
    if not isinstance(login, dict) or login.get("user_id") != user.pk:
        return None
    return str(login.get("acr") or "")


def acr_rank(acr: str) -> int:
    """The level's place in ONESTOP_EID_ACR_ORDER (lowest first); -1 when it is not listed."""
    order = list(settings.ONESTOP_EID_ACR_ORDER)
    return order.index(acr) if acr in order else -1


def acr_meets(acr: str, minimum: str) -> bool:
    """`acr` is `minimum` or above it in ONESTOP_EID_ACR_ORDER (a level not listed there meets
    only itself)."""
    if acr == minimum:
        return True
    rank, needed = acr_rank(acr), acr_rank(minimum)
    return rank >= 0 and needed >= 0 and rank >= needed


def eid_problem(procedure, acr: str | None) -> str | None:
    """Why a filing of `procedure` by a session with e-ID level `acr` (None: no e-ID login) is
    refused, or None when it is not."""
    if not procedure.eid_required:
        return None
    if acr is None:
        return _("Thủ tục này yêu cầu đăng nhập bằng định danh điện tử trước khi nộp hồ sơ.")
    minimum = procedure.eid_min_acr
    if minimum and not acr_meets(acr, minimum):
        return _(
            "Thủ tục này yêu cầu đăng nhập bằng định danh điện tử mức %(minimum)s; "
            "phiên đăng nhập của bạn ở mức %(acr)s."
        ) % {"minimum": minimum, "acr": acr or "—"}
    return None
