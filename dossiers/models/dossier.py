"""The dossier, its clock pauses, attachments, code sequence and rendered slips.

Models hold data and invariants of a single row; every write that changes a dossier goes through
`dossiers.services`.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from ..sealing import SealedHistory
from ..text import search_key
from ..workflow import (
    BACK_TO_REQUESTER,
    CLOCK_RUNNING_STATUSES,
    EDGES,
    NATIONAL_STATUS_CODE,
    TERMINAL_STATUSES,
    Action,
    Status,
    sources_of,
)
from .agencies import Agency
from .catalogue import Channel, Procedure, ProcedureDocument

# Statuses of a dossier being worked on or waiting (clock running or paused): few at any time.
OPEN_STATUSES = (
    Status.RECEIVED,
    Status.PROCESSING,
    Status.PENDING_APPROVAL,
    Status.SUPPLEMENT_REQUESTED,
    Status.AWAITING_PAYMENT,
)
# Dossiers without a due date yet (waiting for intake) sort after every dated one.
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
# Statuses a work tab shows: neither a draft nor finished. The partial indexes below cover them.
QUEUE_STATUSES = sorted(set(Status.values) - TERMINAL_STATUSES - {Status.DRAFT})


class DossierQuerySet(models.QuerySet):
    def clock_running(self):
        return self.filter(status__in=CLOCK_RUNNING_STATUSES)

    def overdue(self, now):
        """Past the legal due date and not finished. Judged against the original due date."""
        return self.clock_running().filter(original_due_at__lt=now)

    def due_soon(self, now, calendar):
        return self.clock_running().filter(
            original_due_at__gte=now, original_due_at__lte=calendar.due_soon_threshold(now)
        )


def new_lookup_key() -> str:
    # No 0/O/1/I/L: the key is typed from a printed receipt.
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _i in range(10))


def _fsm_action(action: str):
    """A django-fsm transition for `action`, with sources and target read from EDGES."""
    targets = {e.target for e in EDGES if e.action == action}
    (target,) = targets
    if target == BACK_TO_REQUESTER:
        target = RETURN_VALUE(Status.SUBMITTED, Status.PROCESSING)

        def fire(self):
            return self.supplement_return_status
    else:

        def fire(self):
            return None

    fire.__name__ = action
    fire.__doc__ = f"FSM transition for the '{action}' action (fired only by dossiers.services)."
    return transition(field="status", source=sources_of(action), target=target)(fire)


class Dossier(ConcurrentTransitionMixin, models.Model):
    class Outcome(models.TextChoices):
        GRANTED = "granted", _("Giải quyết")
        DENIED = "denied", _("Từ chối giải quyết")

    class Delivery(models.TextChoices):
        COUNTER = "counter", _("Trực tiếp tại bộ phận một cửa")
        POST = "post", _("Qua dịch vụ bưu chính")
        ELECTRONIC = "electronic", _("Trực tuyến (bản điện tử)")

    class Rating(models.TextChoices):
        VERY_SATISFIED = "very_satisfied", _("Rất hài lòng")
        SATISFIED = "satisfied", _("Hài lòng")
        UNSATISFIED = "unsatisfied", _("Không hài lòng")

    code = models.CharField(_("mã hồ sơ"), max_length=32, unique=True, null=True, blank=True)
    procedure = models.ForeignKey(
        Procedure, on_delete=models.PROTECT, related_name="dossiers", verbose_name=_("thủ tục")
    )
    receiving_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="received_dossiers",
        verbose_name=_("cơ quan tiếp nhận"),
    )
    competent_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="competent_dossiers",
        verbose_name=_("cơ quan giải quyết"),
    )
    applicant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dossiers",
        verbose_name=_("tài khoản người nộp"),
        help_text=_("Để trống với người nộp trực tiếp không có tài khoản."),
    )
    applicant = models.JSONField(
        _("thông tin người nộp"),
        default=dict,
        help_text=_("Bản chụp thông tin người nộp tại thời điểm nộp hồ sơ."),
    )
    form_data = models.JSONField(_("nội dung tờ khai"), default=dict, blank=True)
    channel = models.PositiveSmallIntegerField(
        _("kênh nộp"), choices=Channel.choices, default=Channel.ONLINE
    )
    status = FSMField(
        _("trạng thái"), max_length=32, choices=Status.choices, default=Status.DRAFT, protected=True
    )
    # Bumped by every action: forms carry it so a stale page gets "changed meanwhile".
    version = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(_("tạo lúc"))
    submitted_at = models.DateTimeField(_("nộp lúc"), null=True, blank=True)
    received_at = models.DateTimeField(_("tiếp nhận lúc"), null=True, blank=True)
    clock_started_at = models.DateTimeField(_("bắt đầu tính thời hạn"), null=True, blank=True)
    due_at = models.DateTimeField(_("hẹn trả kết quả"), null=True, blank=True)
    original_due_at = models.DateTimeField(
        _("hạn giải quyết theo quy định"),
        null=True,
        blank=True,
        help_text=_(
            "Hạn theo thời hạn của thủ tục (kể cả tạm dừng/tính lại); không đổi khi hẹn lại."
        ),
    )
    resolved_at = models.DateTimeField(_("có kết quả lúc"), null=True, blank=True)
    returned_at = models.DateTimeField(_("trả kết quả lúc"), null=True, blank=True)
    closed_at = models.DateTimeField(_("kết thúc lúc"), null=True, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_dossiers",
        verbose_name=_("chuyên viên xử lý"),
    )
    outcome = models.CharField(_("kết quả"), max_length=16, choices=Outcome.choices, blank=True)
    result_delivery = models.CharField(
        _("hình thức trả kết quả"), max_length=16, choices=Delivery.choices, blank=True
    )
    # How the applicant asked to receive the result when filing; the return form starts there.
    # Kept out of the sealed history (see `history`): the submit or intake event records it.
    requested_delivery = models.CharField(
        _("hình thức nhận kết quả đã đăng ký"),
        max_length=16,
        choices=Delivery.choices,
        blank=True,
    )
    supplement_return_status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    requested_documents = models.JSONField(_("giấy tờ yêu cầu bổ sung"), default=list, blank=True)
    supplement_requests = models.PositiveSmallIntegerField(_("số lần yêu cầu bổ sung"), default=0)
    rescheduled_at = models.DateTimeField(_("hẹn lại lúc"), null=True, blank=True)
    # Office time from reception to the result, pauses excluded; set at approval so that the
    # average processing time is a plain aggregate.
    resolution_working_seconds = models.PositiveIntegerField(
        _("thời gian giải quyết (giây làm việc)"), null=True, blank=True
    )

    lookup_key = models.CharField(_("mã tra cứu"), max_length=16, default=new_lookup_key)
    rating = models.CharField(_("đánh giá"), max_length=16, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("ý kiến"), blank=True)
    rated_at = models.DateTimeField(_("đánh giá lúc"), null=True, blank=True)

    # A token from the application form, so a resubmitted first save makes one dossier.
    client_token = models.CharField(max_length=64, blank=True, editable=False)
    # Derived: unaccented applicant name and ID number, for accent-insensitive search.
    search_text = models.TextField(editable=False, blank=True)
    # Filed through another system (national portal, provincial platform): the sending account
    # and its own reference, which makes a resent dossier one dossier.
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hệ thống gửi"),
    )
    external_ref = models.CharField(_("mã hồ sơ của hệ thống gửi"), max_length=100, blank=True)
    # The assurance level (OpenID Connect `acr`) of the e-ID login of the session that filed the
    # dossier; empty: filed without an e-ID login. Sealed, added later (sealing.ADDED_LATER).
    eid_acr = models.CharField(_("mức độ bảo đảm định danh điện tử"), max_length=64, blank=True)
    # Filed online at the counter by this official on the applicant's behalf (assisted filing).
    assisted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cán bộ hỗ trợ nộp trực tuyến"),
    )

    # The due order's key (the legal due date, far in the future while there is none), computed
    # by the database on every write, so that an index serves the queues' order.
    due_sort = models.GeneratedField(
        expression=Coalesce(
            "original_due_at", models.Value(FAR_FUTURE, output_field=models.DateTimeField())
        ),
        output_field=models.DateTimeField(),
        db_persist=True,
    )

    # Head of the audit hash chain, kept in the same transaction as the events.
    event_seq = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    history = HistoricalRecords(
        bases=[SealedHistory],
        excluded_fields=[
            "version",
            "event_seq",
            "audit_head",
            "search_text",
            "client_token",
            "due_sort",
            # Added after rows were sealed: a new sealed column would change every earlier
            # row's hash. The choice is in the audited submit/intake event's data instead.
            "requested_delivery",
        ],
    )
    objects = DossierQuerySet.as_manager()

    class Meta:
        verbose_name = _("hồ sơ")
        verbose_name_plural = _("hồ sơ")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["receiving_agency", "status", "original_due_at"]),
            models.Index(fields=["competent_agency", "status", "original_due_at"]),
            models.Index(fields=["applicant_user", "-created_at"]),
            models.Index(fields=["status", "original_due_at"]),
            # The indicators' day slices (rollup refresh) and drill-downs select by these dates.
            models.Index(fields=["submitted_at"], name="dossier_submitted_at_idx"),
            models.Index(fields=["received_at"], name="dossier_received_at_idx"),
            models.Index(fields=["resolved_at"], name="dossier_resolved_at_idx"),
            models.Index(fields=["returned_at"], name="dossier_returned_at_idx"),
            models.Index(fields=["rated_at"], name="dossier_rated_at_idx"),
            # The open dossiers (a small share): the indicators' "in progress" and "paused"
            # figures are counted from this index alone.
            models.Index(
                fields=[
                    "status",
                    "original_due_at",
                    "receiving_agency",
                    "competent_agency",
                    "procedure",
                ],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="dossier_open_idx",
            ),
            # The register (and the count that decides whether it is built in the request).
            models.Index(fields=["receiving_agency", "received_at"], name="dossier_register"),
            # The queues (office/queues.py): one ordered range per agency and side, for the
            # "all" tab, and for the work tabs over the open dossiers only.
            models.Index(fields=["receiving_agency", "due_sort", "id"], name="dossier_recv_due"),
            models.Index(fields=["competent_agency", "due_sort", "id"], name="dossier_comp_due"),
            models.Index(
                fields=["receiving_agency", "status", "due_sort", "id"],
                name="dossier_recv_open",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            models.Index(
                fields=["competent_agency", "status", "due_sort", "id"],
                name="dossier_comp_open",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            # "Due soon" and "overdue": a due-date range over the running dossiers only.
            models.Index(
                fields=["receiving_agency", "due_sort", "id"],
                name="dossier_recv_running",
                condition=models.Q(status__in=sorted(CLOCK_RUNNING_STATUSES)),
            ),
            models.Index(
                fields=["competent_agency", "due_sort", "id"],
                name="dossier_comp_running",
                condition=models.Q(status__in=sorted(CLOCK_RUNNING_STATUSES)),
            ),
            models.Index(
                # The agencies last: the visibility branches filter on them from the index itself
                # (index-only), not from the rows of a specialist with years of dossiers.
                fields=[
                    "assignee",
                    "status",
                    "due_sort",
                    "id",
                    "receiving_agency",
                    "competent_agency",
                ],
                name="dossier_assignee_open",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            # The queues by filing time (office/queues.ORDERS), either way: the same ranges as
            # the due order's indexes above, ordered by submitted_at.
            models.Index(
                fields=["receiving_agency", "submitted_at", "id"], name="dossier_recv_filed"
            ),
            models.Index(
                fields=["competent_agency", "submitted_at", "id"], name="dossier_comp_filed"
            ),
            models.Index(
                fields=["receiving_agency", "status", "submitted_at", "id"],
                name="dossier_recv_open_filed",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            models.Index(
                fields=["competent_agency", "status", "submitted_at", "id"],
                name="dossier_comp_open_filed",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            models.Index(
                # The agencies last: the visibility branches filter on them from the index itself
                # (index-only), not from the rows of a specialist with years of dossiers.
                fields=[
                    "assignee",
                    "status",
                    "submitted_at",
                    "id",
                    "receiving_agency",
                    "competent_agency",
                ],
                name="dossier_assignee_open_filed",
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
            # A search by a full ID number (queries.apply_filters). The trigram index on
            # search_text is PostgreSQL's only (migration 0025_queue_scale).
            models.Index(KeyTextTransform("id_number", "applicant"), name="dossier_id_number"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant_user", "client_token"],
                # Not a password (bandit B106).
                condition=~models.Q(client_token=""),  # nosec B106
                name="unique_client_token",
            ),
            models.UniqueConstraint(
                fields=["sent_by", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="unique_external_ref",
            ),
        ]
        permissions = [(f"{action}_dossier", f"Can {action} dossier") for action in Action.values]

    def __str__(self):
        return self.code or f"#{self.pk} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        applicant = self.applicant or {}
        self.search_text = search_key(
            self.code or "", applicant.get("full_name", ""), applicant.get("id_number", "")
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    @property
    def national_status_code(self) -> int | None:
        return NATIONAL_STATUS_CODE[self.status]

    def is_overdue(self, now) -> bool:
        return (
            self.status in CLOCK_RUNNING_STATUSES
            and self.original_due_at is not None
            and now > self.original_due_at
        )

    def is_due_soon(self, now, calendar) -> bool:
        return (
            self.status in CLOCK_RUNNING_STATUSES
            and self.original_due_at is not None
            and calendar.is_due_soon(self.original_due_at, now)
        )

    @property
    def applicant_name(self) -> str:
        return self.applicant.get("full_name", "")

    @property
    def fee_vnd(self) -> int | None:
        """The procedure's fee for the channel this dossier was filed through."""
        return self.procedure.fee_for(self.channel)

    @property
    def reception_name(self) -> str:
        """Where the citizen deals with this dossier (files, collects, pays)."""
        return self.receiving_agency.reception_name

    @property
    def authority_name(self) -> str:
        """Who decides this dossier."""
        return self.competent_agency.authority_name

    # FSM transitions, one per status-changing action; sources/targets come from workflow.EDGES.
    submit = _fsm_action(Action.SUBMIT)
    intake = _fsm_action(Action.INTAKE)
    receive = _fsm_action(Action.RECEIVE)
    refuse = _fsm_action(Action.REFUSE)
    request_supplement = _fsm_action(Action.REQUEST_SUPPLEMENT)
    supplement = _fsm_action(Action.SUPPLEMENT)
    assign = _fsm_action(Action.ASSIGN)
    propose = _fsm_action(Action.PROPOSE)
    send_back = _fsm_action(Action.SEND_BACK)
    approve = _fsm_action(Action.APPROVE)
    request_payment = _fsm_action(Action.REQUEST_PAYMENT)
    record_payment = _fsm_action(Action.RECORD_PAYMENT)
    return_result = _fsm_action(Action.RETURN_RESULT)
    withdraw = _fsm_action(Action.WITHDRAW)
    stop = _fsm_action(Action.STOP)


