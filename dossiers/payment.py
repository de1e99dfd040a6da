"""How, where and by when a citizen pays what a dossier waiting for payment owes.

Until online payment comes, two ways: at the receiving centre's counter, or by bank transfer to
the agency's account with the dossier code as the transfer reference. The amount and the date
to pay by are fixed when the payment is requested (the event's data); the counter and the
account are the receiving agency's (Agency.office_hours, bank_*), shown as they are now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from . import vietqr
from .formatting import vn_datetime, vnd
from .integrations.payments import gateway
from .models import Agency, Dossier, DossierEvent, Payment, TimeUnit
from .models.catalogue import ONLINE_CHANNELS
from .workflow import EventType, Status
from .worktime import WorkCalendar


def pay_by(requested_at: dt.datetime, calendar: WorkCalendar) -> dt.datetime:
    """Closing time of the ONESTOP_PAYMENT_WORKING_DAYS-th working day after the request."""
    return calendar.due_at(
        requested_at, settings.ONESTOP_PAYMENT_WORKING_DAYS, TimeUnit.WORKING_DAYS
    )


@dataclass(frozen=True)
class PaymentDue:
    amount_vnd: int
    requested_at: dt.datetime | None
    pay_by: dt.datetime | None  # None for a fee due at filing (paid before reception decides)
    reference: str
    agency: Agency
    counter: str
    # "request": asked for while the dossier waits for payment (record_payment restarts its
    # clock); "filing": the fee of a procedure that charges at filing, for an online filing.
    kind: str = "request"

    @property
    def at_filing(self) -> bool:
        return self.kind == FILING

    @property
    def bank_transfer(self) -> bool:
        return self.agency.takes_bank_transfers


FILING = "filing"
# Where the fee charged at filing is still owed: filed, not yet ended.
FILING_FEE_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.RECEIVED,
        Status.PROCESSING,
        Status.PENDING_APPROVAL,
        Status.SUPPLEMENT_REQUESTED,
        Status.RESOLVED,
    }
)


def _request(dossier: Dossier) -> DossierEvent | None:
    return dossier.events.filter(event_type=EventType.PAYMENT_REQUESTED).order_by("-seq").first()


def due(dossier: Dossier, event: DossierEvent | None = None) -> PaymentDue | None:
    """What `dossier` owes and how to pay it, while it waits for payment (else None)."""
    if event is None:
        if dossier.status != Status.AWAITING_PAYMENT:
            return None
        event = _request(dossier)
        if event is None:
            return None
    deadline = event.data.get("pay_by")
    return PaymentDue(
        amount_vnd=int(event.data.get("amount_vnd") or 0),
        requested_at=event.created_at,
        pay_by=(
            dt.datetime.fromisoformat(deadline)
            if deadline
            else pay_by(event.created_at, WorkCalendar.current())
        ),
        reference=dossier.code or "",
        agency=dossier.receiving_agency,
        counter=dossier.reception_name,
    )


def filing_fee_due(dossier: Dossier) -> PaymentDue | None:
    """The fee of a procedure that charges at filing (not "due later"), owed by a dossier filed
    online until a payment of it is recorded (a counter filing pays at the counter)."""
    if dossier.status not in FILING_FEE_STATUSES or dossier.procedure.fee_due_later:
        return None
    if dossier.channel not in ONLINE_CHANNELS or not dossier.fee_vnd:
        return None
    if dossier.payments.filter(outcome=Payment.Outcome.FILING_FEE).exists():
        return None
    return PaymentDue(
        amount_vnd=dossier.fee_vnd,
        requested_at=dossier.submitted_at,
        pay_by=None,
        reference=dossier.code or "",
        agency=dossier.receiving_agency,
        counter=dossier.reception_name,
        kind=FILING,
    )


def owed(dossier: Dossier) -> PaymentDue | None:
    """What the dossier owes now: the payment asked for while it waits for payment, else the
    fee due at filing of an online filing."""
    return due(dossier) or filing_fee_due(dossier)


def qr_payload(owed: PaymentDue) -> str | None:
    """The VietQR payload paying `owed` to the agency's account (None without its bank's BIN)."""
    agency = owed.agency
    if not agency.takes_vietqr or not owed.amount_vnd:
        return None
    account = "".join(ch for ch in agency.bank_account_number if ch.isalnum())
    try:
        return vietqr.payload(
            bank_bin=agency.bank_bin,
            account=account,
            amount_vnd=owed.amount_vnd,
            reference=owed.reference,
        )
    except vietqr.PayloadError:
        return None


def instructions_text(dossier: Dossier, event: DossierEvent) -> list[str]:
    """The payment instructions as plain-text lines (the e-mail of the payment request)."""
    owed = due(dossier, event)
    agency = owed.agency
    lines = [
        _("Số tiền phải nộp: %(amount)s, chậm nhất %(by)s.")
        % {"amount": vnd(owed.amount_vnd), "by": vn_datetime(owed.pay_by)},
        _("Nộp trực tiếp tại %(counter)s%(address)s%(hours)s.")
        % {
            "counter": owed.counter,
            "address": f", {agency.address}" if agency.address else "",
            "hours": f" ({agency.office_hours})" if agency.office_hours else "",
        },
    ]
    if owed.bank_transfer:
        lines.append(
            _(
                "Hoặc chuyển khoản: số tài khoản %(account)s tại %(bank)s, đơn vị thụ hưởng "
                "%(beneficiary)s, nội dung chuyển khoản: %(reference)s."
            )
            % {
                "account": agency.bank_account_number,
                "bank": agency.bank_name,
                "beneficiary": agency.bank_beneficiary,
                "reference": owed.reference,
            }
        )
    return lines


def fee_receipt_seqs(dossier: Dossier) -> dict[int, int]:
    """Each recorded payment's electronic receipt, by payment id: the seq of the record_payment
    event it documents (slips.py, kind fee_receipt)."""
    events = dossier.events.filter(
        event_type__in=(EventType.PAYMENT_RECORDED, EventType.FILING_FEE_PAID)
    )
    return {e.data["payment"]: e.seq for e in events.only("seq", "data") if e.data.get("payment")}


def gateway_origin() -> str:
    """The gateway pay page's origin (scheme://host[:port]), for the page's CSP form-action."""
    url = urlsplit(settings.ONESTOP_PAYMENT_GATEWAY_URL)
    return f"{url.scheme}://{url.netloc}"


def page_context(dossier: Dossier) -> dict:
    """What a dossier page's fee section shows (citizens/_payment.html): what is owed, its VietQR
    code, whether the gateway is offered, and the payments with their receipts."""
    owing = owed(dossier)
    payload = qr_payload(owing) if owing else None
    receipts = fee_receipt_seqs(dossier)
    return {
        "payment": owing,
        "payment_qr": vietqr.svg(payload, title=_("Mã VietQR")) if payload else "",
        "pay_online": bool(owing and owing.amount_vnd and gateway().is_configured()),
        "payments": [
            {"payment": p, "seq": receipts.get(p.pk)}
            for p in dossier.payments.order_by("recorded_at", "id")
        ],
    }
