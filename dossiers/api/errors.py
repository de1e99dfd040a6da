"""One JSON shape for every API error: {"error": {"code", "message", "fields"}}."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
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


def _too_large_message():
    return _("Dữ liệu gửi lên quá lớn.")


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.fields)
    if isinstance(exc, RequestDataTooBig):  # raised while the body is parsed
        return error_response(413, "request_too_large", _too_large_message())
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, a malformed body
        return error_response(400, "bad_request", _("Yêu cầu không hợp lệ."))
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


def _status_errors():
    """What an error answered outside DRF (the URL resolver, Django's own views, the request
    size check) says under /api/, by status."""
    return {
        400: ("bad_request", _("Yêu cầu không hợp lệ.")),
        401: ("not_authenticated", _("Chưa đăng nhập.")),
        403: ("permission_denied", _("Không được phép.")),
        404: ("not_found", _("Không tìm thấy.")),
        405: ("method_not_allowed", _("Phương thức không được hỗ trợ.")),
        413: ("request_too_large", _too_large_message()),
        415: ("unsupported_media_type", _("Kiểu dữ liệu không được hỗ trợ.")),
        429: ("throttled", _("Quá nhiều yêu cầu; vui lòng thử lại sau.")),
    }


# Headers an error keeps when its body is rewritten.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


class JsonErrorMiddleware:
    """Every error under /api/ answers in the one JSON shape, never an HTML page: an unknown URL
    (404), a method a plain Django view refuses (405), a body over the size limit (413), and an
    unexpected error (500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = _status_errors().get(
            response.status_code,
            ("server_error", _("Lỗi máy chủ."))
            if response.status_code >= 500
            else ("bad_request", _("Yêu cầu không hợp lệ.")),
        )
        answer = error_json(response.status_code, code, message)
        for header in KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        return answer

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return error_json(413, "request_too_large", _too_large_message())
        log.exception("API server error on %s", request.path)
        return error_json(500, "server_error", _("Lỗi máy chủ."))


def error_json(status: int, code: str, message) -> JsonResponse:
    """The error shape outside DRF (middleware)."""
    body = {"error": {"code": code, "message": str(message), "fields": {}}}
    return JsonResponse(body, status=status)
