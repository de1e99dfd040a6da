"""The procedure catalogue: procedures, the papers each asks for and its applicant form."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory
from ..text import spelling_key
from .agencies import Agency
from .calendar import TimeUnit


class Procedure(models.Model):
    class SupplementPolicy(models.TextChoices):
        RESTART = "restart", _("Tính lại thời hạn khi nhận đủ hồ sơ")
        PAUSE = "pause", _("Tạm dừng thời hạn trong thời gian chờ bổ sung")

    code = models.CharField(_("mã thủ tục"), max_length=32, unique=True)
    name = models.CharField(_("tên thủ tục"), max_length=512)
    name_en = models.CharField(_("tên tiếng Anh"), max_length=512, blank=True)
    sector = models.CharField(_("lĩnh vực"), max_length=128)
    competent_level = models.CharField(
        _("cấp có thẩm quyền"), max_length=16, choices=Agency.Level.choices
    )
    time_limit_value = models.PositiveIntegerField(_("thời hạn giải quyết"))
    time_limit_unit = models.CharField(
        _("đơn vị thời hạn"),
        max_length=16,
        choices=TimeUnit.choices,
        default=TimeUnit.WORKING_DAYS,
        help_text=_('"Trả ngay trong ngày" = 0 ngày làm việc.'),
    )
    time_limit_note = models.TextField(_("ghi chú thời hạn"), blank=True)
    supplement_policy = models.CharField(
        _("khi yêu cầu bổ sung trong quá trình xử lý"),
        max_length=16,
        choices=SupplementPolicy.choices,
        default=SupplementPolicy.RESTART,
    )
    fee_vnd = models.PositiveBigIntegerField(
        _("phí, lệ phí (đồng)"), null=True, blank=True, help_text=_("Để trống nếu chưa xác định.")
    )
    fee_online_vnd = models.PositiveBigIntegerField(
        _("phí, lệ phí khi nộp trực tuyến (đồng)"),
        null=True,
        blank=True,
        help_text=_("Để trống nếu bằng mức nộp trực tiếp."),
    )
    fee_note = models.TextField(_("ghi chú phí, lệ phí"), blank=True)
    fee_due_later = models.BooleanField(
        _("nộp nghĩa vụ tài chính trước khi nhận kết quả"), default=False
    )
    channels = models.JSONField(
        _("kênh tiếp nhận"),
        default=list,
        blank=True,
        help_text=_(
            "Danh sách kênh (1 trực tiếp, 2 trực tuyến, 3 bưu chính); để trống = mọi kênh."
        ),
    )
    eid_required = models.BooleanField(
        _("bắt buộc đăng nhập bằng định danh điện tử"),
        default=False,
        help_text=_("Công dân chỉ nộp hồ sơ trực tuyến khi đã đăng nhập bằng định danh điện tử."),
    )
    eid_min_acr = models.CharField(
        _("mức độ bảo đảm tối thiểu (acr)"),
        max_length=64,
        blank=True,
        help_text=_("Để trống: mọi mức. Các mức được so theo thứ tự trong ONESTOP_EID_ACR_ORDER."),
    )
    result_description = models.TextField(_("kết quả thực hiện"), blank=True)
    # The paper the result is (a birth certificate...): kept in the store under this type, so
    # that procedures asking for it offer it again (dossiers/document_store.py).
    result_document_type = models.ForeignKey(
        "DocumentType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_by",
        verbose_name=_("loại giấy tờ của kết quả"),
    )
    legal_basis = models.JSONField(_("căn cứ pháp lý"), default=list, blank=True)
    confidence = models.CharField(
        _("độ tin cậy dữ liệu"),
        max_length=16,
        blank=True,
        help_text=_("V = đã đối chiếu nguồn; M = chưa xác minh đầy đủ."),
    )
    sources = models.JSONField(_("nguồn dữ liệu"), default=list, blank=True)
    active = models.BooleanField(_("đang áp dụng"), default=True)
    # Derived: unaccented code, name and sector, i/y folded (text.spelling_key), for a search
    # forgiving accents and spelling variants on any database.
    search_text = models.TextField(editable=False, blank=True)
    history = HistoricalRecords(bases=[SealedHistory], excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("thủ tục hành chính")
        verbose_name_plural = _("thủ tục hành chính")
        ordering = ["sector", "name"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        self.search_text = spelling_key(self.code, self.name, self.name_en, self.sector)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def accepts(self, channel: int) -> bool:
        return not self.channels or channel in self.channels

    @property
    def online_only(self) -> bool:
        """Filed online only (the 2025 directive on essential online services): the channels
        name online filing and no paper channel (counter, post)."""
        return bool(self.channels) and not (set(self.channels) & PAPER_CHANNELS)

    def fee_for(self, channel: int) -> int | None:
        """The fee of the channel a dossier was filed through: the online level for a filing made
        online (here, the national portal or another system), else the counter level."""
        if channel in ONLINE_CHANNELS and self.fee_online_vnd is not None:
            return self.fee_online_vnd
        return self.fee_vnd


class Channel(models.IntegerChoices):
    COUNTER = 1, _("Trực tiếp")
    ONLINE = 2, _("Trực tuyến")
    POSTAL = 3, _("Bưu chính")
    # Filed elsewhere and sent here by another system through the API.
    NATIONAL_PORTAL = 4, _("Cổng Dịch vụ công quốc gia")
    OTHER_SYSTEM = 5, _("Hệ thống khác")


# Filings made online, which the online fee level applies to (filed on a portal, not on paper).
ONLINE_CHANNELS = frozenset({Channel.ONLINE, Channel.NATIONAL_PORTAL, Channel.OTHER_SYSTEM})
# Paper filings: what an online-only procedure refuses.
PAPER_CHANNELS = frozenset({Channel.COUNTER, Channel.POSTAL})


class ProcedureDocument(models.Model):
    """One paper of a procedure's dossier (thành phần hồ sơ)."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Nộp")
        PRESENT = "present", _("Xuất trình")
        ONLINE_FORM = "online_form", _("Biểu mẫu điện tử")

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="documents", verbose_name=_("thủ tục")
    )
    name = models.TextField(_("tên giấy tờ"))
    kind = models.CharField(
        _("hình thức"), max_length=16, choices=Kind.choices, default=Kind.SUBMIT
    )
    required = models.BooleanField(_("bắt buộc"), default=True)
    condition = models.CharField(_("trường hợp áp dụng"), max_length=255, blank=True)
    channels = models.JSONField(
        _("kênh áp dụng"),
        default=list,
        blank=True,
        help_text=_(
            "Danh sách kênh (1 trực tiếp, 2 trực tuyến, 3 bưu chính); để trống = mọi kênh."
        ),
    )
    originals = models.PositiveSmallIntegerField(_("bản chính"), default=0)
    certified_copies = models.PositiveSmallIntegerField(_("bản sao chứng thực"), default=0)
    copies = models.PositiveSmallIntegerField(_("bản sao"), default=0)
    copies_note = models.CharField(_("số lượng (nguyên văn)"), max_length=255, blank=True)
    # The kind of paper this is: the store offers the applicant's own of this type.
    document_type = models.ForeignKey(
        "DocumentType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="asked_by",
        verbose_name=_("loại giấy tờ"),
    )
    allowed_types = models.JSONField(
        _("định dạng tệp cho phép"), default=list, blank=True, help_text='["pdf", "jpg", "png"]'
    )
    order = models.PositiveSmallIntegerField(_("thứ tự"), default=0)
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("thành phần hồ sơ")
        verbose_name_plural = _("thành phần hồ sơ")
        ordering = ["procedure", "order", "id"]

    def __str__(self):
        return self.name[:80]

    def applies_to(self, channel: int) -> bool:
        return not self.channels or channel in self.channels

    def must_be_uploaded(self, channel: int) -> bool:
        """Required papers that are handed in (not only shown) for this channel."""
        return self.required and self.kind == self.Kind.SUBMIT and self.applies_to(channel)


