"""Payments confirmed by the gateway or a bank statement: recorded once, and the dossier's
record_payment fired through the one write path (base.perform), which restarts its clock.

Who acts:
- a bank statement imported by an official: that official (reception of the receiving agency,
  which may record payments anyway);
- the gateway's signed notification: the payment account (settings.ONESTOP_PAYMENT_ACCOUNT),
  an integration account of the receiving agency made on first use. The integration role may
  fire record_payment (workflow.EDGES) only as that account (permissions: the portal and other
  connections never do), and only here, where the gateway's signature has been checked.

A payment is recorded once per (method, transaction id): the same notification twice, or the same
statement imported twice, finds the first record (the dossier's row lock orders concurrent
deliveries; the unique constraint settles the rest). Money for a dossier no longer waiting is
kept for reconciliation (Payment.Outcome.RECONCILE), the dossier unchanged. A wrong amount or an
unknown reference is refused (PaymentRefused) and logged by the caller (log_refusal), nothing
recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .. import clock, outbox
from .. import payment as payment_info
from ..audit import append_event, store_head
from ..errors import Forbidden, NotFound, ValidationFailed
from ..models import (
    Agency,
    ClockPause,
    Dossier,
    Membership,
    Payment,
    PaymentMethod,
    PaymentRefusal,
)
from ..permissions import can_see, counter_payment_problem, is_payment_account
from ..workflow import Action, EventType, Role
from .base import Actor, Context, perform, require_text
from .deadlines import close_pause

# A payment's evidence kept with a refusal, at most this long.
MAX_KEPT_BODY = 8192


class PaymentRefused(Exception):
    """A notification or statement line that does not pay what a dossier owes."""

    def __init__(self, reason: str, detail: str = "", dossier: Dossier | None = None):
        super().__init__(detail or reason)
        self.reason, self.detail, self.dossier = reason, detail, dossier


@dataclass(frozen=True)
class Confirmation:
    payment: Payment
    created: bool  # False: this transaction was recorded before (a repeated notification)


def payment_account(agency: Agency):
    """The account gateway payments are recorded as, with its membership of `agency`."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=settings.ONESTOP_PAYMENT_ACCOUNT)
    if created:
        user.set_unusable_password()
        user.first_name = "Cổng thanh toán trực tuyến"
        user.save(update_fields=["password", "first_name"])
    elif user.has_usable_password():
        # Someone's own account took the name (a sign-up): never make it the payment account.
        raise ImproperlyConfigured(
            f"ONESTOP_PAYMENT_ACCOUNT names an account with a password: {user.get_username()}"
        )
    Membership.objects.get_or_create(user=user, agency=agency, role=Role.INTEGRATION)
    return User.objects.get(pk=user.pk)  # fresh: no cached memberships


