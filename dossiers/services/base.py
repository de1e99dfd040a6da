"""The one write path: lock, check version, visibility and permission, apply, audit, save."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from .. import aftercommit, clock
from ..audit import append_event, history_reference, store_head
from ..errors import ChangedMeanwhile, Forbidden, InvalidTransition, NotFound, ValidationFailed
from ..models import Agency, Dossier
from ..permissions import agency_ids_with_role, can_see, official_roles_for
from ..workflow import ACTION_EVENT, EDGES, SAME, Action, Role, Status, edge_for
from ..worktime import WorkCalendar


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (the IP goes into the audit event)."""

    user: Any
    ip: str | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls(user=request.user, ip=request.META.get("REMOTE_ADDR"))


def lock_dossier(dossier_id: int, user) -> Dossier:
    """Lock the dossier row; unknown and invisible answer the same NotFound."""
    try:
        locked = (
            Dossier.objects.select_for_update()
            .select_related("procedure", "receiving_agency", "competent_agency")
            .get(pk=dossier_id)
        )
    except Dossier.DoesNotExist:
        raise NotFound() from None
    if not can_see(user, locked):
        raise NotFound()
    return locked


def _authorize(user, dossier: Dossier, action: str) -> tuple[str, Agency | None]:
    """The role through which `user` fires `action` now, and the agency it acts for.

    Raises Forbidden (with the reason) when no role of the user may fire it in any status, and
    InvalidTransition when the action exists for the user but not in the current status.
    """
    edge = edge_for(action, dossier.status)
    possible_roles = {role for e in _edges_of(action) for role in e.roles}
    is_owner = dossier.applicant_user_id is not None and dossier.applicant_user_id == user.pk
    held: list[str] = []
    if Role.CITIZEN in possible_roles and is_owner:
        held.append(Role.CITIZEN)
    official = official_roles_for(user, dossier, action)
    held.extend(role for role in official if role in possible_roles)
    if not held:
        needed = ", ".join(str(Role(r).label) for r in sorted(possible_roles))
        raise Forbidden(
            _("Thao tác “%(action)s” chỉ dành cho: %(roles)s.")
            % {"action": Action(action).label, "roles": needed}
        )
    if edge is None:
        raise InvalidTransition(
            _("Không thể “%(action)s” khi hồ sơ đang ở trạng thái “%(status)s”.")
            % {"action": Action(action).label, "status": Status(dossier.status).label}
        )
    for role in held:
        if role in edge.roles:
            agency = None
            if role != Role.CITIZEN:
                agency = _acting_agency(user, dossier, role)
            return role, agency
    needed = ", ".join(str(Role(r).label) for r in sorted(edge.roles))
    raise Forbidden(
        _("Ở trạng thái “%(status)s”, thao tác “%(action)s” chỉ dành cho: %(roles)s.")
        % {
            "status": Status(dossier.status).label,
            "action": Action(action).label,
            "roles": needed,
        }
    )


def _edges_of(action: str):
    return [e for e in EDGES if e.action == action]


def _acting_agency(user, dossier: Dossier, role: str) -> Agency:
    ids = agency_ids_with_role(user, role)
    # Prefer the receiving agency for reception work, the competent one otherwise.
    order = (
        [dossier.receiving_agency, dossier.competent_agency]
        if role == Role.RECEPTION
        else [dossier.competent_agency, dossier.receiving_agency]
    )
    return next(a for a in order if a.pk in ids)


Mutation = Callable[[Dossier, "Context"], "dict | None"]


@dataclass
class Context:
    actor: Actor
    role: str
    agency: Agency | None
    now: dt.datetime
    _calendar: WorkCalendar | None = None

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = WorkCalendar.current()
        return self._calendar


def perform(
    *,
    actor: Actor,
    dossier: Dossier,
    action: str,
    expected_version: int | None = None,
    note: str = "",
    mutate: Mutation | None = None,
) -> Dossier:
    """Run one action in one transaction. `mutate` applies the action's guards and fields and
    returns the event's structured data."""
    if expected_version is None:
        expected_version = dossier.version
    try:
        with transaction.atomic():
            locked = lock_dossier(dossier.pk, actor.user)
            if locked.version != expected_version:
                raise ChangedMeanwhile()
            role, agency = _authorize(actor.user, locked, action)
            context = Context(actor=actor, role=role, agency=agency, now=clock.now())
            from_status = locked.status
            data = (mutate(locked, context) if mutate else None) or {}
            edge = edge_for(action, from_status)
            if edge.target != SAME:
                getattr(locked, action)()
            locked.version += 1
            locked._history_user = actor.user
            locked.save()
            # The event names the history row this save wrote, so the chain covers it too.
            event = append_event(
                locked,
                event_type=ACTION_EVENT[action],
                at=context.now,
                actor=actor.user,
                role=role,
                agency=agency,
                ip=actor.ip,
                note=note,
                data={**data, "history": history_reference(locked)},
                from_status=from_status,
                to_status=locked.status,
            )
            store_head(locked)
            aftercommit.schedule(locked, event)  # e-mail and slip once this commits
    except (ConcurrentTransition, TransitionNotAllowed):
        # The row lock makes this rare (SQLite has no row locks); the meaning is the same.
        raise ChangedMeanwhile() from None
    return locked


def require_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, fields={field: [message]})
    return value