class ProcedureField(models.Model):
    """One question of the applicant form generated for a procedure."""

    class Type(models.TextChoices):
        TEXT = "text", _("Văn bản ngắn")
        TEXTAREA = "textarea", _("Văn bản dài")
        DATE = "date", _("Ngày")
        NUMBER = "number", _("Số")
        CHOICE = "choice", _("Lựa chọn")
        CHECKBOX = "checkbox", _("Đánh dấu")
        EMAIL = "email", _("Thư điện tử")
        PHONE = "phone", _("Số điện thoại")
        ID_NUMBER = "id_number", _("Số định danh cá nhân")

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="fields", verbose_name=_("thủ tục")
    )
    key = models.SlugField(_("khóa"), max_length=64)
    label = models.CharField(_("nhãn"), max_length=255)
    type = models.CharField(_("kiểu"), max_length=16, choices=Type.choices, default=Type.TEXT)
    required = models.BooleanField(_("bắt buộc"), default=True)
    choices = models.JSONField(_("các lựa chọn"), default=list, blank=True)
    help_text = models.CharField(_("hướng dẫn"), max_length=255, blank=True)
    profile_source = models.CharField(
        _("điền sẵn từ hồ sơ cá nhân"),
        max_length=32,
        blank=True,
        help_text=_("Tên trường của hồ sơ công dân dùng để điền sẵn, ví dụ full_name."),
    )
    order = models.PositiveSmallIntegerField(_("thứ tự"), default=0)
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("trường biểu mẫu")
        verbose_name_plural = _("trường biểu mẫu")
        ordering = ["procedure", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "key"], name="unique_field_key")
        ]

    def __str__(self):
        return self.label
