"""Working-time arithmetic. Expected values are worked out by hand from the 2026 calendar:
Monday 2 March 2026 starts an ordinary week; Tết holidays run Monday 16 - Friday 20 February."""

import datetime as dt

import pytest

from dossiers import clock, services
from dossiers.demo import scenarios
from dossiers.models import CalendarDay, ClockPause, Dossier
from dossiers.workflow import Status
from dossiers.worktime import WorkCalendar

from .conftest import actor, vn

CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("received", "value", "unit", "due"),
    [
        # Friday + 3 working days skips the weekend: Mon, Tue, Wed.
        (vn(2026, 3, 6, 10), 3, "working_days", vn(2026, 3, 11, 17)),
        # "Same day" = 0 working days: closing time of the day received ...
        (vn(2026, 3, 2, 14, 59), 0, "working_days", vn(2026, 3, 2, 17)),
        # ... but after the 15:00 cut-off it counts from the next working morning.
        (vn(2026, 3, 2, 15, 30), 0, "working_days", vn(2026, 3, 3, 17)),
        (vn(2026, 3, 6, 15, 30), 0, "working_days", vn(2026, 3, 9, 17)),
        # Tết: received the Friday before, the five holidays and two weekends are skipped.
        (vn(2026, 2, 13, 9), 3, "working_days", vn(2026, 2, 25, 17)),
        # Received on a holiday: counts from the first working morning after Tết.
        (vn(2026, 2, 18, 9), 0, "working_days", vn(2026, 2, 23, 17)),
        # Hùng Kings (observed Monday 27 April), 30 April and 1 May 2026.
        (vn(2026, 4, 24, 9), 2, "working_days", vn(2026, 4, 29, 17)),
        (vn(2026, 4, 29, 9), 1, "working_days", vn(2026, 5, 4, 17)),
        # Working hours follow office hours and the lunch break: 1.5 h + 3.5 h + 3 h.
        (vn(2026, 3, 2, 10), 8, "working_hours", vn(2026, 3, 3, 10)),
        # Calendar days landing on a Saturday move to the next working day.
        (vn(2026, 3, 2, 9), 5, "calendar_days", vn(2026, 3, 9, 17)),
        (vn(2026, 3, 2, 9), 3, "calendar_days", vn(2026, 3, 5, 17)),
    ],
)
def test_due_dates(received, value, unit, due):
    assert CAL.due_at(CAL.clock_start(received), value, unit) == due


@pytest.mark.parametrize(
    ("received", "start"),
    [
        (vn(2026, 3, 2, 6, 0), vn(2026, 3, 2, 7, 0)),  # before opening
        (vn(2026, 3, 2, 12, 0), vn(2026, 3, 2, 13, 30)),  # lunch break
        (vn(2026, 3, 2, 9, 15), vn(2026, 3, 2, 9, 15)),  # office hours
        (vn(2026, 3, 6, 16, 0), vn(2026, 3, 9, 7, 0)),  # Friday after cut-off
        (vn(2026, 3, 7, 9, 0), vn(2026, 3, 9, 7, 0)),  # Saturday
    ],
)
def test_clock_start(received, start):
    assert CAL.clock_start(received) == start


def test_clock_start_accepts_utc_input():
    received_utc = vn(2026, 3, 2, 9, 15).astimezone(dt.UTC)
    assert CAL.clock_start(received_utc) == vn(2026, 3, 2, 9, 15)


def test_admin_day_off_is_skipped():
    cal = WorkCalendar(extra_days_off=frozenset({dt.date(2026, 3, 10)}))
    # Friday + 3: Mon 9, (Tue 10 off), Wed 11, Thu 12.
    assert cal.due_at(cal.clock_start(vn(2026, 3, 6, 10)), 3, "working_days") == vn(2026, 3, 12, 17)


