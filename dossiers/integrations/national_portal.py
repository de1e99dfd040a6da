"""The payload profile of the National Public Service Portal's dossier status sync.

Field names follow the portal's published integration documents for the one-stop dossier sync
(MaHoSo, MaTTHC, NgayTiepNhan, NgayHenTra, TrangThaiHoSo, QuaTrinhXuLy, …) as far as they could
be checked here; docs/integrations.md lists each field, its meaning, and which ones are NOT
verified against the official specification. Dates are `yyyyMMddHHmmss` in Vietnam time, as
the portal's documents write them.
"""

from __future__ import annotations

import datetime as dt

from ..models import FeedEntry
from ..worktime import VN_TZ

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
                "NoiDungXuLy": step["note"] or step["event"],
                "TrangThai": dossier["national_status_code"],
            }
        ],
    }
    if personal:
        applicant = entry.personal.get("applicant", {})
        data["ChuHoSo"] = applicant.get("full_name", "")
        data["SoGiayToChuHoSo"] = applicant.get("id_number", "")
    return {"type": entry.event_type, "timestamp": entry.created_at.isoformat(), "data": data}
