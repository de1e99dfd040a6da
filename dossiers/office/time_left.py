"""What an official reads about a dossier's deadline: the office time left (or overdue) in words,
never by colour alone, counted in working time as the legal time limit is."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..appointment import paused_reason
from ..models import ClockPause, Dossier, TimeUnit
from ..workflow import CLOCK_RUNNING_STATUSES
from ..worktime import WorkCalendar


@dataclass(frozen=True)
class TimeLeft:
    text: str
    state: str  # "overdue", "due_soon", "running" or "paused": a class name and a test hook


def span_text(seconds: float, calendar: WorkCalendar) -> str:
    """Office time in working days and hours: "2 ngày 4 giờ", "1 ngày", "3 giờ", "20 phút"."""
    seconds = int(seconds)
    days, rest = divmod(seconds, calendar.seconds_per_day)
    hours, rest = divmod(rest, 3600)
    if days and hours:
        return _("%(days)d ngày %(hours)d giờ") % {"days": days, "hours": hours}
    if days:
        return _("%(days)d ngày") % {"days": days}
    if hours:
        return _("%(hours)d giờ") % {"hours": hours}
    return _("%(minutes)d phút") % {"minutes": max(1, rest // 60)}


def counting_from(dossier: Dossier, calendar: WorkCalendar):
    """When the time limit starts to be spent. A limit in working days counts from the working
    day after the clock's start (the day of receipt is not one of them: see
    WorkCalendar.due_at), so on that day the whole limit is still left."""
    start = dossier.clock_started_at
    if start is None or dossier.procedure.time_limit_unit != TimeUnit.WORKING_DAYS:
        return start
    return calendar.opening(calendar.next_working_day(start.astimezone(calendar.tz).date()))


def time_left(dossier: Dossier, now, calendar: WorkCalendar) -> TimeLeft | None:
    """The deadline in words while the clock runs or is paused; None otherwise."""
    due = dossier.original_due_at
    if due is None:
        return None
    # Whether the clock is stopped, and why: the rule the appointment and its slip follow.
    reason = paused_reason(dossier)
    if reason == ClockPause.Reason.SUPPLEMENT:
        return TimeLeft(_("tạm dừng tính thời hạn: chờ bổ sung hồ sơ"), "paused")
    if reason == ClockPause.Reason.PAYMENT:
        return TimeLeft(_("tạm dừng tính thời hạn: chờ nộp phí, lệ phí"), "paused")
    if dossier.status not in CLOCK_RUNNING_STATUSES:
        return None
    if now > due:
        late = calendar.working_seconds_between(due, now)
        return TimeLeft(_("quá hạn %(span)s") % {"span": span_text(late, calendar)}, "overdue")
    start = counting_from(dossier, calendar)
    left = calendar.working_seconds_between(max(now, start) if start else now, due)
    state = "due_soon" if calendar.is_due_soon(due, now) else "running"
    return TimeLeft(_("còn %(span)s") % {"span": span_text(left, calendar)}, state)
