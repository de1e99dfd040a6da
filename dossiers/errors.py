"""Domain errors. Views and the API map each class to one HTTP status; none of them is a 500."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base class: `message` is shown to the user; `code` is stable for API clients."""

    code = "domain_error"
    http_status = 400
    default_message = _("Thao tác không thực hiện được.")

    def __init__(self, message=None, *, fields: dict[str, list[str]] | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(str(self.message))


class NotFound(DomainError):
    """Unknown, or not visible to this user: both answer the same."""

    code = "not_found"
    http_status = 404
    default_message = _("Không tìm thấy hồ sơ.")


class Forbidden(DomainError):
    """The user may see the dossier but not take this action."""

    code = "forbidden"
    http_status = 403
    default_message = _("Bạn không có quyền thực hiện thao tác này.")


class InvalidTransition(DomainError):
    """The action is not allowed in the dossier's current status."""

    code = "invalid_transition"
    http_status = 409
    default_message = _("Thao tác không được phép ở trạng thái hiện tại của hồ sơ.")


class ChangedMeanwhile(DomainError):
    """Someone else acted on the dossier since this user loaded it."""

    code = "changed_meanwhile"
    http_status = 409
    default_message = _("Hồ sơ vừa được người khác thay đổi; vui lòng tải lại trang.")


class ValidationFailed(DomainError):
    """Input does not satisfy the action's rules; `fields` maps field names to messages."""

    code = "validation_failed"
    http_status = 400
    default_message = _("Dữ liệu chưa hợp lệ.")
