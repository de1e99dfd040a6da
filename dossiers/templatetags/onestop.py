"""Vietnamese conventions for dates, times and money in templates and PDFs."""

from django import template

from dossiers.formatting import vn_date, vn_datetime, vnd

register = template.Library()
register.filter("vn_datetime", vn_datetime)
register.filter("vn_date", vn_date)
register.filter("vnd", vnd)


@register.filter
def person(user) -> str:
    """A user's display name ('—' for nobody)."""
    if not user:
        return "—"
    return user.get_full_name() or user.get_username()
