"""The domain's tables, one module per concept. Everything is re-exported here, so callers (and
the migrations, which name `dossiers.models.new_lookup_key` and `attachment_path`) import from
`dossiers.models`."""

from .agencies import AGENCY_CODE_VALIDATOR, Agency, Membership
from .audit import (
    AccessLogEntry,
    AppendOnlyQuerySet,
    AuditAnchor,
    AuditDigest,
    DossierEvent,
    VerificationRun,
)
from .calendar import CalendarDay, TimeUnit
from .catalogue import Channel, Procedure, ProcedureDocument, ProcedureField
from .documents import DocumentType, StoredDocument, is_electronic_original
from .dossier import (
    Attachment,
    ClockPause,
    Dossier,
    DossierCodeSequence,
    DossierQuerySet,
    Slip,
    attachment_path,
    new_lookup_key,
)
from .exports import ExportJob, export_path
from .indicators import STATUS_COLUMNS, IndicatorChange, IndicatorRollup, IndicatorRollupState
from .integrations import DeliveryAttempt, FeedEntry, WebhookSubscription
from .notifications import OutgoingEmail
from .payments import Payment, PaymentMethod, PaymentRefusal
from .preferences import SavedFilter
from .signing import SignedDocument
from .tokens import ApiToken

__all__ = [
    "AGENCY_CODE_VALIDATOR",
    "STATUS_COLUMNS",
    "AccessLogEntry",
    "Agency",
    "ApiToken",
    "AppendOnlyQuerySet",
    "Attachment",
    "AuditAnchor",
    "AuditDigest",
    "CalendarDay",
    "Channel",
    "ClockPause",
    "DeliveryAttempt",
    "DocumentType",
    "Dossier",
    "DossierCodeSequence",
    "DossierEvent",
    "DossierQuerySet",
    "ExportJob",
    "FeedEntry",
    "IndicatorChange",
    "IndicatorRollup",
    "IndicatorRollupState",
    "Membership",
    "OutgoingEmail",
    "Payment",
    "PaymentMethod",
    "PaymentRefusal",
    "Procedure",
    "ProcedureDocument",
    "ProcedureField",
    "SavedFilter",
    "SignedDocument",
    "Slip",
    "StoredDocument",
    "TimeUnit",
    "VerificationRun",
    "WebhookSubscription",
    "attachment_path",
    "export_path",
    "is_electronic_original",
    "new_lookup_key",
]
