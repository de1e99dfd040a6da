"""Who sees what and who may do what: one visibility rule for every list, page, file and API,
and one authorization rule (`authorize`) for every write.

- A citizen sees their own dossiers (drafts included).
- An official sees the non-draft dossiers whose receiving or competent agency is one of theirs.
- A supervisor sees the non-draft dossiers of every agency in their province (their agency and
  the agencies below it); a supervisor never acts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .errors import DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from .models import Agency, Attachment, Dossier, Membership, StoredDocument
from .workflow import (
    OFFICIAL_ROLES,
    TERMINAL_STATUSES,
    Action,
    Role,
    Status,
    edge_for,
    edges_of,
    permission_codename,
)


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_onestop_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("agency"))
        user._onestop_memberships = cached
    return cached


def official_agency_ids(user) -> set[int]:
    return {m.agency_id for m in memberships_of(user) if m.role in OFFICIAL_ROLES}


def supervised_agency_ids(user) -> set[int]:
    """A supervisor's agencies and those below them: one query per request, like memberships."""
    cached = getattr(user, "_onestop_supervised", None)
    if cached is None:
        roots = {m.agency_id for m in memberships_of(user) if m.role == Role.SUPERVISOR}
        children = (
            Agency.objects.filter(parent_id__in=roots).values_list("id", flat=True) if roots else []
        )
        cached = user._onestop_supervised = frozenset(roots | set(children))
    return set(cached)


def integration_agency_ids(user) -> set[int]:
    """Agencies whose dossiers another system (an integration account) reads for them."""
    return {m.agency_id for m in memberships_of(user) if m.role == Role.INTEGRATION}


def reader_agency_ids(user) -> set[int]:
    """Every agency whose non-draft dossiers `user` sees as staff."""
    return official_agency_ids(user) | supervised_agency_ids(user) | integration_agency_ids(user)


def is_official(user) -> bool:
    return bool(official_agency_ids(user))


def is_supervisor(user) -> bool:
    return any(m.role == Role.SUPERVISOR for m in memberships_of(user))


# Who may export what: officials their agencies' register (the office's page), supervisors their
# province's register and audit log. The agencies are fixed when the export is asked for.
EXPORT_AUDIENCES = {"office": official_agency_ids, "supervision": supervised_agency_ids}


def may_export(user, audience: str) -> bool:
    """Whether `user` may ask for (and download) an export of `audience`'s pages now."""
    agencies_of = EXPORT_AUDIENCES.get(audience)
    return bool(user.is_authenticated and agencies_of and agencies_of(user))


def export_agency_ids(user, audience: str) -> set[int]:
    """The agencies whose rows an export of `audience`'s pages by `user` may cover."""
    return set(EXPORT_AUDIENCES[audience](user)) if may_export(user, audience) else set()


def visibility_filter(user, prefix: str = "") -> Q:
    """The Q a dossier queryset is filtered with for `user` (matches nothing for anonymous);
    with `prefix` (e.g. "dossier__"), the same rule for rows that belong to a dossier."""
    if not user.is_authenticated:
        return Q(**{f"{prefix}pk__in": []})
    condition = Q(**{f"{prefix}applicant_user": user})
    agencies = reader_agency_ids(user)
    if agencies:
        condition |= ~Q(**{f"{prefix}status": Status.DRAFT}) & (
            Q(**{f"{prefix}receiving_agency_id__in": agencies})
            | Q(**{f"{prefix}competent_agency_id__in": agencies})
        )
    return condition


def visibility_branches(user) -> list[Q]:
    """`visibility_filter(user)` as conditions whose OR is the same set (a dossier may meet
    several): the applicant's own, then each reader agency as receiving and as competent
    agency. Each is one index range, so a paged list can read each in order (queries.py)."""
    if not user.is_authenticated:
        return [Q(pk__in=[])]
    branches = [Q(applicant_user=user)]
    for agency in sorted(reader_agency_ids(user)):
        branches += [
            ~Q(status=Status.DRAFT) & Q(receiving_agency_id=agency),
            ~Q(status=Status.DRAFT) & Q(competent_agency_id=agency),
        ]
    return branches


