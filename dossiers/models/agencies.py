"""Agencies (QCVN 102 codes, the province above its communes) and officials' roles at them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory
from ..workflow import Role

AGENCY_CODE_VALIDATOR = RegexValidator(
    r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$",
    _("Mã định danh cơ quan theo QCVN 102 có dạng 000.00.00.H27."),
)


class Agency(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("Cấp tỉnh")
        COMMUNE = "commune", _("Cấp xã")

    code = models.CharField(
        _("mã định danh"), max_length=13, unique=True, validators=[AGENCY_CODE_VALIDATOR]
    )
    name = models.CharField(_("tên cơ quan"), max_length=255)
    one_stop_unit = models.CharField(_("bộ phận một cửa"), max_length=255, blank=True)
    level = models.CharField(_("cấp"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("cơ quan cấp trên"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=32, blank=True)
    email = models.EmailField(_("thư điện tử"), blank=True)
    administrative_code = models.CharField(_("mã đơn vị hành chính"), max_length=8, blank=True)
    code_is_fictitious = models.BooleanField(
        _("mã định danh giả định (dữ liệu mẫu)"),
        default=False,
        help_text=_("Đánh dấu khi mã chưa được cơ quan có thẩm quyền cấp/xác minh."),
    )
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("cơ quan")
        verbose_name_plural = _("cơ quan")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """An official's role at one agency; the role names the Django group holding its permissions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        _("vai trò"),
        max_length=16,
        choices=[(r.value, r.label) for r in Role if r != Role.CITIZEN],
    )
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("phân quyền cán bộ")
        verbose_name_plural = _("phân quyền cán bộ")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="unique_membership")
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.agency}"
