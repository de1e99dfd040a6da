"""Working-time arithmetic: office hours, weekends, Vietnamese holidays and the admin calendar.

The rules (see docs/deadlines.md):
- Working days are Monday to Friday, minus public holidays (`holidays`, country VN, which knows
  Tết on the lunar calendar) and the admin's extra days off, plus the admin's make-up working days.
- Office hours default to 07:00-11:30 and 13:30-17:00 (8 hours).
- A dossier received after the cut-off (15:00), outside office hours or on a day off counts from
  the next working morning.
- N working days: the result is due at closing time of the N-th working day after the day the
  clock starts (0 = the same day). N working hours: N hours of office time after the start.
  N calendar days: closing time N days after the start day, moved to the next working day
  when that day is off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

from .models.calendar import CalendarDay, TimeUnit

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of a Vietnam calendar day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), tzinfo=VN_TZ)


def _parse_hhmm(value: str) -> dt.time:
    hours, minutes = value.strip().split(":")
    return dt.time(int(hours), int(minutes))


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


@dataclass(frozen=True)
class WorkCalendar:
    """A snapshot of the working calendar. Build one per request or batch with `current()`."""

    extra_days_off: frozenset[dt.date] = frozenset()
    makeup_working_days: frozenset[dt.date] = frozenset()
    office_hours: tuple[tuple[dt.time, dt.time], ...] = (
        (dt.time(7, 0), dt.time(11, 30)),
        (dt.time(13, 30), dt.time(17, 0)),
    )
    cutoff: dt.time = dt.time(15, 0)
    tz: dt.tzinfo = field(default=VN_TZ)

    @classmethod
    def current(cls) -> WorkCalendar:
        # The table is tiny: one query per snapshot.
        days_off, working = set(), set()
        for day, kind in CalendarDay.objects.values_list("date", "kind"):
            (working if kind == CalendarDay.Kind.WORKING_DAY else days_off).add(day)
        return cls(
            extra_days_off=frozenset(days_off),
            makeup_working_days=frozenset(working),
            office_hours=tuple(
                (_parse_hhmm(start), _parse_hhmm(end))
                for start, end in settings.ONESTOP_OFFICE_HOURS
            ),
            cutoff=_parse_hhmm(settings.ONESTOP_INTAKE_CUTOFF),
        )

    # --- days -------------------------------------------------------------------------------

    @property
    def seconds_per_day(self) -> int:
        return sum(
            (
                dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
            ).seconds
            for start, end in self.office_hours
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays(day.year)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        day += dt.timedelta(days=1)
        for _i in range(366):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("no working day within a year")  # a misconfigured calendar

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """Office-hour intervals of `day` as aware datetimes (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [
            (
                dt.datetime.combine(day, start, tzinfo=self.tz),
                dt.datetime.combine(day, end, tzinfo=self.tz),
            )
            for start, end in self.office_hours
        ]

    def opening(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.office_hours[0][0], tzinfo=self.tz)

    def closing(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.office_hours[-1][1], tzinfo=self.tz)

    # --- instants ---------------------------------------------------------------------------

    def clock_start(self, received_at: dt.datetime) -> dt.datetime:
        """When the time limit starts counting for something received at `received_at`."""
        local = received_at.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.cutoff:
            for start, end in self.intervals(day):
                if local < end:
                    return max(local, start)
        return self.opening(self.next_working_day(day))

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant `seconds` of office time after `start`."""
        remaining = dt.timedelta(seconds=seconds)
        cursor = start.astimezone(self.tz)
        if remaining <= dt.timedelta(0):
            return cursor
        day = cursor.date()
        for _i in range(3660):
            for begin, end in self.intervals(day):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
            day += dt.timedelta(days=1)
        raise ValueError("working time too far in the future")

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Office time between two instants (0 when end is not after start)."""
        start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        if end <= start:
            return 0.0
        total = dt.timedelta(0)
        day = start.date()
        while day <= end.date():
            for begin, finish in self.intervals(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > dt.timedelta(0):
                    total += overlap
            day += dt.timedelta(days=1)
        return total.total_seconds()

    def due_at(self, clock_start: dt.datetime, value: int, unit: str) -> dt.datetime:
        """When a time limit of `value` `unit`s that started at `clock_start` runs out."""
        start = clock_start.astimezone(self.tz)
        if unit == TimeUnit.WORKING_HOURS:
            return self.add_working_seconds(start, value * 3600)
        if unit == TimeUnit.CALENDAR_DAYS:
            day = self.working_day_on_or_after(start.date() + dt.timedelta(days=value))
            return self.closing(day)
        if unit == TimeUnit.WORKING_DAYS:
            day = self.working_day_on_or_after(start.date())
            for _i in range(value):
                day = self.next_working_day(day)
            return self.closing(day)
        raise ValueError(f"unknown time unit {unit!r}")

    def is_due_soon(self, due: dt.datetime, now: dt.datetime) -> bool:
        """Not yet overdue, and at most one working day of office time left."""
        return now <= due <= self.due_soon_threshold(now)

    def due_soon_threshold(self, now: dt.datetime) -> dt.datetime:
        """Due dates up to this instant are 'due soon' (for queryset filters)."""
        return self.add_working_seconds(now, self.seconds_per_day)

    def is_within_office_hours(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.tz)
        return any(start <= local <= end for start, end in self.intervals(local.date()))
