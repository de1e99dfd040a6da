"""The audit trail's storage: the append-only event log, the daily digests of chain heads, and
the append-only log of staff reads of personal data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..workflow import EventType, Role
from .agencies import Agency
from .dossier import Dossier


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model._meta.verbose_name} is append-only")

    def delete(self):
        raise TypeError(f"{self.model._meta.verbose_name} is append-only")


class AppendOnly(models.Model):
    """Rows written once: no update, no delete, through the model or its querysets (and, on
    PostgreSQL, triggers refuse them too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{self._meta.verbose_name} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._meta.verbose_name} is append-only")


class DossierEvent(AppendOnly):
    """One audited action on a dossier. Append-only; chained by hash per dossier (see audit.py)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("số thứ tự"))
    event_type = models.CharField(_("sự kiện"), max_length=64, choices=EventType.choices)
    from_status = models.CharField(_("từ trạng thái"), max_length=32, blank=True)
    to_status = models.CharField(_("sang trạng thái"), max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(_("người thực hiện"), max_length=255, blank=True)
    # One role for an action; a read records every role the reader holds there.
    role = models.CharField(_("vai trò"), max_length=64, blank=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("thời điểm"))
    ip = models.GenericIPAddressField(_("địa chỉ IP"), null=True, blank=True)
    note = models.TextField(_("ghi chú"), blank=True)
    data = models.JSONField(_("dữ liệu"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # The Ed25519 seal over `hash` (sealing.py), and when the row was stored (anchors.py).
    key_id = models.CharField(max_length=16, blank=True)
    signature = models.CharField(max_length=88, blank=True)
    recorded_at = models.DateTimeField(db_default=models.functions.Now(), db_index=True)

    class Meta:
        verbose_name = _("nhật ký hồ sơ")
        verbose_name_plural = _("nhật ký hồ sơ")
        ordering = ["dossier_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["dossier", "seq"], name="unique_event_seq")]
        indexes = [
            models.Index(fields=["created_at", "id"]),
            models.Index(fields=["event_type", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["agency", "created_at"]),
            # The audit log filtered by actor and event type together, newest first (with
            # one index per filter, a rare pair would read every event of the type).
            models.Index(fields=["actor", "event_type", "created_at"], name="event_actor_type"),
        ]

    def __str__(self):
        return f"{self.dossier_id}#{self.seq} {self.event_type}"


class AuditDigest(models.Model):
    """The day's digest of every dossier's chain head (see audit.heads_digest), and the access
    log's head."""

    day = models.DateField(_("ngày"), unique=True)
    digest = models.CharField(max_length=64)
    dossiers = models.PositiveIntegerField(_("số hồ sơ"))
    # The access log's head at the end of the day, so that entries removed from its end, or a
    # log rewritten with fresh hashes, are seen too.
    access_seq = models.PositiveBigIntegerField(default=0)
    access_head = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("lập lúc"))

    class Meta:
        verbose_name = _("mã tổng hợp nhật ký")
        verbose_name_plural = _("mã tổng hợp nhật ký")
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day:%d/%m/%Y} {self.digest[:16]}"


