from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AccessLogEntry,
    Agency,
    Attachment,
    CalendarDay,
    ClockPause,
    Dossier,
    DossierEvent,
    Membership,
    OutgoingEmail,
    Procedure,
    ProcedureDocument,
    ProcedureField,
)


@admin.register(Agency)
class AgencyAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "level", "parent", "code_is_fictitious")
    list_filter = ("level", "code_is_fictitious")
    search_fields = ("code", "name")


class ProcedureDocumentInline(admin.StackedInline):
    model = ProcedureDocument
    extra = 0


class ProcedureFieldInline(admin.TabularInline):
    model = ProcedureField
    extra = 0


@admin.register(Procedure)
class ProcedureAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "sector",
        "time_limit_value",
        "time_limit_unit",
        "fee_vnd",
        "active",
    )
    list_filter = ("sector", "active", "time_limit_unit", "supplement_policy", "confidence")
    search_fields = ("code", "name")
    inlines = [ProcedureDocumentInline, ProcedureFieldInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "agency", "role")
    list_filter = ("role", "agency")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user", "agency")


@admin.register(CalendarDay)
class CalendarDayAdmin(SimpleHistoryAdmin):
    list_display = ("date", "kind", "reason")
    list_filter = ("kind",)
    date_hierarchy = "date"


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Dossiers change only through the workflow services; admin shows them read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = (
        "document",
        "purpose",
        "original_name",
        "size",
        "content_type",
        "sha256",
        "created_at",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PauseInline(admin.TabularInline):
    model = ClockPause
    extra = 0
    readonly_fields = ("reason", "started_at", "ended_at", "working_seconds")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "procedure",
        "status",
        "channel",
        "receiving_agency",
        "received_at",
        "due_at",
    )
    list_filter = ("status", "channel", "receiving_agency", "procedure__sector")
    search_fields = ("code",)
    list_select_related = ("procedure", "receiving_agency")
    date_hierarchy = "created_at"
    inlines = [AttachmentInline, PauseInline]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Append-only rows: the admin shows them and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD")  # view only

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DossierEvent)
class DossierEventAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "dossier", "seq", "event_type", "actor_name", "role", "ip")
    list_filter = ("event_type", "role")
    search_fields = ("dossier__code", "actor_name")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in DossierEvent._meta.fields]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ViewOnlyAdmin):
    """Staff reads of personal data: append-only, view only (see access.py)."""

    list_display = ("created_at", "seq", "dossier", "actor_name", "roles", "purpose", "what", "ip")
    list_filter = ("purpose", "what")
    search_fields = ("dossier__code", "actor_name", "subject_name")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """The e-mail outbox: what was sent, what waits for `send_notifications`."""

    list_display = ("created_at", "dossier", "to", "subject", "state", "attempts")
    list_filter = ("state",)
    search_fields = ("dossier__code", "to")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD")

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.index_title = _("Quản trị onestop")
