"""The payment gateway: one interface, one implementation (docs/integrations.md, "Thanh toán
trực tuyến").

`PaymentGateway` is what the rest of onestop knows of a gateway: the address of its pay page for
an order (a signed request the citizen's browser carries there), and the reading of its
confirmation (a signed HTTP callback to /api/v1/payments/gateway/callback/).

`StandardWebhooksGateway` is a gateway speaking the Standard Webhooks scheme
(https://www.standardwebhooks.com/, the `standardwebhooks` package) both ways, with one shared
secret (settings.ONESTOP_PAYMENT_GATEWAY_SECRET, "whsec_" + base64):

- the pay request is a GET of the pay page with the order's fields as query parameters, and
  `webhook-id`, `webhook-timestamp`, `webhook-signature` parameters signing the canonical query
  string of those fields (sorted by name, URL-encoded) exactly as a webhook body is signed;
- the callback is a POST of a JSON body with the `webhook-id`, `webhook-timestamp` and
  `webhook-signature` headers: HMAC-SHA256 over "id.timestamp.body", refused more than five
  minutes away from our clock (the package's tolerance).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from standardwebhooks import Webhook, WebhookVerificationError

# Fields of the pay request, in the order of the canonical string (sorted).
REQUEST_FIELDS = (
    "amount",
    "currency",
    "description",
    "merchant",
    "notify_url",
    "order",
    "return_url",
)


class NotificationRefused(Exception):
    """A callback that is not a valid, signed payment confirmation. `reason` is one of
    PaymentRefusal.Reason's values."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Notification:
    """A payment the gateway confirms."""

    id: str  # the notification's own id (webhook-id): the same on every retry
    order: str
    amount_vnd: int
    transaction_id: str
    paid_at: dt.datetime
    payer_name: str


class PaymentGateway(Protocol):
    name: str

    def is_configured(self) -> bool: ...

    def pay_url(
        self, *, order: str, amount_vnd: int, description: str, return_url: str, notify_url: str
    ) -> str: ...

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification: ...


def new_order(reference: str) -> str:
    """An order id for one payment attempt: the dossier code, a dot, a random attempt id."""
    return f"{reference}.{secrets.token_hex(4)}"


def reference_of(order: str) -> str:
    return order.rsplit(".", 1)[0]


def canonical(params: Mapping[str, str]) -> str:
    return urlencode(sorted((k, str(params[k])) for k in REQUEST_FIELDS if k in params))


class StandardWebhooksGateway:
    name = "standard-webhooks"

    def __init__(self, *, url: str, merchant: str, secret: str):
        self.url, self.merchant, self.secret = url, merchant, secret

    def is_configured(self) -> bool:
        return bool(self.url and self.secret and self.merchant)

    def _webhook(self) -> Webhook:
        return Webhook(self.secret)

    def pay_url(
        self, *, order: str, amount_vnd: int, description: str, return_url: str, notify_url: str
    ) -> str:
        params = {
            "amount": str(amount_vnd),
            "currency": "VND",
            "description": description,
            "merchant": self.merchant,
            "notify_url": notify_url,
            "order": order,
            "return_url": return_url,
        }
        msg_id = f"req_{secrets.token_hex(8)}"
        now = dt.datetime.now(dt.UTC)
        signature = self._webhook().sign(msg_id, now, canonical(params))
        signed = {
            **params,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        return f"{self.url}?{urlencode(signed)}"

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        try:
            self._webhook().verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError, UnicodeDecodeError) as error:
            raise NotificationRefused("signature", str(error)) from None
        try:
            data = json.loads(body)
            if data.get("type") != "payment.succeeded":
                raise ValueError(f"type {data.get('type')!r}")
            payment = data["data"]
            if payment.get("merchant") != self.merchant:
                raise NotificationRefused("merchant", f"merchant {payment.get('merchant')!r}")
            if payment.get("currency", "VND") != "VND":
                raise ValueError("currency")
            amount = payment["amount"]
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise ValueError("amount")
            paid_at = dt.datetime.fromisoformat(payment["paid_at"])
            if paid_at.tzinfo is None:
                raise ValueError("paid_at without a time zone")
            return Notification(
                id={k.lower(): v for k, v in headers.items()}.get("webhook-id", ""),
                order=str(payment["order"]),
                amount_vnd=amount,
                transaction_id=str(payment["transaction_id"]),
                paid_at=paid_at,
                payer_name=str(payment.get("payer_name") or "")[:255],
            )
        except NotificationRefused:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise NotificationRefused("malformed", str(error)) from None


def gateway() -> PaymentGateway:
    """The configured gateway (settings ONESTOP_PAYMENT_GATEWAY_*)."""
    return StandardWebhooksGateway(
        url=settings.ONESTOP_PAYMENT_GATEWAY_URL,
        merchant=settings.ONESTOP_PAYMENT_GATEWAY_MERCHANT,
        secret=settings.ONESTOP_PAYMENT_GATEWAY_SECRET,
    )


def callback_body(
    *,
    merchant: str,
    order: str,
    amount_vnd: int,
    transaction_id: str,
    paid_at: dt.datetime,
    payer_name: str = "",
) -> str:
    """The callback's JSON body (what a gateway sends; the test gateway uses it too)."""
    return json.dumps(
        {
            "type": "payment.succeeded",
            "data": {
                "merchant": merchant,
                "order": order,
                "amount": amount_vnd,
                "currency": "VND",
                "transaction_id": transaction_id,
                "paid_at": paid_at.isoformat(),
                "payer_name": payer_name,
            },
        },
        ensure_ascii=False,
    )
