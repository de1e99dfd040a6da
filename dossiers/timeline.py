"""The citizen's plain-language timeline: what happened, without internal notes or names."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .formatting import vn_datetime, vnd
from .models import Dossier, DossierEvent
from .workflow import EventType

# Internal steps the applicant does not see (proposals, notes, reads, renderings).
HIDDEN = {
    EventType.PROPOSED,
    EventType.SENT_BACK,
    EventType.NOTE_ADDED,
    EventType.VIEWED,
    EventType.SLIP_RENDERED,
}


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    title: str
    detail: str = ""


def _text(event: DossierEvent) -> tuple[str, str]:
    data, kind = event.data, event.event_type
    if kind == EventType.CREATED:
        return _("Tạo hồ sơ (bản nháp)"), ""
    if kind == EventType.SUBMITTED:
        return _("Đã nộp hồ sơ trực tuyến"), _("Chờ cán bộ một cửa kiểm tra và tiếp nhận.")
    if kind in (EventType.RECEIVED, EventType.INTAKE):
        return _("Hồ sơ được tiếp nhận"), _("Hẹn trả kết quả: %(due)s.") % {
            "due": vn_datetime(data.get("due_at"))
        }
    if kind == EventType.REFUSED:
        return _("Hồ sơ không được tiếp nhận"), _("Lý do: %(reason)s") % {"reason": event.note}
    if kind == EventType.SUPPLEMENT_REQUESTED:
        names = "; ".join(data.get("document_names", []))
        return _("Cơ quan yêu cầu bổ sung hồ sơ"), _(
            "Giấy tờ cần bổ sung: %(names)s. Lý do: %(reason)s"
        ) % {"names": names, "reason": event.note}
    if kind == EventType.SUPPLEMENTED:
        detail = ""
        if data.get("due_at"):
            detail = _("Hẹn trả kết quả: %(due)s.") % {"due": vn_datetime(data["due_at"])}
        return _("Hồ sơ đã được bổ sung"), detail
    if kind == EventType.ASSIGNED:
        return _("Hồ sơ đang được xử lý"), ""
    if kind == EventType.APPROVED:
        return _("Đã có kết quả giải quyết"), _("Kết quả sẵn sàng để trả.")
    if kind == EventType.PAYMENT_REQUESTED:
        return _("Cần thực hiện nghĩa vụ tài chính"), _("Số tiền: %(amount)s.") % {
            "amount": vnd(data.get("amount_vnd"))
        }
    if kind == EventType.PAYMENT_RECORDED:
        return _("Đã ghi nhận nộp phí"), ""
    if kind == EventType.RETURNED:
        delivery = Dossier.Delivery(data["delivery"]).label if data.get("delivery") else ""
        return _("Đã trả kết quả"), delivery
    if kind == EventType.WITHDRAWN:
        return _("Hồ sơ đã được rút"), _("Lý do: %(reason)s") % {"reason": event.note}
    if kind == EventType.STOPPED:
        return _("Hồ sơ bị dừng xử lý"), _("Lý do: %(reason)s") % {"reason": event.note}
    if kind == EventType.RESCHEDULED:
        return _("Cơ quan xin lỗi và hẹn lại ngày trả kết quả"), _(
            "Ngày hẹn mới: %(due)s. Lý do: %(reason)s"
        ) % {"due": vn_datetime(data.get("due_at")), "reason": event.note}
    if kind == EventType.RATED:
        rating = Dossier.Rating(data["rating"]).label if data.get("rating") else ""
        return _("Bạn đã đánh giá dịch vụ"), rating
    return EventType(kind).label, ""


def citizen_timeline(dossier: Dossier) -> list[TimelineEntry]:
    entries = []
    for event in dossier.events.exclude(event_type__in=HIDDEN).order_by("seq"):
        title, detail = _text(event)
        entries.append(TimelineEntry(at=event.created_at, title=title, detail=detail))
    return entries
