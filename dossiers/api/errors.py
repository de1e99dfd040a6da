"""One JSON shape for every API error: {"error": {"code", "message", "fields"}}."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from ..errors import DomainError

log = logging.getLogger(__name__)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code.")
    message = serializers.CharField(help_text="Human-readable message (Vietnamese by default).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field, for validation errors.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(status: int, code: str, message, fields=None, headers=None) -> Response:
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    return Response(body, status=status, headers=headers)


def locked_out_response() -> Response:
    """A login refused by the lockout (django-axes): 429, even for the right password."""
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    headers = {"Retry-After": str(int(cool_off.total_seconds()))} if cool_off else None
    return error_response(
        429,
        "locked_out",
        _("Đăng nhập sai quá nhiều lần: tài khoản hoặc địa chỉ này tạm bị khoá, hãy thử lại sau."),
        headers=headers,
    )


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            items = value if isinstance(value, list) else [value]
            out[str(key)] = [str(v) for v in items]
        return out
    return {
        "non_field_errors": [str(d) for d in (detail if isinstance(detail, list) else [detail])]
    }


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            400, "validation_failed", _("Dữ liệu chưa hợp lệ."), _flatten(exc.detail)
        )
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, exc.default_code, detail, headers=headers)
    return None


class JsonServerErrorMiddleware:
    """An unexpected error under /api/ answers in the same JSON shape (500), never HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        log.exception("API server error on %s", request.path)
        body = {"error": {"code": "server_error", "message": _("Lỗi máy chủ."), "fields": {}}}
        return JsonResponse(body, status=500)
