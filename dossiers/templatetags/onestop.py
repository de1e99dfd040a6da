"""Vietnamese conventions for dates, times and money in templates and PDFs; a dossier's reads
folded into one line."""

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from dossiers import access
from dossiers.formatting import vn_date, vn_datetime, vnd
from dossiers.workflow import Role

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


@register.filter
def breakable(value, every=8) -> str:
    """A long unbroken string (a hash, a key) that may wrap every `every` characters on a
    narrow screen: <wbr> break opportunities, no visible change, copied whole."""
    text = str(value or "")
    chunks = [conditional_escape(text[i : i + every]) for i in range(0, len(text), every)]
    # Safe: every chunk is escaped above; only the <wbr> tags are markup.
    return mark_safe("<wbr>".join(chunks))  # nosec B308 B703


@register.filter
def role_labels(value) -> str:
    """Roles as stored ('reception', or a reader's 'reception,specialist') in words."""
    labels = dict(Role.choices)
    return ", ".join(
        str(labels.get(r.strip(), r.strip())) for r in str(value or "").split(",") if r.strip()
    )


@register.simple_tag
def figure(key, value, query) -> str:
    """An indicator's number, linking to its dossiers (a tag, not an include: no stray
    whitespace before the punctuation that follows it)."""
    return format_html(
        '<a href="{}?figure={}&amp;{}">{}</a>', reverse("supervision:dossiers"), key, query, value
    )


@register.inclusion_tag("supervision/_reads.html", takes_context=True)
def reads_summary(context, dossier):
    """The dossier's staff reads folded into one line (they are not in its audit chain); the
    link to the access log only for supervisors."""
    return {
        "dossier": dossier,
        "reads": access.reads_summary(dossier),
        "is_supervisor": context.get("is_supervisor", False),
    }
