"""`{% eid_button next %}`: the "log in with the national e-ID" button (citizens/eid.py), shown
only when an e-ID provider is configured."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from .. import eid

register = template.Library()


@register.inclusion_tag("citizens/_eid_button.html")
def eid_button(next_url=""):
    href = reverse("citizens:eid_start")
    if next_url:
        href += "?" + urlencode({"next": next_url})
    return {"enabled": eid.enabled(), "label": eid.button_label(), "href": href}