def test_makeup_saturday_counts():
    cal = WorkCalendar(makeup_working_days=frozenset({dt.date(2026, 3, 7)}))
    # Friday + 3: Sat 7 (make-up), Mon 9, Tue 10.
    assert cal.due_at(cal.clock_start(vn(2026, 3, 6, 10)), 3, "working_days") == vn(2026, 3, 10, 17)
    assert cal.clock_start(vn(2026, 3, 7, 9)) == vn(2026, 3, 7, 9)


def test_calendar_table_from_the_database(db):
    CalendarDay.objects.create(date=dt.date(2026, 3, 10), kind="day_off", reason="Nghỉ bổ sung")
    CalendarDay.objects.create(date=dt.date(2026, 3, 14), kind="working_day", reason="Làm bù")
    cal = WorkCalendar.current()
    assert not cal.is_working_day(dt.date(2026, 3, 10))
    assert cal.is_working_day(dt.date(2026, 3, 14))
    assert cal.due_at(cal.clock_start(vn(2026, 3, 9, 9)), 4, "working_days") == vn(2026, 3, 14, 17)


def test_working_seconds_between_spans_nights_and_weekends():
    assert CAL.working_seconds_between(vn(2026, 3, 6, 16), vn(2026, 3, 9, 8)) == 2 * 3600
    assert CAL.working_seconds_between(vn(2026, 3, 9, 8), vn(2026, 3, 6, 16)) == 0
    assert CAL.working_seconds_between(vn(2026, 3, 2, 7), vn(2026, 3, 3, 7)) == 8 * 3600


def test_adding_working_time_from_closing_time():
    assert CAL.add_working_seconds(vn(2026, 3, 6, 17), 8 * 3600) == vn(2026, 3, 9, 17)
    assert CAL.add_working_seconds(vn(2026, 3, 6, 17), 3600) == vn(2026, 3, 9, 8)


def test_office_hours_and_cutoff_are_settings(settings, db):
    settings.ONESTOP_OFFICE_HOURS = [("08:00", "12:00"), ("13:00", "17:00")]
    settings.ONESTOP_INTAKE_CUTOFF = "16:00"
    cal = WorkCalendar.current()
    assert cal.clock_start(vn(2026, 3, 2, 15, 30)) == vn(2026, 3, 2, 15, 30)
    assert cal.clock_start(vn(2026, 3, 2, 7, 30)) == vn(2026, 3, 2, 8, 0)
    assert cal.seconds_per_day == 8 * 3600


@pytest.mark.parametrize(
    ("now", "soon"),
    [
        (vn(2026, 3, 2, 16), False),  # Tue 17:00 is more than 8 office hours away
        (vn(2026, 3, 2, 17, 30), True),  # exactly one working day left
        (vn(2026, 3, 3, 9), True),
        (vn(2026, 3, 3, 17, 1), False),  # overdue, not due soon
    ],
)
def test_due_soon(now, soon):
    assert CAL.is_due_soon(vn(2026, 3, 3, 17), now) is soon


# --- deadlines on real dossiers --------------------------------------------------------------

PROCESSING_TIMES = [
    vn(2026, 3, 2, 8),
    vn(2026, 3, 2, 8, 30),
    vn(2026, 3, 2, 9),
    vn(2026, 3, 2, 9, 30),
]


def _supplement_cycle(dossier, cast, specialist, asked_at, answered_at):
    with clock.frozen(asked_at):
        dossier = services.dossier_request_supplement(
            actor=actor(specialist),
            dossier=dossier,
            documents=[dossier.procedure.documents.first().pk],
            reason="Thiếu",
        )
    assert dossier.status == Status.SUPPLEMENT_REQUESTED
    with clock.frozen(answered_at):
        return scenarios.step(dossier, "supplement", cast)


def test_received_dossier_gets_its_due_date(make_dossier):
    dossier = make_dossier(Status.RECEIVED, times=PROCESSING_TIMES[:3])
    assert dossier.received_at == vn(2026, 3, 2, 9)
    assert dossier.due_at == dossier.original_due_at == vn(2026, 3, 5, 17)


