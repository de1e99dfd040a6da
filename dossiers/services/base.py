"""The one write path: lock, check visibility, role, version, status and guards (permissions.
authorize), apply, save the changed fields, audit."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.db import transaction
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from .. import clock, outbox
from ..audit import append_event, history_reference, store_head
from ..errors import ChangedMeanwhile, NotFound, ValidationFailed
from ..identity import session_acr
from ..models import Agency, Dossier
from ..permissions import authorize, authorize_role, can_see
from ..workflow import ACTION_EVENT, SAME, edge_for
from ..worktime import WorkCalendar


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (the IP goes into the audit event), and the assurance level of
    the session's e-ID login (None: the session did not log in with the e-ID)."""

    user: Any
    ip: str | None = None
    eid_acr: str | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls(
            user=request.user,
            ip=request.META.get("REMOTE_ADDR"),
            eid_acr=session_acr(getattr(request, "session", None), request.user),
        )


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


def action_service(action: str):
    """Marks the service of `action`. Before it reads any input, the caller must see the dossier
    (else NotFound) and hold a role that may ever fire the action (else Forbidden): a supervisor
    gets 403, never a complaint about a field. `perform` checks everything again under the lock."""

    def decorate(service):
        @wraps(service)
        def run(*, actor: Actor, dossier: Dossier, **kwargs):
            authorize_role(actor.user, dossier, action)
            return service(actor=actor, dossier=dossier, **kwargs)

        run.action = action
        return run

    return decorate


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
    """Run one action in one transaction. `mutate` checks the action's input against the locked
    dossier, changes its fields and returns the event's structured data."""
    if expected_version is None:
        expected_version = dossier.version
    try:
        with transaction.atomic():
            locked = lock_dossier(dossier.pk, actor.user)
            authorize_role(actor.user, locked, action)  # 404/403 before "changed meanwhile"
            if locked.version != expected_version:
                raise ChangedMeanwhile()
            authority = authorize(actor.user, locked, action)
            role, agency = authority.role, authority.agency
            context = Context(actor=actor, role=role, agency=agency, now=clock.now())
            from_status = locked.status
            before = _field_values(locked)
            data = (mutate(locked, context) if mutate else None) or {}
            if edge_for(action, from_status).target != SAME:
                getattr(locked, action)()
            locked.version += 1
            locked._history_user = actor.user
            locked.save(update_fields=_changed_fields(locked, before))
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
            outbox.record(locked, event)  # e-mail, slip, feed: jobs in this transaction
    except (ConcurrentTransition, TransitionNotAllowed):
        # The row lock makes this rare (SQLite has no row locks); the meaning is the same.
        raise ChangedMeanwhile() from None
    return locked


def _field_values(dossier: Dossier) -> dict:
    # Deep copies, so that a JSON value changed in place still counts as changed.
    return {f.attname: copy.deepcopy(getattr(dossier, f.attname)) for f in _CONCRETE}


def _changed_fields(dossier: Dossier, before: dict) -> list[str]:
    """The fields an action changed: the save writes only these (the chain head is stored
    separately by store_head, after the event exists)."""
    return [name for name, value in before.items() if getattr(dossier, name) != value]


_CONCRETE = [f for f in Dossier._meta.concrete_fields if not f.primary_key]


def require_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, fields={field: [message]})
    return value
