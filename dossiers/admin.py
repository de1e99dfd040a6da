"""The Django admin, scoped: a superuser sees and changes everything; any other staff member
sees only the rows of the agencies they read as staff (`permissions.reader_agency_ids`: their
agencies, the agencies a supervisor oversees), within their model permissions, and picks only
those agencies' rows in foreign-key fields. Who holds which role where (memberships), the agency
tree (which decides what a supervisor oversees), users and groups change by superusers only.
Audit and append-only rows are read-only for everyone."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import notify
from .errors import DomainError
from .integrations import feed, webhooks
from .models import (
    AccessLogEntry,
    Agency,
    Attachment,
    CalendarDay,
    ClockPause,
    DeliveryAttempt,
    DocumentType,
    Dossier,
    DossierEvent,
    Membership,
    OutgoingEmail,
    Payment,
    PaymentRefusal,
    Procedure,
    ProcedureDocument,
    ProcedureField,
    StoredDocument,
    WebhookSubscription,
)
from .permissions import reader_agency_ids, visibility_filter, visible_dossiers
from .workflow import EventType

User = get_user_model()


# --- the scope ---------------------------------------------------------------------------------


class Scoped:
    """A ModelAdmin mixin: `scope(user)` is the Q of the rows a staff member who is not a
    superuser may see (None: the province's shared catalogue, the same for everyone). It filters
    the list, the change, delete and history pages (another agency's row answers as a missing
    one), bulk actions, and the choices of every foreign-key and many-to-many field pointing to
    a scoped model (through that model's admin), autocomplete included."""

    def scope(self, user) -> Q | None:
        raise NotImplementedError(f"{type(self).__name__} must say whose rows a staff member sees")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        condition = self.scope(request.user)
        return queryset if condition is None else queryset.filter(condition)

    def get_field_queryset(self, db, db_field, request):
        related = self.admin_site._registry.get(db_field.remote_field.model)
        if isinstance(related, Scoped) and not request.user.is_superuser:
            return related.get_queryset(request).using(db)
        return super().get_field_queryset(db, db_field, request)


class SuperuserChanges:
    """Rows only superusers add, change or delete (others see them, within their scope)."""

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class ScopedHistoryAdmin(Scoped, SimpleHistoryAdmin):
    """simple-history's pages, held to the same scope and rights: its history list falls back
    to the history table for a row the scoped list does not hold, and its revert page saves on
    POST for anyone who may view. Here a row outside the scope is 404 on both, and reverting
    needs the right to change."""

    def _visible_or_404(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None and not request.user.is_superuser:
            raise Http404
        return obj

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self._visible_or_404(request, object_id)
        if request.method == "POST" and not self.has_change_permission(request, obj):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class SuperusersOnly:
    """Another app's admin whose rows no agency scope fits (API tokens, job results): for
    superusers only. `restrict_unscoped` puts it on every such admin."""

    def _superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._superuser(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._superuser(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._superuser(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._superuser(request) and super().has_delete_permission(request, obj)


def restrict_unscoped(site=admin.site) -> None:
    """Every registered admin that does not scope its rows (`Scoped`) becomes superusers-only.
    Run once every app's admin module is loaded (DossiersConfig.ready)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, Scoped | SuperusersOnly):
            continue
        restricted = type(
            f"SuperusersOnly{type(model_admin).__name__}",
            (SuperusersOnly, type(model_admin)),
            {"__module__": __name__},
        )
        site.unregister(model)
        site.register(model, restricted)


def _agencies(user) -> Q:
    return Q(pk__in=reader_agency_ids(user))


def _their_dossiers(user, path: str = "dossier") -> Q:
    """Rows of the dossiers `user` sees (the one visibility rule, permissions.visibility_filter)."""
    return Q(**{f"{path}__in": visible_dossiers(user).values("pk")})


def _their_colleagues(user) -> Q:
    """Themselves and the people holding a role at one of their agencies."""
    holders = Membership.objects.filter(agency_id__in=reader_agency_ids(user)).values("user_id")
    return Q(pk=user.pk) | Q(pk__in=holders)


def _their_subscriptions(user) -> Q:
    """Their own webhook subscriptions and those of their agencies' accounts."""
    return Q(owner__in=User.objects.filter(_their_colleagues(user)).values("pk"))


# --- users and groups: superusers change them ----------------------------------------------------


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ScopedUserAdmin(SuperuserChanges, Scoped, UserAdmin):
    """Accounts: superusers only change them (staff status, superuser status, groups and
    permissions are rights); other staff with the view right see their colleagues."""

    def scope(self, user):
        return _their_colleagues(user)


@admin.register(Group)
class ScopedGroupAdmin(SuperuserChanges, Scoped, GroupAdmin):
    """The role groups (kept in step with the workflow, groups.py): superusers only change them."""

    def scope(self, user):
        return None


# --- the catalogue, the agencies and the people at them -------------------------------------------


@admin.register(Agency)
class AgencyAdmin(ScopedHistoryAdmin):
    """The agency tree decides what a supervisor oversees: only superusers add or remove
    agencies or change their place in it; others may correct their own agencies' details."""

    list_display = ("code", "name", "level", "parent", "code_is_fictitious")
    list_filter = ("level", "code_is_fictitious")
    search_fields = ("code", "name")

    def scope(self, user):
        return _agencies(user)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("code", "level", "parent", "code_is_fictitious")


class ProcedureDocumentInline(admin.StackedInline):
    model = ProcedureDocument
    extra = 0


class ProcedureFieldInline(admin.TabularInline):
    model = ProcedureField
    extra = 0


@admin.register(Procedure)
class ProcedureAdmin(ScopedHistoryAdmin):
    list_display = (
        "code",
        "name",
        "sector",
        "time_limit_value",
        "time_limit_unit",
        "fee_vnd",
        "active",
    )
    list_filter = (
        "sector",
        "active",
        "time_limit_unit",
        "supplement_policy",
        "confidence",
        "eid_required",
    )
    search_fields = ("code", "name")
    inlines = [ProcedureDocumentInline, ProcedureFieldInline]

    def scope(self, user):
        return None  # the province's catalogue


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    """The catalogue of recurring papers (superusers only, like every unscoped admin)."""

    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(StoredDocument)
class StoredDocumentAdmin(admin.ModelAdmin):
    """The documents store, read only (append-only; superusers only)."""

    list_display = ("title", "number", "kind", "owner_id_number", "issued_on", "electronic")
    list_filter = ("kind", "electronic", "document_type")
    search_fields = ("owner_id_number", "number", "source_dossier__code")
    readonly_fields = [f.name for f in StoredDocument._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(SuperuserChanges, ScopedHistoryAdmin):
    """Who holds which role where: the rights of every official. Superusers only change them;
    other staff see their own agencies' roles."""

    list_display = ("user", "agency", "role")
    list_filter = ("role", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user", "agency")

    def scope(self, user):
        return Q(agency_id__in=reader_agency_ids(user))


@admin.register(CalendarDay)
class CalendarDayAdmin(ScopedHistoryAdmin):
    list_display = ("date", "kind", "reason")
    list_filter = ("kind",)
    date_hierarchy = "date"

    def scope(self, user):
        return None  # the province's working calendar


class ReadOnlyAdmin(ScopedHistoryAdmin):
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
    list_filter = (
        "status",
        "channel",
        ("receiving_agency", admin.RelatedOnlyFieldListFilter),
        "procedure__sector",
    )
    search_fields = ("code",)
    list_select_related = ("procedure", "receiving_agency")
    date_hierarchy = "created_at"
    inlines = [AttachmentInline, PauseInline]

    def scope(self, user):
        return visibility_filter(user)


class ViewOnlyAdmin(Scoped, admin.ModelAdmin):
    """Append-only rows: the admin shows them and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the view right shows them

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DossierEvent)
class DossierEventAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "dossier", "seq", "event_type", "actor_name", "role", "ip")
    list_filter = ("event_type", "role")
    search_fields = ("dossier__code", "actor_name")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in DossierEvent._meta.fields]

    def scope(self, user):
        return _their_dossiers(user)


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ViewOnlyAdmin):
    """Staff reads of personal data: append-only, view only (see access.py)."""

    list_display = ("created_at", "seq", "dossier", "actor_name", "roles", "purpose", "what", "ip")
    list_filter = ("purpose", "what")
    search_fields = ("dossier__code", "actor_name", "subject_name")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]

    def scope(self, user):
        return _their_dossiers(user)


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    """Payments recorded (gateway, bank statement, counter): append-only, view only; filter by
    outcome to find the money kept for reconciliation."""

    list_display = (
        "recorded_at",
        "dossier",
        "amount_vnd",
        "method",
        "transaction_id",
        "outcome",
        "receipt_number",
        "confirmed_by",
    )
    list_filter = ("method", "outcome")
    search_fields = ("dossier__code", "transaction_id", "receipt_number")
    list_select_related = ("dossier", "confirmed_by")
    readonly_fields = [f.name for f in Payment._meta.fields]

    def scope(self, user):
        return _their_dossiers(user)


@admin.register(PaymentRefusal)
class PaymentRefusalAdmin(ViewOnlyAdmin):
    """Payment notifications and statement lines refused: what arrived, why, when, from where
    (those naming no dossier, such as a bad signature, are the superusers' to see)."""

    list_display = ("received_at", "method", "reason", "detail", "ip", "dossier")
    list_filter = ("method", "reason")
    search_fields = ("dossier__code", "detail", "ip")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in PaymentRefusal._meta.fields]

    def scope(self, user):
        return _their_dossiers(user)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ViewOnlyAdmin):
    """The e-mail outbox: what was sent, what the worker still tries (with growing delays), and
    what failed for good (filter by state) — which an administrator may try again."""

    list_display = (
        "created_at",
        "dossier",
        "to",
        "subject",
        "state",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "error",
    )
    list_filter = ("state",)
    search_fields = ("dossier__code", "to")
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    ordering = ("-created_at", "-pk")
    actions = ("retry_selected",)

    def scope(self, user):
        return _their_dossiers(user)

    @admin.display(description=_("lỗi lần cuối"))
    def error(self, email):
        return Truncator(email.last_error).chars(120)

    def has_retry_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("dossiers.change_outgoingemail")

    @admin.action(description=_("Gửi lại các thư không gửi được đã chọn"), permissions=("retry",))
    def retry_selected(self, request, queryset):
        failed = queryset.filter(state=OutgoingEmail.State.FAILED).values_list("pk", flat=True)
        retried = sum(notify.retry_failed(pk) for pk in failed)
        self.message_user(
            request,
            _("Đã đưa %(n)d thư vào hàng gửi lại (thư không ở trạng thái lỗi được bỏ qua).")
            % {"n": retried},
        )


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
class WebhookSubscriptionAdmin(ScopedHistoryAdmin):
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

    def scope(self, user):
        return _their_subscriptions(user)

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
    list_filter = ("succeeded", ("subscription", admin.RelatedOnlyFieldListFilter))
    search_fields = ("webhook_id",)
    list_select_related = ("subscription", "entry")
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]

    def scope(self, user):
        subscriptions = WebhookSubscription.objects.filter(_their_subscriptions(user))
        return Q(subscription__in=subscriptions.values("pk"))


admin.site.index_title = _("Quản trị onestop")
