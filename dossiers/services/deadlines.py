"""Starting, pausing and restarting a dossier's clock (rules in docs/deadlines.md)."""

from __future__ import annotations

from ..models import ClockPause, Dossier, Procedure
from .base import Context


def start_clock(d: Dossier, ctx: Context) -> None:
    start = ctx.calendar.clock_start(ctx.now)
    d.clock_started_at = start
    d.original_due_at = ctx.calendar.due_at(
        start, d.procedure.time_limit_value, d.procedure.time_limit_unit
    )
    d.due_at = d.original_due_at


def due_data(d: Dossier) -> dict:
    return {
        "clock_started_at": d.clock_started_at.isoformat(),
        "due_at": d.due_at.isoformat(),
    }


def close_pause(d: Dossier, ctx: Context, reason: str) -> dict:
    """End the open pause; push the legal due date by the office time it lasted (pause policy)
    or restart the whole time limit (restart policy, supplements only)."""
    pause = d.pauses.filter(ended_at__isnull=True, reason=reason).first()
    if pause is None:
        return {}
    finish_pause(pause, ctx)
    restart = (
        reason == ClockPause.Reason.SUPPLEMENT
        and d.procedure.supplement_policy == Procedure.SupplementPolicy.RESTART
    )
    if restart:
        start_clock(d, ctx)
    else:
        d.original_due_at = ctx.calendar.add_working_seconds(
            d.original_due_at, pause.working_seconds
        )
        d.due_at = ctx.calendar.add_working_seconds(d.due_at, pause.working_seconds)
    return {
        "paused_working_seconds": pause.working_seconds,
        "clock": "restarted" if restart else "resumed",
        **due_data(d),
    }


def finish_pause(pause: ClockPause, ctx: Context) -> None:
    pause.ended_at = ctx.now
    pause.working_seconds = int(ctx.calendar.working_seconds_between(pause.started_at, ctx.now))
    pause.save()


def end_pauses(d: Dossier, ctx: Context) -> None:
    """A dossier that ends while paused: close the open pause intervals at the end."""
    for pause in d.pauses.filter(ended_at__isnull=True):
        finish_pause(pause, ctx)
