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


# What precedes the proper name in an agency's name, in order ("Ủy ban nhân dân", then the unit).
PLACE_PREFIXES = (
    "ủy ban nhân dân",
    "uỷ ban nhân dân",
    "ubnd",
    "thành phố",
    "thị trấn",
    "đặc khu",
    "phường",
    "tỉnh",
    "xã",
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
    place_name = models.CharField(
        _("địa danh"),
        max_length=64,
        blank=True,
        help_text=_(
            "Tên riêng của đơn vị hành chính ghi ở dòng địa danh, ngày tháng của phiếu "
            '(ví dụ "Vĩnh Bảo"); để trống thì lấy từ tên cơ quan.'
        ),
    )
    phone = models.CharField(_("điện thoại"), max_length=32, blank=True)
    email = models.EmailField(_("thư điện tử"), blank=True)
    # Where and how a citizen pays what a dossier owes (shown while it waits for payment).
    office_hours = models.CharField(
        _("giờ tiếp nhận, trả kết quả"),
        max_length=255,
        blank=True,
        help_text=_("Ví dụ: Thứ Hai đến Thứ Sáu, sáng 7:00–11:30, chiều 13:30–17:00."),
    )
    bank_account_number = models.CharField(_("số tài khoản nhận tiền"), max_length=32, blank=True)
    bank_name = models.CharField(_("ngân hàng"), max_length=255, blank=True)
    bank_beneficiary = models.CharField(_("tên đơn vị thụ hưởng"), max_length=255, blank=True)
    # The bank's Napas acquirer id (BIN), which the VietQR code names the bank by (vietqr.py).
    bank_bin = models.CharField(
        _("mã BIN ngân hàng (Napas)"),
        max_length=6,
        blank=True,
        validators=[RegexValidator(r"^\d{6}$", _("Mã BIN gồm đúng 6 chữ số."))],
        help_text=_("Mã định danh ngân hàng của Napas, 6 chữ số (ví dụ 970436 là Vietcombank)."),
    )
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

    # One name per role of the agency, decided here only: the receiving centre (Trung tâm Phục
    # vụ hành chính công / Bộ phận Một cửa) where the citizen files, collects and pays; the
    # competent authority (Ủy ban nhân dân …) where it decides, refuses and signs.
    @property
    def reception_name(self) -> str:
        """The unit the citizen deals with: receipts, acknowledgements, the counter."""
        if self.one_stop_unit:
            return self.one_stop_unit
        return _("Bộ phận Một cửa – %(agency)s") % {"agency": self.name}

    @property
    def authority_name(self) -> str:
        """The authority that decides: results, refusals to decide, stops, signature blocks."""
        return self.name

    @property
    def place(self) -> str:
        """The place name of the national place-and-date line ("Vĩnh Bảo, ngày … tháng …")."""
        if self.place_name:
            return self.place_name
        name = self.name.strip()
        for prefix in PLACE_PREFIXES:
            if name.lower().startswith(prefix + " "):
                name = name[len(prefix) :].strip()
        return name

    @property
    def takes_bank_transfers(self) -> bool:
        return bool(self.bank_account_number and self.bank_name and self.bank_beneficiary)

    @property
    def takes_vietqr(self) -> bool:
        """Whether a VietQR code can be made for its account (the bank's BIN is known)."""
        return self.takes_bank_transfers and len(self.bank_bin) == 6 and self.bank_bin.isdigit()


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
