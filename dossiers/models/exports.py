"""Exports too large to build inside a request: asked for on a page, built by the worker into a
file of the default storage, downloaded by whoever asked, deleted when they expire."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def export_path(instance, filename):
    # Generated names only (the download name is `filename`); one name per attempt, so a second
    # attempt of the same export never writes over the first's file (export_jobs.build_export).
    return f"exports/{instance.token}/{instance.attempts}.{instance.format}"


def new_token() -> str:
    return secrets.token_hex(16)


class ExportJob(models.Model):
    """One export asked for by a staff member: what (kind, format, the scope and filters fixed
    when asked), how far the worker got, and the file it built. Kept after the file expires, as
    the record of who exported what and how often they downloaded it."""

    class Audience(models.TextChoices):
        OFFICE = "office", _("Cán bộ một cửa")
        SUPERVISION = "supervision", _("Giám sát")

    class Kind(models.TextChoices):
        REGISTER = "register", _("Sổ theo dõi hồ sơ")
        AUDIT = "audit", _("Nhật ký toàn tỉnh")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Đang chờ")
        RUNNING = "running", _("Đang tạo")
        DONE = "done", _("Sẵn sàng")
        FAILED = "failed", _("Lỗi")
        EXPIRED = "expired", _("Đã hết hạn")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    audience = models.CharField(_("trang"), max_length=16, choices=Audience.choices)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    format = models.CharField(_("định dạng"), max_length=8, choices=Format.choices)
    # The scope (agencies) and filters as they were when asked: the worker never widens them.
    parameters = models.JSONField(_("tham số"), default=dict)
    filename = models.CharField(_("tên tệp"), max_length=120)
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    rows_done = models.PositiveBigIntegerField(_("số dòng đã ghi"), default=0)
    rows_expected = models.PositiveBigIntegerField(_("số dòng dự kiến"), null=True, blank=True)
    token = models.CharField(max_length=32, default=new_token, editable=False, unique=True)
    file = models.FileField(_("tệp"), upload_to=export_path, max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("kích thước (byte)"), null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("lỗi"), blank=True)
    # Each claim by a worker counts one; only the newest attempt may finish the export.
    attempts = models.PositiveSmallIntegerField(_("số lần chạy"), default=0)
    created_at = models.DateTimeField(_("yêu cầu lúc"))
    started_at = models.DateTimeField(_("bắt đầu lúc"), null=True, blank=True)
    # Moved on with the progress: a running export whose heartbeat stopped belongs to a dead
    # worker and may be claimed again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("xong lúc"), null=True, blank=True)
    expires_at = models.DateTimeField(_("hết hạn lúc"), null=True, blank=True)
    notified_at = models.DateTimeField(_("đã báo lúc"), null=True, blank=True)
    notice_attempts = models.PositiveSmallIntegerField(default=0)
    download_count = models.PositiveIntegerField(_("số lần tải"), default=0)
    last_downloaded_at = models.DateTimeField(_("tải lần cuối lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("yêu cầu xuất dữ liệu")
        verbose_name_plural = _("yêu cầu xuất dữ liệu")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="export_job_requester"),
            models.Index(fields=["status", "expires_at"], name="export_job_expiry"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind}.{self.format} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int | None:
        if not self.rows_expected:
            return None
        return min(100, int(100 * self.rows_done / self.rows_expected))
