"""Every write to a dossier. Views, the API, commands and tests call these functions only.

Each action runs `perform` (services/base.py): inside one transaction it locks the dossier row,
checks that the caller saw the current version, checks visibility and permission, applies the
action's guards and field changes, fires the django-fsm transition, appends the audit event,
queues the applicant's e-mail and saves. E-mail leaves only after commit.
"""

from collections.abc import Callable

from ..models import Dossier
from ..workflow import Action, sources_of
from .assisted import dossier_file_assisted
from .attachments import (
    attach_requested,
    attachment_add,
    attachment_detach,
    attachment_reuse,
    attachment_reuse_stored,
    check_upload,
    documents_on_file,
)
from .base import Actor
from .codes import next_dossier_code
from .intake import (
    check_first_submission,
    dossier_create_draft,
    dossier_intake,
    dossier_receive,
    dossier_receive_external,
    dossier_refuse,
    dossier_request_supplement,
    dossier_submit,
    dossier_supplement,
    dossier_update_draft,
)
from .processing import (
    dossier_add_note,
    dossier_approve,
    dossier_assign,
    dossier_propose,
    dossier_rate,
    dossier_record_payment,
    dossier_request_payment,
    dossier_reschedule,
    dossier_return_result,
    dossier_send_back,
    dossier_stop,
    dossier_withdraw,
)
from .validation import clean_applicant, identity_answers, validate_form_data

# Every action's service, by action name: the API and generic views dispatch through this.
ACTION_SERVICES: dict[str, Callable[..., Dossier]] = {
    Action.SUBMIT: dossier_submit,
    Action.RECEIVE: dossier_receive,
    Action.REFUSE: dossier_refuse,
    Action.REQUEST_SUPPLEMENT: dossier_request_supplement,
    Action.SUPPLEMENT: dossier_supplement,
    Action.ASSIGN: dossier_assign,
    Action.PROPOSE: dossier_propose,
    Action.SEND_BACK: dossier_send_back,
    Action.APPROVE: dossier_approve,
    Action.REQUEST_PAYMENT: dossier_request_payment,
    Action.RECORD_PAYMENT: dossier_record_payment,
    Action.RETURN_RESULT: dossier_return_result,
    Action.WITHDRAW: dossier_withdraw,
    Action.STOP: dossier_stop,
    Action.RESCHEDULE: dossier_reschedule,
    Action.RATE: dossier_rate,
    Action.NOTE: dossier_add_note,
}
if set(ACTION_SERVICES) | {Action.INTAKE} != set(Action.values):
    raise ImportError("every action needs exactly one service in ACTION_SERVICES")
if not all(sources_of(a) for a in ACTION_SERVICES):
    raise ImportError("every action service needs a source status in EDGES")

__all__ = [
    "ACTION_SERVICES",
    "Actor",
    "attach_requested",
    "attachment_add",
    "attachment_detach",
    "attachment_reuse",
    "attachment_reuse_stored",
    "check_upload",
    "documents_on_file",
    "clean_applicant",
    "identity_answers",
    "next_dossier_code",
    "validate_form_data",
    *(service.__name__ for service in ACTION_SERVICES.values()),
    "dossier_create_draft",
    "dossier_intake",
    "dossier_file_assisted",
    "check_first_submission",
    "dossier_receive_external",
    "dossier_update_draft",
]
