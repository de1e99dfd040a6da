from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import CitizenProfile


@admin.register(CitizenProfile)
class CitizenProfileAdmin(SimpleHistoryAdmin):
    list_display = ("full_name", "id_number", "phone", "email", "user")
    search_fields = ("full_name", "id_number", "phone", "email", "user__username")