class ClockPause(models.Model):
    """A stretch during which the dossier's clock did not run (supplement, financial duty)."""

    class Reason(models.TextChoices):
        SUPPLEMENT = "supplement", _("Chờ bổ sung hồ sơ")
        PAYMENT = "payment", _("Chờ thực hiện nghĩa vụ tài chính")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    working_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Thời gian làm việc trong khoảng tạm dừng (giây).")
    )
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("khoảng tạm dừng")
        verbose_name_plural = _("khoảng tạm dừng")
        ordering = ["started_at"]

    def __str__(self):
        return f"{self.get_reason_display()} {self.started_at:%d/%m/%Y %H:%M}"


def attachment_path(instance, filename):
    # Generated names only: the uploaded name is kept in original_name, never used on disk.
    return f"dossiers/{instance.dossier_id}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    class Purpose(models.TextChoices):
        APPLICATION = "application", _("Hồ sơ nộp")
        SUPPLEMENT = "supplement", _("Bổ sung")
        RESULT = "result", _("Kết quả")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="attachments")
    document = models.ForeignKey(
        ProcedureDocument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("thành phần hồ sơ"),
    )
    purpose = models.CharField(
        _("mục đích"), max_length=16, choices=Purpose.choices, default=Purpose.APPLICATION
    )
    file = models.FileField(upload_to=attachment_path, blank=True)
    paper_original_seen = models.BooleanField(
        _("đã kiểm tra bản giấy"),
        default=False,
        help_text=_("Nộp tại quầy: cán bộ đã kiểm tra bản giấy, không có bản điện tử."),
    )
    # Counter intake: why the official did not scan this paper (required when there is no scan).
    no_scan_reason = models.CharField(_("lý do không số hóa"), max_length=255, blank=True)
    # Taken from the store (the applicant's own document, not uploaded again): which entry.
    reused_from = models.ForeignKey(
        "StoredDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reused_by",
        verbose_name=_("dùng lại từ kho"),
    )
    original_name = models.CharField(_("tên tệp gốc"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("dung lượng"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(_("loại nội dung"), max_length=128, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    history = HistoricalRecords(bases=[SealedHistory])

    class Meta:
        verbose_name = _("tài liệu")
        verbose_name_plural = _("tài liệu")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name or str(self.document)


class DossierCodeSequence(models.Model):
    """Last number used per receiving agency per day (Vietnam date); never goes back."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "day"], name="unique_code_sequence")
        ]

    def __str__(self):
        return f"{self.agency_id} {self.day:%y%m%d} {self.last}"


class Slip(models.Model):
    """A rendered PDF slip: made once, stored, its SHA-256 written in the audit event."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", _("Giấy xác nhận đã nhận hồ sơ")
        RECEIPT = "receipt", _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả")
        SUPPLEMENT = "supplement", _("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ")
        REFUSAL = "refusal", _("Phiếu từ chối tiếp nhận giải quyết hồ sơ")
        APOLOGY = "apology", _("Phiếu xin lỗi và hẹn lại ngày trả kết quả")
        STOP = "stop", _("Thông báo dừng giải quyết hồ sơ")
        CONTROL = "control", _("Phiếu kiểm soát quá trình giải quyết hồ sơ")
        FEE_RECEIPT = "fee_receipt", _("Biên lai thu phí, lệ phí điện tử")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="slips")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The audit event the slip documents (a supplement can be requested twice: two slips).
    source_seq = models.PositiveIntegerField()
    file = models.FileField(upload_to="slips/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("phiếu")
        verbose_name_plural = _("phiếu")
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "kind", "source_seq"], name="unique_slip_rendering"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.dossier}"