def test_supplement_restarts_the_time_limit(make_dossier, cast, specialist):
    dossier = make_dossier(Status.PROCESSING, times=PROCESSING_TIMES)
    assert dossier.original_due_at == vn(2026, 3, 5, 17)
    back = _supplement_cycle(dossier, cast, specialist, vn(2026, 3, 3, 10), vn(2026, 3, 9, 10))
    assert back.status == Status.PROCESSING
    assert back.clock_started_at == vn(2026, 3, 9, 10)
    assert back.original_due_at == back.due_at == vn(2026, 3, 12, 17)
    pause = ClockPause.objects.get(dossier=back)
    assert (pause.started_at, pause.ended_at) == (vn(2026, 3, 3, 10), vn(2026, 3, 9, 10))


def test_supplement_pauses_the_time_limit(make_dossier, cast, specialist, paused_procedure):
    dossier = make_dossier(Status.PROCESSING, procedure=paused_procedure, times=PROCESSING_TIMES)
    back = _supplement_cycle(dossier, cast, specialist, vn(2026, 3, 3, 10), vn(2026, 3, 9, 10))
    # Paused office time: Tue 5 h + Wed, Thu, Fri 8 h + Mon 3 h = 32 h = 4 working days.
    pause = ClockPause.objects.get(dossier=back)
    assert pause.working_seconds == 32 * 3600
    assert back.original_due_at == back.due_at == vn(2026, 3, 11, 17)
    assert back.clock_started_at == vn(2026, 3, 2, 9)  # the clock was not restarted
    assert back.events.last().data["clock"] == "resumed"


def test_overdue_and_due_soon_querysets(make_dossier, cast, specialist):
    overdue = make_dossier(Status.PROCESSING, times=PROCESSING_TIMES)
    waiting = make_dossier(Status.PROCESSING, times=PROCESSING_TIMES)
    with clock.frozen(vn(2026, 3, 3, 10)):
        waiting = services.dossier_request_supplement(
            actor=actor(specialist),
            dossier=waiting,
            documents=[waiting.procedure.documents.first().pk],
            reason="Thiếu",
        )
    now = vn(2026, 3, 6, 9)
    assert list(Dossier.objects.overdue(now)) == [overdue]  # waiting for papers: clock stopped
    assert overdue.is_overdue(now) and not waiting.is_overdue(now)
    assert list(Dossier.objects.due_soon(vn(2026, 3, 5, 9), CAL)) == [overdue]
    assert not Dossier.objects.due_soon(vn(2026, 3, 3, 9), CAL).exists()


def test_payment_wait_does_not_count(
    make_dossier, cast, fee_later_procedure, specialist, reception
):
    dossier = make_dossier(Status.PROCESSING, procedure=fee_later_procedure, times=PROCESSING_TIMES)
    due_before = dossier.original_due_at
    with clock.frozen(vn(2026, 3, 3, 9)):
        dossier = services.dossier_request_payment(
            actor=actor(specialist), dossier=dossier, amount_vnd=35000
        )
    with clock.frozen(vn(2026, 3, 4, 9)):
        dossier = services.dossier_record_payment(
            actor=actor(reception), dossier=dossier, receipt_number="BL-9"
        )
    assert dossier.status == Status.PROCESSING
    assert dossier.original_due_at == CAL.add_working_seconds(due_before, 8 * 3600)


def test_late_approval_is_flagged_against_the_original_due_date(make_dossier):
    times = [*PROCESSING_TIMES, vn(2026, 3, 6, 9), vn(2026, 3, 6, 10)]
    dossier = make_dossier(Status.RESOLVED, times=times)
    assert dossier.events.get(event_type="dossier.approved").data["on_time"] is False
    on_time = make_dossier(Status.RESOLVED, times=[*PROCESSING_TIMES, vn(2026, 3, 4, 9)])
    assert on_time.events.get(event_type="dossier.approved").data["on_time"] is True
