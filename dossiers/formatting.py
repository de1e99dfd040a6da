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


def place_and_date(place: str, value) -> str:
    """The national forms' place-and-date line: 'Vĩnh Bảo, ngày 03 tháng 12 năm 2026'. As
    Nghị định 30/2020/NĐ-CP writes it: a day below 10 and the months 1 and 2 take a leading 0."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(VN_TZ).date()
    line = _("ngày %(day)s tháng %(month)s năm %(year)s") % {
        "day": f"{value.day:02d}",
        "month": f"{value.month:02d}" if value.month < 3 else str(value.month),
        "year": value.year,
    }
    return f"{place}, {line}" if place else line[:1].upper() + line[1:]