def normalized(text: str) -> str:
    """Letters and digits only, upper case: how a reference is compared (banks strip or change
    the dashes of a transfer's description)."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


def find_dossier(reference: str) -> Dossier | None:
    """The dossier whose code is `reference` (dots and dashes optional)."""
    found = dossiers_named_in(reference)
    wanted = normalized(reference)
    return next((d for d in found if normalized(d.code) == wanted), None)


# A dossier code ends <YYMMDD>-<NNNN> (codes.py); a bank may drop or change the dash.
_CODE_TAIL = re.compile(r"(\d{6})[^0-9A-Za-z]{0,2}(\d{4})(?!\d)")


def dossiers_named_in(text: str, *, agency: Agency | None = None) -> list[Dossier]:
    """The dossiers whose code appears in `text` (a transfer's description), compared on letters
    and digits only: "000.01.27.H27-261203-0001" matches "0000127H27 2612030001"."""
    tails = sorted({f"-{day}-{number}" for day, number in _CODE_TAIL.findall(text or "")})
    squeezed = normalized(text)
    found = []
    for start in range(0, len(tails), TAILS_PER_QUERY):
        condition = Q()
        for tail in tails[start : start + TAILS_PER_QUERY]:
            condition |= Q(code__endswith=tail)
        if agency is not None:
            condition &= Q(receiving_agency=agency)
        rows = Dossier.objects.filter(condition).select_related("procedure", "receiving_agency")
        found += [d for d in rows if normalized(d.code) in squeezed]
    return found


# A statement names many codes: their conditions go to the database in chunks this big (an OR
# of thousands would pass SQLite's expression depth).
TAILS_PER_QUERY = 200


def next_receipt_number(dossier: Dossier) -> str:
    """The electronic receipt's number: the dossier code and the payment's rank (under the row
    lock, so two payments of one dossier never share it)."""
    return f"{dossier.code}-BL{dossier.payments.count() + 1:02d}"


def payment_confirm(
    *,
    actor: Actor,
    dossier: Dossier,
    method: str,
    transaction_id: str,
    amount_vnd: int,
    paid_at: dt.datetime,
    payer_name: str = "",
    source: str = "",
) -> Confirmation:
    """Record a confirmed payment of `dossier` (see the module's docstring)."""
    if method not in (PaymentMethod.GATEWAY, PaymentMethod.BANK_STATEMENT):
        raise ValueError(method)
    transaction_id = (transaction_id or "").strip()[:100]
    if not transaction_id:
        raise PaymentRefused(PaymentRefusal.Reason.MALFORMED, _("Thiếu mã giao dịch."))
    try:
        with transaction.atomic():
            locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
            existing = Payment.objects.filter(method=method, transaction_id=transaction_id).first()
            if existing is not None:
                return Confirmation(existing, created=False)
            owed = payment_info.owed(locked)
            if owed is not None and amount_vnd != owed.amount_vnd:
                raise PaymentRefused(
                    PaymentRefusal.Reason.AMOUNT,
                    _("Số tiền %(paid)s khác số phải nộp %(owed)s.")
                    % {"paid": amount_vnd, "owed": owed.amount_vnd},
                    locked,
                )
            fields = {
                "method": method,
                "transaction_id": transaction_id,
                "amount_vnd": amount_vnd,
                "paid_at": paid_at,
                "payer_name": (payer_name or locked.applicant.get("full_name") or "")[:255],
                "confirmed_by": actor.user,
                "source": source[:255],
            }
            if owed is None:
                return Confirmation(_reconcile(locked, fields), created=True)
            if owed.at_filing:
                return Confirmation(_filing_fee(actor, locked, fields), created=True)
            made = {}

            def mutate(d: Dossier, ctx: Context):
                made["payment"] = record(d, ctx, fields)
                return {**receipt_data(made["payment"]), **close_pause(d, ctx, PAUSE)}

            perform(actor=actor, dossier=locked, action=Action.RECORD_PAYMENT, mutate=mutate)
            return Confirmation(made["payment"], created=True)
    except IntegrityError:
        # Recorded meanwhile by a concurrent delivery of the same transaction.
        existing = Payment.objects.filter(method=method, transaction_id=transaction_id).first()
        if existing is None:
            raise
        return Confirmation(existing, created=False)


PAUSE = ClockPause.Reason.PAYMENT


def record(d: Dossier, ctx: Context, fields: dict) -> Payment:
    """Inside record_payment's mutate: the payment row, numbered under the dossier's lock."""
    return Payment.objects.create(
        dossier=d,
        recorded_at=ctx.now,
        outcome=Payment.Outcome.RECORDED,
        receipt_number=fields.pop("receipt_number", None) or next_receipt_number(d),
        **fields,
    )


def receipt_data(payment: Payment) -> dict:
    """What the record_payment event says of its payment."""
    return {
        "receipt_number": payment.receipt_number,
        "payment": payment.pk,
        "method": payment.method,
        "transaction_id": payment.transaction_id,
        "amount_vnd": payment.amount_vnd,
    }


def _filing_fee(actor: Actor, dossier: Dossier, fields: dict) -> Payment:
    """The fee due at filing, paid: no action (status and clock unchanged), an audit event of its
    own in the dossier's chain (under the row lock the caller holds), sent out like an action's
    (outbox: the receipt's slip, the change feed)."""
    user = actor.user
    if not can_see(user, dossier):
        raise NotFound()
    now = clock.now()
    paid = Payment.objects.create(
        dossier=dossier,
        recorded_at=now,
        outcome=Payment.Outcome.FILING_FEE,
        receipt_number=next_receipt_number(dossier),
        **fields,
    )
    event = append_event(
        dossier,
        event_type=EventType.FILING_FEE_PAID,
        at=now,
        actor=user,
        role=Role.INTEGRATION if is_payment_account(user) else Role.RECEPTION,
        agency=dossier.receiving_agency,
        ip=actor.ip,
        data=receipt_data(paid),
        from_status=dossier.status,
        to_status=dossier.status,
    )
    store_head(dossier)
    outbox.record(dossier, event)
    return paid


def filing_fee_record_at_counter(*, actor: Actor, dossier: Dossier, receipt_number: str) -> Payment:
    """Reception records the fee due at filing of an online filing, paid at its counter
    (against the counter's own receipt number): the same record as the gateway's or a
    statement's (status and clock unchanged, its own audit event, the electronic receipt)."""
    receipt_number = require_text(receipt_number, "receipt_number", _("Vui lòng nhập số biên lai."))
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if not can_see(actor.user, locked):
            raise NotFound()
        problem = counter_payment_problem(actor.user, locked)
        if problem:
            raise Forbidden(problem)
        owed = payment_info.owed(locked)
        if owed is None or not owed.at_filing:
            raise ValidationFailed(_("Hồ sơ không có phí, lệ phí nộp hồ sơ đang chờ nộp."))
        transaction_id = receipt_number[:100]
        if Payment.objects.filter(
            method=PaymentMethod.COUNTER, transaction_id=transaction_id
        ).exists():
            message = _("Số biên lai này đã được ghi nhận.")
            raise ValidationFailed(message, fields={"receipt_number": [message]})
        return _filing_fee(
            actor,
            locked,
            {
                "method": PaymentMethod.COUNTER,
                "transaction_id": transaction_id,
                "amount_vnd": owed.amount_vnd,
                "paid_at": clock.now(),
                "payer_name": (locked.applicant.get("full_name") or "")[:255],
                "confirmed_by": actor.user,
                "source": _("Nộp tại quầy, biên lai %(number)s") % {"number": receipt_number},
            },
        )


def _reconcile(dossier: Dossier, fields: dict) -> Payment:
    return Payment.objects.create(
        dossier=dossier,
        recorded_at=clock.now(),
        outcome=Payment.Outcome.RECONCILE,
        receipt_number=next_receipt_number(dossier),
        **fields,
    )


def log_refusal(
    *,
    method: str,
    reason: str,
    detail: str = "",
    ip: str | None = None,
    headers: dict | None = None,
    body: str = "",
    dossier: Dossier | None = None,
) -> PaymentRefusal:
    """Keep a refused notification or statement line: what arrived, why, when, from where."""
    return PaymentRefusal.objects.create(
        method=method,
        reason=reason,
        detail=str(detail)[:500],
        received_at=clock.now(),
        ip=ip or None,
        headers=headers or {},
        body=(body or "")[:MAX_KEPT_BODY],
        dossier=dossier,
    )
