"""The appointment (hẹn trả kết quả) as the citizen must read it, on pages and slips alike.

While the clock is stopped (waiting for a supplement or for the financial obligations) the
stored `due_at` is stale: the appointment is "tạm dừng" with its reason, and a new date is given
when the clock runs again. Each change of the appointment is an audit event (`CHANGES`): the
receipt-and-appointment slip is issued again for each, so the slip and the page agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import ClockPause, Dossier, DossierEvent
from .workflow import EventType, Status

# Events after which the appointment reads differently (the clock paused, resumed, restarted,
# or a new date given with an apology); only those of a dossier already received count.
CHANGES = (
    EventType.SUPPLEMENT_REQUESTED,
    EventType.SUPPLEMENTED,
    EventType.PAYMENT_REQUESTED,
    EventType.PAYMENT_RECORDED,
    EventType.RESCHEDULED,
)
# The first appointment: the dossier is received (online, or at the counter).
FIRST = (EventType.RECEIVED, EventType.INTAKE)
PAUSING = {
    EventType.SUPPLEMENT_REQUESTED: ClockPause.Reason.SUPPLEMENT,
    EventType.PAYMENT_REQUESTED: ClockPause.Reason.PAYMENT,
}


@dataclass(frozen=True)
class Appointment:
    """`due_at` when the clock runs (or ran); `paused` with its reason and start otherwise."""

    due_at: dt.datetime | None
    paused: bool = False
    reason: str = ""
    since: dt.datetime | None = None

    @property
    def paused_text(self) -> str:
        """'Tạm dừng (chờ bổ sung hồ sơ)': what the page and the slip print instead of a date."""
        return _("Tạm dừng (%(reason)s)") % {"reason": self.reason.lower()}


def is_change(event_type: str, from_status: str, to_status: str) -> bool:
    """Whether an event (its type and statuses) sets or changes a received dossier's appointment.
    A supplement asked for at intake (from and back to `submitted`) happens before any."""
    if event_type in FIRST:
        return True
    return event_type in CHANGES and Status.SUBMITTED not in (from_status, to_status)


def paused_reason(dossier: Dossier) -> str | None:
    """The open pause's reason read from the status alone (no query): payment always pauses; a
    supplement pauses only when it was asked for during processing."""
    if dossier.status == Status.AWAITING_PAYMENT:
        return ClockPause.Reason.PAYMENT
    if (
        dossier.status == Status.SUPPLEMENT_REQUESTED
        and dossier.supplement_return_status == Status.PROCESSING
    ):
        return ClockPause.Reason.SUPPLEMENT
    return None


def current(dossier: Dossier, *, with_since: bool = True) -> Appointment:
    """The dossier's appointment now. `with_since` reads when the pause began (one query)."""
    reason = paused_reason(dossier)
    if reason is None:
        return Appointment(due_at=dossier.due_at)
    since = None
    if with_since:
        since = (
            dossier.pauses.filter(ended_at__isnull=True, reason=reason)
            .values_list("started_at", flat=True)
            .first()
        )
    return Appointment(
        due_at=None, paused=True, reason=str(ClockPause.Reason(reason).label), since=since
    )


def at_event(event: DossierEvent, dossier: Dossier) -> Appointment:
    """The appointment as `event` left it (what the slip issued for that event prints)."""
    reason = PAUSING.get(event.event_type)
    if reason is not None:
        return Appointment(
            due_at=None,
            paused=True,
            reason=str(ClockPause.Reason(reason).label),
            since=event.created_at,
        )
    due = event.data.get("due_at")
    if due:
        return Appointment(due_at=dt.datetime.fromisoformat(due))
    # An event that moved no date (a pause that was not open): the date stands.
    return Appointment(due_at=dossier.due_at)
