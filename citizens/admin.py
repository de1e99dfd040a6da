from django.contrib import admin
from django.db.models import Q

from dossiers.admin import ScopedHistoryAdmin
from dossiers.permissions import visible_dossiers

from .models import CitizenProfile


@admin.register(CitizenProfile)
class CitizenProfileAdmin(ScopedHistoryAdmin):
    """Staff who are not superusers see the profiles of the applicants of the dossiers they see
    (dossiers.admin.Scoped)."""

    list_display = ("full_name", "id_number", "phone", "email", "user")
    search_fields = ("full_name", "id_number", "phone", "email", "user__username")

    def scope(self, user):
        applicants = visible_dossiers(user).exclude(applicant_user=None).values("applicant_user")
        return Q(user__in=applicants)