def visible_dossiers(user):
    return Dossier.objects.filter(visibility_filter(user))


def can_see(user, dossier: Dossier) -> bool:
    if not user.is_authenticated:
        return False
    if dossier.applicant_user_id == user.pk:
        return True
    if dossier.status == Status.DRAFT:
        return False
    agencies = reader_agency_ids(user)
    return bool({dossier.receiving_agency_id, dossier.competent_agency_id} & agencies)


def roles_at(user, agency_ids: Iterable[int]) -> set[str]:
    wanted = set(agency_ids)
    return {m.role for m in memberships_of(user) if m.agency_id in wanted}


def granted_permissions(user) -> set[tuple[str, str]]:
    """(role, codename) pairs the groups of the user's roles hold: one query per request."""
    cached = getattr(user, "_onestop_granted", None)
    if cached is None:
        roles = {m.role for m in memberships_of(user)}
        cached = set(
            Permission.objects.filter(
                group__name__in=roles, content_type__app_label="dossiers"
            ).values_list("group__name", "codename")
        )
        user._onestop_granted = cached
    return cached


def official_roles_for(user, dossier: Dossier, action: str) -> list[str]:
    """The official roles through which `user` may fire `action` on `dossier` (any status)."""
    held = roles_at(user, {dossier.receiving_agency_id, dossier.competent_agency_id})
    if not held:
        return []
    granted = granted_permissions(user)
    codename = permission_codename(action)
    return [role for role in OFFICIAL_ROLES if role in held and (role, codename) in granted]


def _integration_may(user, dossier: Dossier, action: str) -> bool:
    """An integration account of the receiving agency whose group holds `action`'s permission."""
    if Role.INTEGRATION not in roles_at(user, {dossier.receiving_agency_id}):
        return False
    return (Role.INTEGRATION, permission_codename(action)) in granted_permissions(user)


def is_payment_account(user) -> bool:
    """The account payments confirmed by the gateway are recorded as (payments.py)."""
    return (
        bool(user.is_authenticated)
        and user.get_username() == settings.ONESTOP_PAYMENT_ACCOUNT
        and not user.has_usable_password()  # a person's account never is
    )


# --- who may fire what: the one authorization rule ----------------------------------------------


class FileAction(models.TextChoices):
    """Writes that change no status, so they are not edges of the lifecycle."""

    EDIT_DRAFT = "edit_draft", pgettext_lazy("action", "Sửa hồ sơ nháp")
    ATTACH_APPLICATION = "attach_application", pgettext_lazy("action", "Thêm tài liệu hồ sơ")
    ATTACH_SUPPLEMENT = "attach_supplement", pgettext_lazy("action", "Thêm tài liệu bổ sung")
    ATTACH_RESULT = "attach_result", pgettext_lazy("action", "Tải lên văn bản kết quả")
    DETACH = "detach", pgettext_lazy("action", "Gỡ tài liệu")


@dataclass(frozen=True)
class Rule:
    """`role` may do an action in `statuses`; an official also needs the group permission of
    the action `permission_of` (the citizen's role is being the applicant)."""

    role: str
    statuses: frozenset[str]
    permission_of: str


def _file_rule(role, statuses, permission_of=None) -> Rule:
    return Rule(role, frozenset(statuses), permission_of or "")


