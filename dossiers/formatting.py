"""Dates as hh:mm dd/mm/yyyy in Vietnam time; money as 15.000 đồng."""

import datetime as dt

from django.utils.translation import gettext as _

from .worktime import VN_TZ


def vn_datetime(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def vn_date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")


def vnd(amount) -> str:
    """15000 -> '15.000 đồng'; 0 -> 'Miễn phí'; None -> 'Chưa xác định'."""
    if amount is None or amount == "":
        return _("Chưa xác định")
    if int(amount) == 0:
        return _("Miễn phí")
    return _("%(amount)s đồng") % {"amount": f"{int(amount):,}".replace(",", ".")}
