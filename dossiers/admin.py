from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .errors import DomainError
from .integrations import feed, webhooks
from .models import (
    AccessLogEntry,
    Agency,
    Attachment,
    CalendarDay,
    ClockPause,
    DeliveryAttempt,
    Dossier,
    DossierEvent,
    Membership,
    OutgoingEmail,
    Procedure,
    ProcedureDocument,
    ProcedureField,
    WebhookSubscription,
)
from .workflow import EventType


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


def _fed_event_choices():
    return [(e, f"{EventType(e).label} ({e})") for e in sorted(feed.FED_EVENTS)]


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("địa chỉ nhận"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("loại sự kiện"),
        choices=_fed_event_choices,  # labels in the page's language
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Để trống: mọi loại sự kiện."),
    )

    class Meta:
        model = WebhookSubscription
        fields = (
            "owner",
            "url",
            "event_types",
            "agencies",
            "procedures",
            "profile",
            "include_personal_data",
        )

    def clean(self):
        data = super().clean()
        owner = data.get("owner") or getattr(self.instance, "owner", None)
        if owner is None or "url" not in data:
            return data
        try:  # the same checks as the API's: the target, the event types, the owner's agencies
            webhooks.validate(
                owner,
                url=data["url"],
                event_types=data.get("event_types", []),
                agencies=list(data.get("agencies") or []),
            )
        except DomainError as refused:
            if not refused.fields:
                self.add_error("owner" if "owner" in self.fields else None, refused.message)
            for field, problems in refused.fields.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SimpleHistoryAdmin):
    """Other systems' subscriptions to the change feed. The signing secret is generated on
    creation and shown once; delivery progress is the worker's (read only here)."""

    form = WebhookSubscriptionForm
    list_display = ("id", "url", "owner", "profile", "state", "failures", "next_attempt_at")
    list_filter = ("state", "profile")
    search_fields = ("url", "owner__username")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    filter_horizontal = ("agencies", "procedures")
    progress = (
        "state",
        "paused_reason",
        "cursor",
        "failures",
        "failing_since",
        "next_attempt_at",
        "created_at",
    )
    actions = ("pause_selected", "resume_selected")

    def get_fields(self, request, obj=None):
        fields = list(WebhookSubscriptionForm.Meta.fields)
        return fields if obj is None else [*fields, *self.progress]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("owner", *self.progress)

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        if change:
            return  # save_related changes the settings through the service
        secret = webhooks.initialize(obj)
        obj.save()
        self.message_user(
            request,
            format_html(
                _(
                    "Khóa ký của đăng ký #{}: <code>{}</code>. Khóa chỉ hiển thị lần này: hãy lưu "
                    "lại và trao cho hệ thống nhận."
                ),
                obj.pk,
                secret,
            ),
            messages.WARNING,
        )

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        changed = {f: form.cleaned_data[f] for f in webhooks.SETTINGS if f in form.changed_data}
        webhooks.subscription_update(form.instance, **changed)

    def get_deleted_objects(self, objs, request):
        # The delivery record goes with its subscription (it cannot be deleted on its own).
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        record = str(DeliveryAttempt._meta.verbose_name)
        perms_needed = {p for p in perms_needed if str(p) != record}
        return deleted, counts, perms_needed, protected

    @admin.action(description=_("Tạm dừng các đăng ký đã chọn"))
    def pause_selected(self, request, queryset):
        for subscription in queryset:
            webhooks.pause(subscription, str(_("Quản trị viên tạm dừng.")))
        self.message_user(request, _("Đã tạm dừng %(n)d đăng ký.") % {"n": len(queryset)})

    @admin.action(description=_("Tiếp tục gửi các đăng ký đã chọn"))
    def resume_selected(self, request, queryset):
        for subscription in queryset:
            webhooks.resume(subscription)
        self.message_user(request, _("Đã tiếp tục %(n)d đăng ký.") % {"n": len(queryset)})


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ViewOnlyAdmin):
    """Every POST of a feed entry to a subscription, as it went (the worker writes them)."""

    list_display = (
        "attempted_at",
        "subscription",
        "webhook_id",
        "entry",
        "status_code",
        "succeeded",
        "duration_ms",
    )
    list_filter = ("succeeded", "subscription")
    search_fields = ("webhook_id",)
    list_select_related = ("subscription", "entry")
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]


admin.site.index_title = _("Quản trị onestop")