# Who may write what outside the edges, in which statuses (a walk-in's scans: see GUARDS).
FILE_RULES: dict[str, tuple[Rule, ...]] = {
    FileAction.EDIT_DRAFT: (_file_rule(Role.CITIZEN, [Status.DRAFT]),),
    FileAction.DETACH: (_file_rule(Role.CITIZEN, [Status.DRAFT]),),
    FileAction.ATTACH_APPLICATION: (
        _file_rule(Role.CITIZEN, [Status.DRAFT]),
        _file_rule(Role.RECEPTION, [Status.RECEIVED], Action.INTAKE),
    ),
    FileAction.ATTACH_SUPPLEMENT: (
        _file_rule(Role.CITIZEN, [Status.SUPPLEMENT_REQUESTED]),
        _file_rule(Role.RECEPTION, [Status.SUPPLEMENT_REQUESTED], Action.SUPPLEMENT),
    ),
    FileAction.ATTACH_RESULT: (_file_rule(Role.SPECIALIST, [Status.PROCESSING], Action.PROPOSE),),
}
# The file action of each attachment purpose.
ATTACH_ACTIONS = {
    Attachment.Purpose.APPLICATION: FileAction.ATTACH_APPLICATION,
    Attachment.Purpose.SUPPLEMENT: FileAction.ATTACH_SUPPLEMENT,
    Attachment.Purpose.RESULT: FileAction.ATTACH_RESULT,
}
# What a file action outside its statuses says, by the role meeting it (the edges' actions
# name the status instead).
WRONG_STATUS = {
    (FileAction.EDIT_DRAFT, Role.CITIZEN): _("Chỉ sửa được hồ sơ nháp."),
    (FileAction.DETACH, Role.CITIZEN): _("Chỉ gỡ được tài liệu của hồ sơ nháp."),
    (FileAction.ATTACH_APPLICATION, Role.CITIZEN): _(
        "Không thể thêm tài liệu ở trạng thái hiện tại của hồ sơ."
    ),
    (FileAction.ATTACH_APPLICATION, Role.RECEPTION): _(
        "Chỉ bổ sung bản chụp khi hồ sơ vừa được tiếp nhận."
    ),
    (FileAction.ATTACH_SUPPLEMENT, Role.CITIZEN): _(
        "Không thể thêm tài liệu ở trạng thái hiện tại của hồ sơ."
    ),
    (FileAction.ATTACH_SUPPLEMENT, Role.RECEPTION): _("Hồ sơ không ở trạng thái chờ bổ sung."),
}


def _wrong_status(action: str, dossier: Dossier, role: str) -> DomainError:
    """Why `action` cannot happen in the dossier's status, as `role` meets it."""
    if action in ATTACH_ACTIONS.values() and dossier.status in TERMINAL_STATUSES:
        return InvalidTransition(_("Hồ sơ đã kết thúc, không thể thêm tài liệu."))
    if action == FileAction.ATTACH_RESULT:
        return Forbidden(_("Chỉ chuyên viên xử lý được tải lên kết quả khi hồ sơ đang xử lý."))
    return InvalidTransition(
        WRONG_STATUS.get((action, role))
        or _("Không thể “%(action)s” khi hồ sơ đang ở trạng thái “%(status)s”.")
        % {"action": _label(action), "status": Status(dossier.status).label}
    )


def _rules(action: str) -> tuple[Rule, ...]:
    if action in FILE_RULES:
        return FILE_RULES[action]
    return tuple(
        Rule(role, frozenset({e.source}), action) for e in edges_of(action) for role in e.roles
    )


def _label(action: str) -> str:
    return str((FileAction if action in FILE_RULES else Action)(action).label)


def _role_names(roles) -> str:
    return ", ".join(str(Role(r).label) for r in sorted(set(roles)))


# Conditions on the dossier itself (not on input) that an action needs beyond role and status.
# Each raises with its reason; input is checked by the services.
def _only_the_assignee_proposes(user, dossier: Dossier, role: str) -> None:
    if role == Role.SPECIALIST and dossier.assignee_id != user.pk:
        raise Forbidden(_("Chỉ chuyên viên được phân công mới được trình kết quả."))


def _reschedule_once(user, dossier: Dossier, role: str) -> None:
    if dossier.rescheduled_at is not None:
        raise InvalidTransition(_("Hồ sơ đã được xin lỗi và hẹn lại một lần."))


