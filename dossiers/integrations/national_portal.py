"""The payload profile of the National Public Service Portal's dossier status sync.

Field names are those the portal's one-stop dossier sync is known by (MaHoSo, MaTTHC,
NgayTiepNhan, NgayHenTra, TrangThaiHoSo, QuaTrinhXuLy, …); they could NOT be checked against the
official specification here: docs/integrations.md lists each field, its meaning and that.
Dates are `yyyyMMddHHmmss` in Vietnam time.
"""

from __future__ import annotations

import datetime as dt

from ..models import FeedEntry
from ..workflow import EventType
from ..worktime import VN_TZ
from . import feed

# onestop channel -> the portal's KenhThucHien (1 direct, 2 online, 3 postal).
CHANNEL = {1: 1, 2: 2, 3: 3, 4: 2, 5: 2}


def portal_time(value: str | None) -> str:
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def message(entry: FeedEntry, *, personal: bool) -> dict:
    """The body sent to a subscription with the national portal profile."""
    dossier, step = entry.payload["dossier"], entry.payload["step"]
    data = {
        "MaHoSo": dossier["code"],
        "MaTTHC": dossier["procedure"],
        "MaCoQuanTiepNhan": dossier["receiving_agency"],
        "MaCoQuanGiaiQuyet": dossier["competent_agency"],
        "KenhThucHien": CHANNEL.get(dossier["channel"], 2),
        "TrangThaiHoSo": dossier["national_status_code"],
        "NgayTiepNhan": portal_time(dossier["received_at"]),
        "NgayHenTra": portal_time(dossier["due_at"]),
        "NgayKetThucXuLy": portal_time(dossier["resolved_at"]),
        "NgayTra": portal_time(dossier["finished_at"]),
        "QuaTrinhXuLy": [
            {
                "MaHoSo": dossier["code"],
                "NguoiXuLy": step["actor_name"],
                "ChucDanh": step["role"],
                "MaDonViXuLy": step["agency"] or "",
                "ThoiDiemXuLy": portal_time(step["at"]),
                # The portal may show the history to the citizen: internal notes stay here.
                "NoiDungXuLy": (step["note"] if step["event"] in feed.PUBLIC_NOTES else "")
                or str(EventType(step["event"]).label),
                "TrangThai": dossier["national_status_code"],
            }
        ],
    }
    if personal:
        applicant = entry.personal.get("applicant", {})
        data["ChuHoSo"] = applicant.get("full_name", "")
        data["SoGiayToChuHoSo"] = applicant.get("id_number", "")
    return {"type": entry.event_type, "timestamp": entry.created_at.isoformat(), "data": data}
