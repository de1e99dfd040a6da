"""From received to the end: assignment, proposal, approval, payment, return, withdrawal,
stop, reschedule, rating and notes (reads are logged apart: see access.py)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from .. import document_store, signatures
from ..errors import ChangedMeanwhile, DomainError, InvalidTransition, ValidationFailed
from ..models import Attachment, ClockPause, Dossier, PaymentMethod
from ..payment import due as payment_due
from ..payment import pay_by
from ..permissions import authorize
from ..workflow import Action, Role
from .base import Actor, Context, action_service, perform, require_text
from .deadlines import close_pause, end_pauses
from .payments import receipt_data
from .payments import record as record_payment_row


@action_service(Action.ASSIGN)
def dossier_assign(
    *, actor: Actor, dossier: Dossier, assignee, note: str = "", expected_version: int | None = None
) -> Dossier:
    """Hand the dossier to a specialist of the competent agency (assign or reassign)."""

    def mutate(d: Dossier, ctx: Context):
        if (
            assignee is None
            or not assignee.memberships.filter(
                agency=d.competent_agency, role=Role.SPECIALIST
            ).exists()
        ):
            raise ValidationFailed(
                fields={
                    "assignee": [
                        _("Người được phân công phải là chuyên viên của cơ quan giải quyết.")
                    ]
                }
            )
        if d.assignee_id == assignee.pk:
            raise ValidationFailed(fields={"assignee": [_("Hồ sơ đang do chuyên viên này xử lý.")]})
        previous = d.assignee
        d.assignee = assignee
        return {
            "assignee": assignee.get_username(),
            "previous_assignee": previous.get_username() if previous else None,
        }

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.ASSIGN,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.PROPOSE)
def dossier_propose(
    *,
    actor: Actor,
    dossier: Dossier,
    outcome: str,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    """The assigned specialist proposes the result (its document uploaded first)."""

    def mutate(d: Dossier, ctx: Context):
        if outcome not in Dossier.Outcome.values:
            raise ValidationFailed(
                fields={"outcome": [_("Kết quả phải là giải quyết hoặc từ chối.")]}
            )
        if outcome == Dossier.Outcome.DENIED and not note.strip():
            raise ValidationFailed(fields={"note": [_("Vui lòng nêu lý do từ chối giải quyết.")]})
        results = list(
            d.attachments.filter(purpose=Attachment.Purpose.RESULT).values_list("pk", "sha256")
        )
        if not results:
            raise ValidationFailed(
                fields={"result": [_("Vui lòng tải lên văn bản kết quả trước khi trình.")]}
            )
        d.outcome = outcome
        return {
            "outcome": outcome,
            "result_attachments": [{"id": i, "sha256": h} for i, h in results],
        }

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.PROPOSE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.SEND_BACK)
def dossier_send_back(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = require_text(reason, "reason", _("Vui lòng ghi rõ nội dung cần xử lý lại."))

    def mutate(d: Dossier, ctx: Context):
        previous = d.outcome
        d.outcome = ""
        return {"proposed_outcome": previous}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.SEND_BACK,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.APPROVE)
def dossier_approve(
    *, actor: Actor, dossier: Dossier, note: str = "", expected_version: int | None = None
) -> Dossier:
    """The leader approves: the result PDFs are signed with the competent agency's certificate
    (dossiers/signatures.py) before the transaction, stored in it, their hashes in the event."""
    try:
        authorize(actor.user, dossier, Action.APPROVE)  # nothing signed for an approval that
    except DomainError:  # cannot be: perform answers it under the lock
        prepared = None
    else:
        prepared = signatures.prepare_results(dossier, actor.user)

    def mutate(d: Dossier, ctx: Context):
        if prepared is None:
            raise ChangedMeanwhile()
        signed = signatures.store_results(d, prepared, actor.user)
        d.resolved_at = ctx.now
        on_time = d.original_due_at is None or ctx.now <= d.original_due_at
        if d.received_at:
            paused = sum(p.working_seconds or 0 for p in d.pauses.filter(ended_at__isnull=False))
            spent = ctx.calendar.working_seconds_between(d.received_at, ctx.now)
            d.resolution_working_seconds = max(0, int(spent) - paused)
        # The result is issued now: kept in the documents store (a later signed file replaces
        # it through document_store.record_result_file).
        stored = document_store.record_result(dossier=d, user=ctx.actor.user, now=ctx.now)
        return {
            "outcome": d.outcome,
            "on_time": on_time,
            "working_seconds": d.resolution_working_seconds,
            **({"stored_result": stored.pk, "sha256": stored.sha256} if stored else {}),
            **signed,
        }

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.APPROVE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.REQUEST_PAYMENT)
def dossier_request_payment(
    *,
    actor: Actor,
    dossier: Dossier,
    amount_vnd: int,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    """Financial obligations due before the result; the clock pauses meanwhile."""
    if not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise ValidationFailed(fields={"amount_vnd": [_("Số tiền phải là số nguyên dương.")]})

    def mutate(d: Dossier, ctx: Context):
        ClockPause.objects.create(dossier=d, reason=ClockPause.Reason.PAYMENT, started_at=ctx.now)
        # Fixed now, so the page, the e-mail and the trail agree on the date to pay by.
        return {"amount_vnd": amount_vnd, "pay_by": pay_by(ctx.now, ctx.calendar).isoformat()}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.REQUEST_PAYMENT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.RECORD_PAYMENT)
def dossier_record_payment(
    *, actor: Actor, dossier: Dossier, receipt_number: str, expected_version: int | None = None
) -> Dossier:
    receipt_number = require_text(receipt_number, "receipt_number", _("Vui lòng nhập số biên lai."))

    def mutate(d: Dossier, ctx: Context):
        # Paid at the counter: the payment is recorded too (its electronic receipt is issued).
        owed = payment_due(d)
        paid = record_payment_row(
            d,
            ctx,
            {
                "method": PaymentMethod.COUNTER,
                "transaction_id": receipt_number[:100],
                "receipt_number": receipt_number[:64],
                "amount_vnd": owed.amount_vnd if owed else 0,
                "paid_at": ctx.now,
                "payer_name": (d.applicant.get("full_name") or "")[:255],
                "confirmed_by": actor.user,
                "source": "",
            },
        )
        return {**receipt_data(paid), **close_pause(d, ctx, ClockPause.Reason.PAYMENT)}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.RECORD_PAYMENT,
        expected_version=expected_version,
        mutate=mutate,
    )


@action_service(Action.RETURN_RESULT)
def dossier_return_result(
    *,
    actor: Actor,
    dossier: Dossier,
    delivery: str,
    note: str = "",
    expected_version: int | None = None,
) -> Dossier:
    if delivery not in Dossier.Delivery.values:
        raise ValidationFailed(fields={"delivery": [_("Hình thức trả kết quả không hợp lệ.")]})

    def mutate(d: Dossier, ctx: Context):
        d.result_delivery = delivery
        d.returned_at = d.closed_at = ctx.now
        return {"delivery": delivery}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.RETURN_RESULT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.WITHDRAW)
def dossier_withdraw(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = require_text(reason, "reason", _("Vui lòng cho biết lý do rút hồ sơ."))

    def mutate(d: Dossier, ctx: Context):
        d.closed_at = ctx.now
        end_pauses(d, ctx)
        return {"reason": reason}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.WITHDRAW,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.STOP)
def dossier_stop(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = require_text(reason, "reason", _("Vui lòng nêu rõ lý do dừng xử lý."))

    def mutate(d: Dossier, ctx: Context):
        d.closed_at = ctx.now
        end_pauses(d, ctx)
        return {"reason": reason}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.STOP,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.RESCHEDULE)
def dossier_reschedule(
    *,
    actor: Actor,
    dossier: Dossier,
    new_due_at: dt.datetime,
    reason: str,
    expected_version: int | None = None,
) -> Dossier:
    """Apologise with a new appointment: once per dossier, at least one working day before the
    current due date. Not a status change; on-time is still judged on the original due date."""
    reason = require_text(reason, "reason", _("Vui lòng nêu rõ lý do hẹn lại."))
    if not isinstance(new_due_at, dt.datetime) or new_due_at.tzinfo is None:
        raise ValidationFailed(fields={"due_at": [_("Ngày hẹn mới không hợp lệ.")]})

    def mutate(d: Dossier, ctx: Context):
        cal = ctx.calendar
        if cal.working_seconds_between(ctx.now, d.due_at) < cal.seconds_per_day:
            raise InvalidTransition(
                _("Phải xin lỗi và hẹn lại chậm nhất một ngày làm việc trước hạn trả kết quả.")
            )
        if new_due_at <= d.due_at:
            raise ValidationFailed(fields={"due_at": [_("Ngày hẹn mới phải sau ngày hẹn cũ.")]})
        if not cal.is_within_office_hours(new_due_at):
            raise ValidationFailed(
                fields={"due_at": [_("Ngày hẹn mới phải vào giờ làm việc của một ngày làm việc.")]}
            )
        previous = d.due_at
        d.due_at = new_due_at
        d.rescheduled_at = ctx.now
        return {
            "previous_due_at": previous.isoformat(),
            "due_at": new_due_at.isoformat(),
            "late_working_seconds": int(cal.working_seconds_between(previous, new_due_at)),
        }

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.RESCHEDULE,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.RATE)
def dossier_rate(
    *,
    actor: Actor,
    dossier: Dossier,
    rating: str,
    comment: str = "",
    expected_version: int | None = None,
) -> Dossier:
    if rating not in Dossier.Rating.values:
        raise ValidationFailed(fields={"rating": [_("Mức đánh giá không hợp lệ.")]})
    comment = (comment or "").strip()[:2000]

    def mutate(d: Dossier, ctx: Context):
        d.rating, d.rating_comment, d.rated_at = rating, comment, ctx.now
        return {"rating": rating}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.RATE,
        expected_version=expected_version,
        note=comment,
        mutate=mutate,
    )


@action_service(Action.NOTE)
def dossier_add_note(
    *, actor: Actor, dossier: Dossier, text: str, expected_version: int | None = None
) -> Dossier:
    """An internal note (never shown to the citizen)."""
    text = require_text(text, "text", _("Vui lòng nhập nội dung ghi chú."))
    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.NOTE,
        expected_version=expected_version,
        note=text,
        mutate=lambda d, ctx: {"internal": True},
    )
