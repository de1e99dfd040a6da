"""The payment gateway's callback: POST /api/v1/payments/gateway/callback/.

No account: the gateway proves itself by the Standard Webhooks signature over the body
(integrations/payments.py). A valid confirmation of what a dossier owes records the payment and
restarts the dossier's clock (services.payments); every refusal is kept (PaymentRefusal) and
answered in the API's error shape: 401 for a signature that does not check out, 400 for a body
that does not pay what is owed. A notification already recorded answers 200 again, so a gateway
that retries (it did not see our answer) stops retrying.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import DomainError
from ..integrations.payments import NotificationRefused, gateway, reference_of
from ..models import PaymentMethod, PaymentRefusal
from ..services import Actor
from ..services.payments import (
    PaymentRefused,
    find_dossier,
    log_refusal,
    payment_account,
    payment_confirm,
)
from .errors import ErrorSerializer, error_response

log = logging.getLogger(__name__)

# The headers kept with a refused notification (never a secret: the signature is a MAC).
KEPT_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "user-agent",
)


def _kept_body(body: bytes, reason: str) -> str:
    """What the refusal log keeps of the body. An unsigned one could come from anyone, and the
    log is append-only: only its size and fingerprint, so that nobody fills the log; a signed
    body (the gateway's, refused for what it says) is kept to reconcile."""
    if reason == PaymentRefusal.Reason.SIGNATURE:
        return f"(unsigned: {len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()})"
    return body.decode("utf-8", "replace")


Answer = inline_serializer(
    "PaymentCallbackAnswer",
    {
        "result": serializers.ChoiceField(
            choices=["recorded", "already_recorded", "reconcile"],
            help_text="recorded: the dossier's payment is recorded; already_recorded: this "
            "transaction was recorded before; reconcile: the dossier no longer waited for "
            "payment, the money is kept for the agency's reconciliation.",
        ),
        "receipt_number": serializers.CharField(),
    },
)


class PaymentCallbackView(APIView):
    """The gateway confirms a payment (Standard Webhooks signature)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(Answer, description="Recorded (or recorded before)."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="Refused: wrong amount, unknown order, malformed body (logged).",
            ),
            401: OpenApiResponse(ErrorSerializer, description="Refused: signature (logged)."),
            404: OpenApiResponse(ErrorSerializer, description="No gateway configured."),
            503: OpenApiResponse(ErrorSerializer, description="Cannot record now: retry later."),
        },
        summary="Payment gateway callback (signed, Standard Webhooks)",
        auth=[],
    )
    def post(self, request):
        provider = gateway()
        if not provider.is_configured():
            return error_response(404, "not_found", _("Không tìm thấy."))
        body = request.body
        ip = request.META.get("REMOTE_ADDR")
        try:
            notification = provider.parse_notification(body, request.headers)
            dossier = find_dossier(reference_of(notification.order))
            if dossier is None:
                raise PaymentRefused(
                    PaymentRefusal.Reason.REFERENCE,
                    _("Không có hồ sơ mã %(order)s.") % {"order": notification.order},
                )
            confirmation = payment_confirm(
                actor=Actor(user=payment_account(dossier.receiving_agency), ip=ip),
                dossier=dossier,
                method=PaymentMethod.GATEWAY,
                transaction_id=notification.transaction_id,
                amount_vnd=notification.amount_vnd,
                paid_at=notification.paid_at,
                payer_name=notification.payer_name,
                source=f"{notification.id} {notification.order}",
            )
        except (NotificationRefused, PaymentRefused) as refused:
            log_refusal(
                method=PaymentMethod.GATEWAY,
                reason=refused.reason,
                detail=refused.detail,
                ip=ip,
                headers={k: request.headers[k] for k in KEPT_HEADERS if k in request.headers},
                body=_kept_body(body, refused.reason),
                dossier=getattr(refused, "dossier", None),
            )
            if refused.reason == PaymentRefusal.Reason.SIGNATURE:
                return error_response(401, "invalid_signature", _("Chữ ký không hợp lệ."))
            return error_response(
                400,
                "payment_refused",
                _("Thông báo thanh toán bị từ chối: %(reason)s.")
                % {"reason": PaymentRefusal.Reason(refused.reason).label},
                {refused.reason: [str(refused.detail)]} if refused.detail else None,
            )
        except ImproperlyConfigured:
            log.exception("the payment account is misconfigured")
            return error_response(503, "unavailable", _("Tạm thời không ghi nhận được."))
        except DomainError as error:  # e.g. changed meanwhile: the gateway retries
            return error_response(error.http_status, error.code, error.message, error.fields)
        payment = confirmation.payment
        status = (
            "already_recorded"
            if not confirmation.created
            else ("recorded" if payment.outcome == payment.Outcome.RECORDED else "reconcile")
        )
        return Response({"result": status, "receipt_number": payment.receipt_number})