def _reception_withdraws_walk_ins_only(user, dossier: Dossier, role: str) -> None:
    if role == Role.RECEPTION and dossier.applicant_user_id is not None:
        raise Forbidden(_("Hồ sơ nộp bằng tài khoản: chỉ người nộp được rút hồ sơ."))


def _fee_due_later(user, dossier: Dossier, role: str) -> None:
    if not dossier.procedure.fee_due_later:
        raise ValidationFailed(_("Thủ tục này không có nghĩa vụ tài chính nộp sau."))


def _integration_records_confirmed_payments_only(user, dossier: Dossier, role: str) -> None:
    # Another system records a payment only as the payment account, with the gateway's signed
    # confirmation in hand (services.payments); the portal and other connections never do.
    if role == Role.INTEGRATION and not is_payment_account(user):
        raise Forbidden(_("Chỉ tài khoản cổng thanh toán được ghi nhận thanh toán trực tuyến."))


def _rated_once(user, dossier: Dossier, role: str) -> None:
    if dossier.rating:
        raise InvalidTransition(_("Hồ sơ đã được đánh giá."))


def _reception_scans_walk_ins_only(user, dossier: Dossier, role: str) -> None:
    # An assisted filing was made at the counter: its scans are reception's, as a walk-in's.
    if (
        role == Role.RECEPTION
        and dossier.applicant_user_id is not None
        and dossier.assisted_by_id is None
    ):
        raise Forbidden(_("Bạn không có quyền thêm tài liệu vào hồ sơ này."))


# Conditions of who may act at all on this dossier, whatever its status (checked with the role).
ROLE_GUARDS: dict[str, tuple] = {
    Action.WITHDRAW: (_reception_withdraws_walk_ins_only,),
    Action.RECORD_PAYMENT: (_integration_records_confirmed_payments_only,),
    FileAction.ATTACH_APPLICATION: (_reception_scans_walk_ins_only,),
}
# Conditions of the dossier's state now (checked after the status).
GUARDS: dict[str, tuple] = {
    Action.PROPOSE: (_only_the_assignee_proposes,),
    Action.RESCHEDULE: (_reschedule_once,),
    Action.REQUEST_PAYMENT: (_fee_due_later,),
    Action.RATE: (_rated_once,),
    # The result document is the assignee's, like its proposal.
    FileAction.ATTACH_RESULT: (_only_the_assignee_proposes,),
}


def _first_passing(user, dossier: Dossier, roles: list[str], guards) -> tuple[list[str], Exception]:
    """The roles for which every guard passes, and the first refusal met."""
    passing, refusal = [], None
    for role in roles:
        try:
            for guard in guards:
                guard(user, dossier, role)
        except DomainError as error:
            refusal = refusal or error
        else:
            passing.append(role)
    return passing, refusal


@dataclass(frozen=True)
class Authority:
    """The role through which a user acts, and the agency they act for (None for a citizen)."""

    role: str
    agency: Agency | None


def _held_roles(user, dossier: Dossier, rules: tuple[Rule, ...]) -> list[str]:
    """The roles of `rules` that `user` holds for this dossier, in Role order (citizen first)."""
    if not user.is_authenticated:
        return []
    held = set()
    for rule in rules:
        if rule.role == Role.CITIZEN:
            if dossier.applicant_user_id is not None and dossier.applicant_user_id == user.pk:
                held.add(Role.CITIZEN)
        elif rule.role == Role.INTEGRATION:
            if _integration_may(user, dossier, rule.permission_of):
                held.add(Role.INTEGRATION)
        elif rule.role in official_roles_for(user, dossier, rule.permission_of):
            held.add(rule.role)
    return [role for role in Role.values if role in held]