class AccessLogEntry(AppendOnly):
    """One staff read of a dossier's personal data: who read whose data, which dossier, when,
    from where, why and what. Append-only, in one global hash chain (see access.py), apart from
    the dossier's own trail, so a read neither locks nor changes the dossier."""

    class Purpose(models.TextChoices):
        PROCESSING = "processing", _("Xử lý hồ sơ")
        SUPERVISION = "supervision", _("Giám sát hồ sơ")
        API = "api", _("Đọc qua API")
        # Reception filling the counter form from a known applicant's earlier dossier.
        INTAKE_LOOKUP = "intake_lookup", _("Tra cứu người nộp khi tiếp nhận")

    class What(models.TextChoices):
        PERSONAL_DATA = "personal_data", _("Dữ liệu cá nhân")
        FILE = "file", _("Tệp tài liệu")

    seq = models.PositiveBigIntegerField(_("số thứ tự"), unique=True)
    created_at = models.DateTimeField(_("thời điểm"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("người xem"), max_length=255)
    # Every role the reader holds where they read it (the dossier's agencies, else supervision).
    roles = models.CharField(_("vai trò"), max_length=64, blank=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, related_name="+")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="access_log")
    # Whose data: the applicant's account, none for a walk-in without one.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    subject_name = models.CharField(_("chủ thể dữ liệu"), max_length=255, blank=True)
    ip = models.GenericIPAddressField(_("địa chỉ IP"), null=True, blank=True)
    purpose = models.CharField(_("mục đích"), max_length=32, choices=Purpose.choices)
    what = models.CharField(_("dữ liệu được xem"), max_length=32, choices=What.choices)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # The Ed25519 seal over `hash` (sealing.py), and when the row was stored (anchors.py).
    key_id = models.CharField(max_length=16, blank=True)
    signature = models.CharField(max_length=88, blank=True)
    recorded_at = models.DateTimeField(db_default=models.functions.Now(), db_index=True)

    class Meta:
        verbose_name = _("nhật ký truy cập dữ liệu cá nhân")
        verbose_name_plural = _("nhật ký truy cập dữ liệu cá nhân")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["created_at", "id"]),
            models.Index(fields=["dossier", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
            # The access log's "agency" filter, newest first.
            models.Index(fields=["agency", "created_at"], name="access_agency_created"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.actor_name} → {self.dossier_id} ({self.purpose})"

    @property
    def role_labels(self) -> str:
        return ", ".join(
            str(Role(role).label) if role in Role.values else role
            for role in self.roles.split(",")
            if role
        )


class AuditAnchor(AppendOnly):
    """A signed summary of every sealed record stored in a window of time (anchors.py), kept
    here and, outside the database, in an append-only file."""

    seq = models.PositiveIntegerField(_("số thứ tự"), unique=True)
    created_at = models.DateTimeField(_("lập lúc"))
    window_start = models.DateTimeField(_("từ"))
    window_end = models.DateTimeField(_("đến"))
    content = models.JSONField(_("nội dung"))
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=88)

    class Meta:
        verbose_name = _("mốc neo nhật ký")
        verbose_name_plural = _("mốc neo nhật ký")
        ordering = ["-seq"]

    def __str__(self):
        return f"#{self.seq} {self.window_end:%d/%m/%Y %H:%M} {self.hash[:16]}"


class VerificationRun(models.Model):
    """One verification of the whole trail (verification.verify_everything): asked for on the
    integrity page (run by the worker) or made by `manage.py verify_audit`, and what it found.
    Written when asked for and when it starts and ends; never edited afterwards."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Đang chờ")
        RUNNING = "running", _("Đang kiểm tra")
        OK = "ok", _("Toàn vẹn")
        FAILED = "failed", _("Phát hiện sai lệch")
        ERROR = "error", _("Lỗi khi kiểm tra")

    class Via(models.TextChoices):
        PAGE = "page", _("Trang toàn vẹn")
        COMMAND = "command", _("Lệnh verify_audit")

    MAX_PROBLEMS = 200  # problems kept; `problem_count` says how many there were

    # None: the command line or a schedule.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    via = models.CharField(_("yêu cầu từ"), max_length=16, choices=Via.choices)
    files = models.BooleanField(_("kiểm tra cả tệp"), default=False)
    requested_at = models.DateTimeField(_("yêu cầu lúc"))
    started_at = models.DateTimeField(_("bắt đầu lúc"), null=True, blank=True)
    finished_at = models.DateTimeField(_("kết thúc lúc"), null=True, blank=True)
    status = models.CharField(_("kết quả"), max_length=16, choices=Status.choices)
    problems = models.JSONField(_("sai lệch"), default=list, blank=True)
    problem_count = models.PositiveIntegerField(_("số sai lệch"), default=0)
    counts = models.JSONField(_("đã kiểm tra"), default=dict, blank=True)
    error = models.TextField(_("lỗi"), blank=True)
    # True while queued or running, None afterwards: the unique constraint lets only one run
    # wait or run at a time, whoever asks and on every database.
    active = models.BooleanField(null=True, default=True, editable=False)

    class Meta:
        verbose_name = _("lần kiểm tra toàn vẹn")
        verbose_name_plural = _("các lần kiểm tra toàn vẹn")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["active"], name="one_active_verification_run")
        ]
        indexes = [models.Index(fields=["-requested_at", "-id"], name="verification_run_recent")]

    def __str__(self):
        return f"#{self.pk} {self.status} {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.OK, self.Status.FAILED, self.Status.ERROR)

    @property
    def problems_left_out(self) -> int:
        return max(0, self.problem_count - len(self.problems))
