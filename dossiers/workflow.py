"""Statuses, actions, roles and the one edge table of the dossier lifecycle.

Everything that asks "may this action happen now, and who may fire it" reads EDGES.
The FSM transitions on the model are generated from the same table, so the two cannot drift.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Status(models.TextChoices):
    DRAFT = "draft", _("Nháp")
    SUBMITTED = "submitted", _("Mới đăng ký")
    RECEIVED = "received", _("Được tiếp nhận")
    REFUSED = "refused", _("Không được tiếp nhận")
    PROCESSING = "processing", _("Đang xử lý")
    PENDING_APPROVAL = "pending_approval", _("Chờ phê duyệt")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Yêu cầu bổ sung")
    AWAITING_PAYMENT = "awaiting_payment", _("Chờ nghĩa vụ tài chính")
    WITHDRAWN = "withdrawn", _("Công dân rút hồ sơ")
    STOPPED = "stopped", _("Dừng xử lý")
    RESOLVED = "resolved", _("Đã xử lý xong")
    RETURNED = "returned", _("Đã trả kết quả")


# The national portal's status codes (1-10); a draft has none.
NATIONAL_STATUS_CODE: dict[str, int | None] = {
    Status.DRAFT: None,
    Status.SUBMITTED: 1,
    Status.RECEIVED: 2,
    Status.REFUSED: 3,
    Status.PROCESSING: 4,
    Status.PENDING_APPROVAL: 4,
    Status.SUPPLEMENT_REQUESTED: 5,
    Status.AWAITING_PAYMENT: 6,
    Status.WITHDRAWN: 7,
    Status.STOPPED: 8,
    Status.RESOLVED: 9,
    Status.RETURNED: 10,
}

TERMINAL_STATUSES = frozenset({Status.REFUSED, Status.WITHDRAWN, Status.STOPPED, Status.RETURNED})

# The deadline clock runs in these statuses; overdue can only be flagged here.
CLOCK_RUNNING_STATUSES = frozenset({Status.RECEIVED, Status.PROCESSING, Status.PENDING_APPROVAL})


class Action(models.TextChoices):
    SUBMIT = "submit", pgettext_lazy("action", "Nộp hồ sơ")
    INTAKE = "intake", pgettext_lazy("action", "Tiếp nhận trực tiếp tại quầy")
    RECEIVE = "receive", pgettext_lazy("action", "Tiếp nhận")
    REFUSE = "refuse", pgettext_lazy("action", "Từ chối tiếp nhận")
    REQUEST_SUPPLEMENT = "request_supplement", pgettext_lazy("action", "Yêu cầu bổ sung")
    SUPPLEMENT = "supplement", pgettext_lazy("action", "Bổ sung hồ sơ")
    ASSIGN = "assign", pgettext_lazy("action", "Phân công xử lý")
    PROPOSE = "propose", pgettext_lazy("action", "Trình kết quả")
    SEND_BACK = "send_back", pgettext_lazy("action", "Trả lại để xử lý lại")
    APPROVE = "approve", pgettext_lazy("action", "Phê duyệt")
    REQUEST_PAYMENT = (
        "request_payment",
        pgettext_lazy("action", "Yêu cầu thực hiện nghĩa vụ tài chính"),
    )
    RECORD_PAYMENT = "record_payment", pgettext_lazy("action", "Ghi nhận đã nộp phí")
    RETURN_RESULT = "return_result", pgettext_lazy("action", "Trả kết quả")
    WITHDRAW = "withdraw", pgettext_lazy("action", "Rút hồ sơ")
    STOP = "stop", pgettext_lazy("action", "Dừng xử lý")
    RESCHEDULE = "reschedule", pgettext_lazy("action", "Xin lỗi và hẹn lại")
    RATE = "rate", pgettext_lazy("action", "Đánh giá")
    NOTE = "note", pgettext_lazy("action", "Ghi chú nội bộ")


class Role(models.TextChoices):
    """Who fires an action. Official roles are Django groups scoped to an agency by Membership."""

    CITIZEN = "citizen", _("Công dân")
    RECEPTION = "reception", _("Cán bộ một cửa")
    SPECIALIST = "specialist", _("Chuyên viên xử lý")
    LEADER = "leader", _("Lãnh đạo")
    SUPERVISOR = "supervisor", _("Giám sát")
    # Another system (national portal, provincial platform) reading an agency's dossiers and
    # filing dossiers sent to it; of the actions, fires only record_payment, and only as the
    # payment account (a payment confirmed by the gateway: permissions, payments.py).
    INTEGRATION = "integration", _("Hệ thống kết nối")


OFFICIAL_ROLES = (Role.RECEPTION, Role.SPECIALIST, Role.LEADER)


class EventType(models.TextChoices):
    """Dotted audit event names, one per action plus slips (and past reads, see VIEWED)."""

    CREATED = "dossier.created", _("Tạo hồ sơ")
    SUBMITTED = "dossier.submitted", _("Nộp hồ sơ")
    INTAKE = "dossier.intake", _("Tiếp nhận trực tiếp")
    RECEIVED = "dossier.received", _("Tiếp nhận")
    REFUSED = "dossier.refused", _("Từ chối tiếp nhận")
    SUPPLEMENT_REQUESTED = "dossier.supplement_requested", _("Yêu cầu bổ sung")
    SUPPLEMENTED = "dossier.supplemented", _("Đã bổ sung")
    ASSIGNED = "dossier.assigned", _("Phân công")
    PROPOSED = "dossier.proposed", _("Trình kết quả")
    SENT_BACK = "dossier.sent_back", _("Trả lại xử lý")
    APPROVED = "dossier.approved", _("Phê duyệt")
    PAYMENT_REQUESTED = "dossier.payment_requested", _("Yêu cầu nộp phí")
    PAYMENT_RECORDED = "dossier.payment_recorded", _("Đã nộp phí")
    # The fee of a procedure that charges at filing, paid online after an online filing: no
    # action (the dossier's status and clock are unchanged), recorded by services.payments.
    FILING_FEE_PAID = "dossier.filing_fee_paid", _("Đã nộp phí, lệ phí khi nộp hồ sơ")
    RETURNED = "dossier.returned", _("Trả kết quả")
    WITHDRAWN = "dossier.withdrawn", _("Rút hồ sơ")
    STOPPED = "dossier.stopped", _("Dừng xử lý")
    RESCHEDULED = "dossier.rescheduled", _("Xin lỗi và hẹn lại")
    RATED = "dossier.rated", _("Đánh giá")
    NOTE_ADDED = "dossier.note_added", _("Ghi chú")
    # No longer written: staff reads go to the access log (access.py). Kept so the reads already
    # in past chains still display.
    VIEWED = "dossier.viewed", _("Xem dữ liệu cá nhân")
    SLIP_RENDERED = "dossier.slip_rendered", _("In phiếu")


ACTION_EVENT: dict[str, str] = {
    Action.SUBMIT: EventType.SUBMITTED,
    Action.INTAKE: EventType.INTAKE,
    Action.RECEIVE: EventType.RECEIVED,
    Action.REFUSE: EventType.REFUSED,
    Action.REQUEST_SUPPLEMENT: EventType.SUPPLEMENT_REQUESTED,
    Action.SUPPLEMENT: EventType.SUPPLEMENTED,
    Action.ASSIGN: EventType.ASSIGNED,
    Action.PROPOSE: EventType.PROPOSED,
    Action.SEND_BACK: EventType.SENT_BACK,
    Action.APPROVE: EventType.APPROVED,
    Action.REQUEST_PAYMENT: EventType.PAYMENT_REQUESTED,
    Action.RECORD_PAYMENT: EventType.PAYMENT_RECORDED,
    Action.RETURN_RESULT: EventType.RETURNED,
    Action.WITHDRAW: EventType.WITHDRAWN,
    Action.STOP: EventType.STOPPED,
    Action.RESCHEDULE: EventType.RESCHEDULED,
    Action.RATE: EventType.RATED,
    Action.NOTE: EventType.NOTE_ADDED,
}

# Sentinel target: the supplement goes back to the status the request came from.
BACK_TO_REQUESTER = "<back>"
# Sentinel target: the action records something but leaves the status as it is.
SAME = "<same>"


@dataclass(frozen=True)
class Edge:
    action: str
    source: str
    target: str
    roles: frozenset[str]


def _edges(action: str, sources, target: str, *roles: str) -> list[Edge]:
    return [Edge(action, source, target, frozenset(roles)) for source in sources]


_BEFORE_RESOLVED = (
    Status.SUBMITTED,
    Status.RECEIVED,
    Status.PROCESSING,
    Status.PENDING_APPROVAL,
    Status.SUPPLEMENT_REQUESTED,
    Status.AWAITING_PAYMENT,
)
_IN_PROCESS = (
    Status.RECEIVED,
    Status.PROCESSING,
    Status.PENDING_APPROVAL,
    Status.SUPPLEMENT_REQUESTED,
    Status.AWAITING_PAYMENT,
)
_NOT_DRAFT = tuple(s for s in Status if s != Status.DRAFT)

EDGES: tuple[Edge, ...] = tuple(
    [
        *_edges(Action.SUBMIT, [Status.DRAFT], Status.SUBMITTED, Role.CITIZEN),
        # Counter intake: a new, unsaved dossier is received at once by reception.
        *_edges(Action.INTAKE, [Status.DRAFT], Status.RECEIVED, Role.RECEPTION),
        *_edges(Action.RECEIVE, [Status.SUBMITTED], Status.RECEIVED, Role.RECEPTION),
        *_edges(Action.REFUSE, [Status.SUBMITTED], Status.REFUSED, Role.RECEPTION),
        *_edges(
            Action.REQUEST_SUPPLEMENT,
            [Status.SUBMITTED],
            Status.SUPPLEMENT_REQUESTED,
            Role.RECEPTION,
        ),
        *_edges(
            Action.REQUEST_SUPPLEMENT,
            [Status.PROCESSING],
            Status.SUPPLEMENT_REQUESTED,
            Role.SPECIALIST,
        ),
        # The citizen answers online; reception records papers brought to the counter.
        *_edges(
            Action.SUPPLEMENT,
            [Status.SUPPLEMENT_REQUESTED],
            BACK_TO_REQUESTER,
            Role.CITIZEN,
            Role.RECEPTION,
        ),
        *_edges(Action.ASSIGN, [Status.RECEIVED], Status.PROCESSING, Role.RECEPTION, Role.LEADER),
        *_edges(Action.ASSIGN, [Status.PROCESSING], Status.PROCESSING, Role.LEADER),
        *_edges(Action.PROPOSE, [Status.PROCESSING], Status.PENDING_APPROVAL, Role.SPECIALIST),
        *_edges(Action.SEND_BACK, [Status.PENDING_APPROVAL], Status.PROCESSING, Role.LEADER),
        *_edges(Action.APPROVE, [Status.PENDING_APPROVAL], Status.RESOLVED, Role.LEADER),
        *_edges(
            Action.REQUEST_PAYMENT, [Status.PROCESSING], Status.AWAITING_PAYMENT, Role.SPECIALIST
        ),
        *_edges(
            Action.RECORD_PAYMENT,
            [Status.AWAITING_PAYMENT],
            Status.PROCESSING,
            Role.RECEPTION,
            Role.SPECIALIST,
            # A payment the gateway confirmed, recorded by the payment account (no official).
            Role.INTEGRATION,
        ),
        *_edges(Action.RETURN_RESULT, [Status.RESOLVED], Status.RETURNED, Role.RECEPTION),
        # Reception may record a withdrawal only for a walk-in applicant (checked in services).
        *_edges(Action.WITHDRAW, _BEFORE_RESOLVED, Status.WITHDRAWN, Role.CITIZEN, Role.RECEPTION),
        *_edges(Action.STOP, _IN_PROCESS, Status.STOPPED, Role.LEADER),
        *_edges(
            Action.RESCHEDULE,
            (Status.RECEIVED, Status.PROCESSING, Status.PENDING_APPROVAL),
            SAME,
            Role.SPECIALIST,
            Role.LEADER,
        ),
        *_edges(Action.RATE, [Status.RETURNED], SAME, Role.CITIZEN),
        *_edges(Action.NOTE, _NOT_DRAFT, SAME, Role.RECEPTION, Role.SPECIALIST, Role.LEADER),
    ]
)

_EDGE_INDEX: dict[tuple[str, str], Edge] = {(e.action, e.source): e for e in EDGES}
if len(_EDGE_INDEX) != len(EDGES):
    raise ImportError("duplicate (action, source) in EDGES")


def edge_for(action: str, source: str) -> Edge | None:
    return _EDGE_INDEX.get((action, source))


def edges_of(action: str) -> list[Edge]:
    return [e for e in EDGES if e.action == action]


def sources_of(action: str) -> list[str]:
    return [e.source for e in EDGES if e.action == action]


def permission_codename(action: str) -> str:
    """The Django permission an official needs (through a group) to fire `action`."""
    return f"{action}_dossier"


# The permissions each official group holds; seeded by a data migration.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    role: sorted({permission_codename(e.action) for e in EDGES if role in e.roles})
    for role in OFFICIAL_ROLES
}
GROUP_PERMISSIONS[Role.SUPERVISOR] = []
GROUP_PERMISSIONS[Role.INTEGRATION] = sorted(
    {permission_codename(e.action) for e in EDGES if Role.INTEGRATION in e.roles}
)