def authorize_role(user, dossier: Dossier, action: str) -> list[str]:
    """The roles through which `user` could ever fire `action` on this dossier, whatever its
    status. Raises NotFound when the user cannot see the dossier, and Forbidden, naming the
    roles that may, when they hold none: the first check of every write, before any input is
    read or any status checked."""
    if not can_see(user, dossier):
        raise NotFound()
    rules = _rules(action)
    held = _held_roles(user, dossier, rules)
    if not held:
        raise Forbidden(
            _("Thao tác “%(action)s” chỉ dành cho: %(roles)s.")
            % {"action": _label(action), "roles": _role_names(r.role for r in rules)}
        )
    held, refusal = _first_passing(user, dossier, held, ROLE_GUARDS.get(action, ()))
    if not held:
        raise refusal
    return held


def authorize(user, dossier: Dossier, action: str) -> Authority:
    """Who acts, and for which agency, when `user` fires `action` on `dossier` now.

    Raises NotFound when the user cannot see the dossier; Forbidden with the reason when no
    role of the user may fire it (in any status, or in this one, or a guard refuses, such as
    "only the assignee proposes"); InvalidTransition when the action is not possible in the
    dossier's status. Reads only, writes nothing: the pages and the API list what a user may do
    with this very function.
    """
    held = authorize_role(user, dossier, action)
    rules = _rules(action)
    here = [r for r in rules if dossier.status in r.statuses]
    if not here:
        raise _wrong_status(action, dossier, held[0])
    roles = [role for role in held if any(r.role == role for r in here)]
    if not roles:
        raise Forbidden(
            _("Ở trạng thái “%(status)s”, thao tác “%(action)s” chỉ dành cho: %(roles)s.")
            % {
                "status": Status(dossier.status).label,
                "action": _label(action),
                "roles": _role_names(r.role for r in here),
            }
        )
    passing, refusal = _first_passing(user, dossier, roles, GUARDS.get(action, ()))
    if not passing:
        raise refusal
    role = passing[0]
    return Authority(role, None if role == Role.CITIZEN else _acting_agency(user, dossier, role))


def authorize_attach_role(user, dossier: Dossier, purpose: str) -> None:
    """`authorize_role` for adding a file of `purpose` (of any purpose, when the purpose itself
    is unknown): 404 or 403 before the upload is read."""
    known = ATTACH_ACTIONS.get(purpose) if isinstance(purpose, str) else None
    actions = [known] if known else ATTACH_ACTIONS.values()
    refusal = None
    for action in actions:
        try:
            authorize_role(user, dossier, action)
        except Forbidden as error:
            refusal = refusal or error
        else:
            return
    raise refusal


def available_actions(user, dossier: Dossier, *, as_roles=None) -> list[str]:
    """The lifecycle actions `user` may fire on `dossier` now: `authorize` run for each,
    writing nothing (the services run it again under the row lock). With `as_roles`, only the
    actions the user would fire through one of those roles (an official's page does not offer
    the citizen's actions on the official's own dossier)."""
    available = []
    for action in Action.values:
        if action == Action.INTAKE or edge_for(action, dossier.status) is None:
            continue
        try:
            authority = authorize(user, dossier, action)
        except DomainError:
            continue
        if as_roles is None or authority.role in as_roles:
            available.append(action)
    return available


def authorize_intake(user, agency: Agency) -> Authority:
    """Counter intake makes a new dossier: reception of the receiving agency records it."""
    may_intake = (Role.RECEPTION, permission_codename(Action.INTAKE)) in granted_permissions(user)
    if not may_intake or Role.RECEPTION not in roles_at(user, {agency.pk}):
        raise Forbidden(_("Chỉ cán bộ một cửa của cơ quan này được tiếp nhận hồ sơ tại quầy."))
    return Authority(Role.RECEPTION, agency)


