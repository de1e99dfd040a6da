"""The citizen's profile: data given once, pre-filling every application."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dossiers.sealing import SealedHistory
from dossiers.validators import APPLICANT_FIELDS, CITIZEN_ID_VALIDATOR, PHONE_VALIDATOR


class CitizenProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="citizen_profile"
    )
    full_name = models.CharField(_("họ và tên"), max_length=255)
    id_number = models.CharField(
        _("số định danh cá nhân"), max_length=12, unique=True, validators=[CITIZEN_ID_VALIDATOR]
    )
    date_of_birth = models.DateField(_("ngày sinh"), null=True, blank=True)
    phone = models.CharField(
        _("số điện thoại"), max_length=16, blank=True, validators=[PHONE_VALIDATOR]
    )
    email = models.EmailField(_("thư điện tử"), blank=True)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    # Where the identity fields (full name, ID number, date of birth) came from: set by a login
    # with the national e-ID (citizens/eid.py), which makes them read-only. Empty: typed by the
    # citizen at sign-up. Columns added later to a sealed history (sealing.ADDED_LATER).
    eid_issuer = models.CharField(_("nguồn định danh điện tử"), max_length=255, blank=True)
    eid_subject = models.CharField(
        _("mã người dùng tại nguồn định danh"), max_length=255, blank=True
    )
    eid_verified_at = models.DateTimeField(
        _("xác thực định danh điện tử lúc"), null=True, blank=True
    )
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("hồ sơ công dân")
        verbose_name_plural = _("hồ sơ công dân")

    def __str__(self):
        return self.full_name

    @property
    def identity_from_eid(self) -> bool:
        return self.eid_verified_at is not None

    def snapshot(self) -> dict:
        data = {name: getattr(self, name) for name in APPLICANT_FIELDS}
        data["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else ""
        return data