def authorize_external_intake(user, agency: Agency) -> Authority:
    """A dossier filed elsewhere and sent here: an integration account of the receiving agency
    files it (it arrives submitted, for reception to check)."""
    if Role.INTEGRATION not in roles_at(user, {agency.pk}):
        raise Forbidden(
            _("Chỉ tài khoản hệ thống kết nối của cơ quan tiếp nhận được gửi hồ sơ đến.")
        )
    return Authority(Role.INTEGRATION, agency)


def _acting_agency(user, dossier: Dossier, role: str) -> Agency:
    ids = agency_ids_with_role(user, role)
    # Prefer the receiving agency for reception work, the competent one otherwise.
    order = (
        [dossier.receiving_agency, dossier.competent_agency]
        if role in (Role.RECEPTION, Role.INTEGRATION)
        else [dossier.competent_agency, dossier.receiving_agency]
    )
    return next(a for a in order if a.pk in ids)


def agency_ids_with_role(user, role: str) -> set[int]:
    return {m.agency_id for m in memberships_of(user) if m.role == role}


# --- staff readers and the applicant's view of results -------------------------------------------


def is_staff_reader(user) -> bool:
    """An official, a supervisor or an integration account: reads dossiers as staff (the full
    audit trail, every file), not as an applicant."""
    return is_official(user) or is_supervisor(user) or bool(integration_agency_ids(user))


# A decision's files reach the applicant only once the dossier is resolved or returned.
RESULT_VISIBLE_STATUSES = frozenset({Status.RESOLVED, Status.RETURNED})


def result_visible_to_applicant(dossier: Dossier) -> bool:
    """Whether the applicant may see (and download) the dossier's result attachments now."""
    return dossier.status in RESULT_VISIBLE_STATUSES


def result_visible_q(dossier_path: str = "") -> Q:
    """The same rule for querysets: `result_visible_q()` over dossiers,
    `result_visible_q("dossier__")` over rows that point to one (e.g. attachments)."""
    return Q(**{f"{dossier_path}status__in": RESULT_VISIBLE_STATUSES})


# --- the documents store ---------------------------------------------------------------------


def counter_payment_problem(user, dossier: Dossier) -> str | None:
    """Why `user` may not record at the counter a fee paid for `dossier` (None: they may). Only
    reception of the dossier's receiving agency takes money at its counter."""
    if dossier.receiving_agency_id in agency_ids_with_role(user, Role.RECEPTION):
        return None
    return _("Chỉ cán bộ một cửa của nơi tiếp nhận hồ sơ được ghi nhận phí nộp tại quầy.")


def reusable_documents(user):
    """The store's entries `user` may attach to their own dossiers instead of uploading: those
    whose owner ID number is the ID number of the user's citizen profile, of a known document
    type, current (not replaced by a later file of the same result), a result only once the
    applicant may see it (`result_visible_q`). The one rule for the apply form, the service that
    attaches them and the API: anything else is "not found", never someone else's document."""
    profile = getattr(user, "citizen_profile", None) if user.is_authenticated else None
    id_number = getattr(profile, "id_number", "") or ""
    if not id_number:
        return StoredDocument.objects.none()
    entries = StoredDocument.objects.filter(
        Q(kind=StoredDocument.Kind.DIGITISED)
        | (Q(kind=StoredDocument.Kind.RESULT) & result_visible_q("source_dossier__")),
        owner_id_number=id_number,
        document_type__isnull=False,
        replaced_by__isnull=True,
    )
    if not profile.identity_from_eid:
        # A number typed at sign-up proves nothing: whoever registers first with another
        # person's number must not reach that person's counter scans or results. Only the e-ID
        # proves the number; until then, only what this account's own dossiers produced.
        entries = entries.filter(source_dossier__applicant_user=user)
    return entries


# --- second factor ---------------------------------------------------------------------------


def needs_second_factor(user) -> bool:
    """Officials, supervisors and Django staff (the admin) log in with a second factor.
    Citizens do not, nor integration accounts (other systems, which hold API tokens only)."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or is_official(user) or is_supervisor(user)
