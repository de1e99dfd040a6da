"""From draft to received: drafts, submission, counter intake, reception, refusal, supplements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .. import clock, document_store, outbox
from ..audit import append_event, history_reference, store_head
from ..errors import ChangedMeanwhile, Forbidden, ValidationFailed
from ..identity import eid_problem
from ..models import Agency, Attachment, Channel, ClockPause, Dossier, Procedure, ProcedureDocument
from ..models.catalogue import PAPER_CHANNELS
from ..permissions import (
    FileAction,
    authorize,
    authorize_external_intake,
    authorize_intake,
    authorize_role,
)
from ..workflow import Action, EventType, Role, Status
from .attachments import check_upload
from .base import Actor, Context, action_service, lock_dossier, perform, require_text
from .codes import next_dossier_code
from .deadlines import close_pause, due_data, start_clock
from .validation import clean_applicant, identity_answers, profile_snapshot, validate_form_data


def dossier_create_draft(
    *,
    actor: Actor,
    procedure: Procedure,
    receiving_agency: Agency,
    form_data: dict | None = None,
    channel: int = Channel.ONLINE,
    client_token: str = "",
    requested_delivery: str = "",
) -> Dossier:
    """A citizen starts an application (a draft only they can see).

    `client_token` (from the application form) makes this idempotent: the same token again
    returns the dossier it already made, so a double-clicked first save makes one dossier.
    """
    if not actor.user.is_authenticated:
        raise Forbidden()
    client_token = (client_token or "")[:64]
    if client_token:
        existing = Dossier.objects.filter(applicant_user=actor.user, client_token=client_token)
        if existing.exists():
            return existing.get()
    if not procedure.active:
        raise ValidationFailed(fields={"procedure": [_("Thủ tục không còn áp dụng.")]})
    if not procedure.accepts(channel):
        raise ValidationFailed(
            fields={"procedure": [_("Thủ tục này không tiếp nhận hồ sơ qua kênh đã chọn.")]}
        )
    problem = eid_problem(procedure, actor.eid_acr)
    if problem:
        raise Forbidden(problem)
    if receiving_agency.level != Agency.Level.COMMUNE and procedure.competent_level == "commune":
        raise ValidationFailed(fields={"agency": [_("Vui lòng chọn nơi tiếp nhận cấp xã.")]})
    cleaned = validate_form_data(procedure, form_data or {}, partial=True)
    requested_delivery = _clean_delivery(requested_delivery)
    now = clock.now()
    with transaction.atomic():
        dossier = Dossier(
            procedure=procedure,
            receiving_agency=receiving_agency,
            competent_agency=_competent_agency(procedure, receiving_agency),
            applicant_user=actor.user,
            form_data=cleaned,
            channel=channel,
            created_at=now,
            client_token=client_token,
            requested_delivery=requested_delivery,
        )
        dossier._history_user = actor.user
        try:
            with transaction.atomic():
                dossier.save()
        except IntegrityError:  # the same token raced in from a second request
            return Dossier.objects.get(applicant_user=actor.user, client_token=client_token)
        append_event(
            dossier,
            event_type=EventType.CREATED,
            at=now,
            actor=actor.user,
            role=Role.CITIZEN,
            ip=actor.ip,
            to_status=Status.DRAFT,
            data={"history": history_reference(dossier)},
        )
        store_head(dossier)
    return dossier


def dossier_update_draft(
    *,
    actor: Actor,
    dossier: Dossier,
    form_data: dict,
    expected_version: int | None = None,
    requested_delivery: str | None = None,
) -> Dossier:
    """Save answers of a draft (partial answers are fine until submission) and, when given,
    how the applicant wants the result delivered."""
    authorize_role(actor.user, dossier, FileAction.EDIT_DRAFT)
    cleaned = validate_form_data(dossier.procedure, form_data, partial=True)
    with transaction.atomic():
        locked = lock_dossier(dossier.pk, actor.user)
        if expected_version is not None and locked.version != expected_version:
            raise ChangedMeanwhile()
        authorize(actor.user, locked, FileAction.EDIT_DRAFT)
        locked.form_data = cleaned
        if requested_delivery is not None:
            locked.requested_delivery = _clean_delivery(requested_delivery)
        locked.version += 1
        locked._history_user = actor.user
        locked.save(update_fields=["form_data", "requested_delivery", "version"])
    return locked


def _clean_delivery(value: str) -> str:
    """A delivery the applicant may ask for ('' : not chosen)."""
    if value and value not in Dossier.Delivery.values:
        raise ValidationFailed(
            fields={"requested_delivery": [_("Hình thức nhận kết quả không hợp lệ.")]}
        )
    return value or ""


def _competent_agency(procedure: Procedure, receiving: Agency) -> Agency:
    if procedure.competent_level == Agency.Level.PROVINCE and receiving.parent_id:
        return receiving.parent
    return receiving


def _missing_documents(dossier: Dossier) -> list[ProcedureDocument]:
    present = set(
        dossier.attachments.filter(
            purpose__in=[Attachment.Purpose.APPLICATION, Attachment.Purpose.SUPPLEMENT]
        ).values_list("document_id", flat=True)
    )
    return [
        doc
        for doc in dossier.procedure.documents.all()
        if doc.must_be_uploaded(dossier.channel) and doc.pk not in present
    ]


def _check_submission(procedure: Procedure, form_data: dict, missing, file_problems=None) -> dict:
    """The form's answers as submission stores them, or every gap at once (not the first only):
    the answers', the required documents not there, the files that fail their check."""
    problems: dict[str, list[str]] = dict(file_problems or {})
    cleaned = form_data
    try:
        cleaned = validate_form_data(procedure, form_data)
    except ValidationFailed as error:
        problems.update(error.fields)
    if missing:
        problems["documents"] = [doc.name for doc in missing]
    if problems:
        raise ValidationFailed(_("Hồ sơ chưa đủ để nộp."), fields=problems)
    return cleaned


def check_first_submission(
    *, procedure: Procedure, form_data: dict, uploads: dict, reused: Iterable[int]
) -> dict:
    """What submitting a new online application at once would refuse, checked before its draft
    exists, so that a refused first submission leaves no draft behind. `uploads` maps a
    document id to its uploaded file, `reused` lists the document ids given a file on record.
    Raises ValidationFailed as `dossier_submit` does (each file's problem under "file_<id>");
    returns the checked files, to hand to `attachment_add` (checked once)."""
    checked, file_problems = {}, {}
    for document in procedure.documents.all():
        upload = uploads.get(document.pk)
        if upload is None:
            continue
        try:
            checked[document.pk] = check_upload(upload, document.allowed_types)
        except ValidationFailed as error:
            file_problems[f"file_{document.pk}"] = [
                p for problems in error.fields.values() for p in problems
            ] or [str(error.message)]
    given = set(uploads) | set(reused)
    missing = [
        doc
        for doc in procedure.documents.all()
        if doc.must_be_uploaded(Channel.ONLINE) and doc.pk not in given
    ]
    _check_submission(procedure, form_data, missing, file_problems)
    return checked


@action_service(Action.SUBMIT)
def dossier_submit(
    *, actor: Actor, dossier: Dossier, expected_version: int | None = None
) -> Dossier:
    """The citizen files the draft: it gets its code and waits for intake."""

    def mutate(d: Dossier, ctx: Context):
        problem = eid_problem(d.procedure, ctx.actor.eid_acr)
        if problem:
            raise Forbidden(problem)
        form_data = {**d.form_data, **identity_answers(d.procedure, ctx.actor.user)}
        d.form_data = _check_submission(d.procedure, form_data, _missing_documents(d))
        d.applicant = profile_snapshot(ctx.actor.user)
        d.code = next_dossier_code(d.receiving_agency, ctx.now)
        d.submitted_at = ctx.now
        d.eid_acr = ctx.actor.eid_acr or ""
        data = {"code": d.code, "requested_delivery": d.requested_delivery}
        if ctx.actor.eid_acr is not None:
            data["eid_acr"] = d.eid_acr
        return data

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.SUBMIT,
        expected_version=expected_version,
        mutate=mutate,
    )


def dossier_intake(
    *,
    actor: Actor,
    procedure: Procedure,
    agency: Agency,
    applicant: dict,
    form_data: dict,
    papers_seen: Iterable[int] = (),
    channel: int = Channel.COUNTER,
    note: str = "",
    requested_delivery: str = "",
    assisted_for=None,
    scans: Mapping[int, object] | None = None,
    no_scan_reasons: Mapping[int, str] | None = None,
    scan_details: Mapping[int, dict] | None = None,
) -> Dossier:
    """Reception records a walk-in dossier, received at once (no citizen account needed).

    `papers_seen` lists the procedure documents whose paper originals the officer checked.
    Digitisation: `scans` maps a document id to its scan (an upload or a file `check_upload`
    passed), `no_scan_reasons` to why it was not scanned; once either is given (the counter page
    always gives both), every paper handed in needs one or the other. A scan is kept on the
    paper's attachment and in the documents store under the applicant's ID number, with the
    optional `scan_details` (number, issued_on, issuer) the official read on the paper.

    Assisted filing (services/assisted.py) comes through here too, with `channel` online: the
    official files online on the applicant's behalf; `assisted_for` is the applicant's account,
    or None for a person without one.
    """
    authority = authorize_intake(actor.user, agency)
    assisted = channel == Channel.ONLINE
    if channel in PAPER_CHANNELS:
        refuse_paper_if_online_only(procedure)
    if (
        channel not in (Channel.COUNTER, Channel.POSTAL, Channel.ONLINE)
        or not procedure.accepts(channel)
        or (assisted_for is not None and not assisted)
    ):
        raise ValidationFailed(fields={"channel": [_("Kênh nộp không hợp lệ cho thủ tục này.")]})
    snapshot = clean_applicant(applicant)
    cleaned = validate_form_data(procedure, form_data)
    requested_delivery = _clean_delivery(requested_delivery)
    documents = {d.pk: d for d in procedure.documents.all()}
    checked_scans, reasons = _check_digitisation(documents, papers_seen, scans, no_scan_reasons)
    seen = set(papers_seen) | set(checked_scans)
    unknown = seen - set(documents)
    if unknown:
        raise ValidationFailed(fields={"papers_seen": [_("Giấy tờ không thuộc thủ tục này.")]})
    missing = [
        d.name for d in documents.values() if d.must_be_uploaded(channel) and d.pk not in seen
    ]
    if missing:
        raise ValidationFailed(
            _("Hồ sơ còn thiếu giấy tờ bắt buộc."), fields={"documents": missing}
        )
    now = clock.now()
    with transaction.atomic():
        dossier = Dossier(
            procedure=procedure,
            receiving_agency=agency,
            competent_agency=_competent_agency(procedure, agency),
            applicant=snapshot,
            form_data=cleaned,
            channel=channel,
            created_at=now,
            requested_delivery=requested_delivery,
            applicant_user=assisted_for,
            assisted_by=actor.user if assisted else None,
        )
        ctx = Context(actor=actor, role=authority.role, agency=agency, now=now)
        dossier.intake()
        dossier.code = next_dossier_code(agency, now)
        dossier.submitted_at = dossier.received_at = now
        start_clock(dossier, ctx)
        dossier._history_user = actor.user
        dossier.save()
        written = []
        try:
            for doc_id in sorted(seen):
                written += _paper_attachment(
                    dossier,
                    documents[doc_id],
                    checked_scans.get(doc_id),
                    reasons.get(doc_id, ""),
                    (scan_details or {}).get(doc_id) or {},
                    actor.user,
                    now,
                )
        except Exception:
            for name in written:  # no orphan scan for an intake that was not written
                Attachment._meta.get_field("file").storage.delete(name)
            raise
        event = append_event(
            dossier,
            event_type=EventType.INTAKE,
            at=now,
            actor=actor.user,
            role=authority.role,
            agency=agency,
            ip=actor.ip,
            note=note,
            data={
                "code": dossier.code,
                "papers_seen": sorted(seen),
                **({"scanned": sorted(checked_scans)} if checked_scans else {}),
                "requested_delivery": requested_delivery,
                **due_data(dossier),
                **(_assisted_data(actor, assisted_for) if assisted else {}),
                "history": history_reference(dossier),
            },
            from_status="",
            to_status=dossier.status,
        )
        store_head(dossier)
        outbox.record(dossier, event)
    return dossier


def _assisted_data(actor: Actor, account) -> dict:
    return {
        "assisted": True,
        "assisted_by": actor.user.get_username(),
        "assisted_by_name": actor.user.get_full_name() or actor.user.get_username(),
        "applicant_account": account is not None,
    }


def online_only_problem(procedure: Procedure) -> str | None:
    """Why paper intake (counter, post) of `procedure` is refused, or None."""
    if not procedure.online_only:
        return None
    return _(
        "Thủ tục này chỉ tiếp nhận hồ sơ trực tuyến (dịch vụ công thiết yếu, theo chỉ thị năm "
        "2025): không tiếp nhận hồ sơ giấy. Hướng dẫn công dân nộp trực tuyến, hoặc cán bộ một "
        "cửa nộp trực tuyến thay công dân (hỗ trợ nộp trực tuyến)."
    )


def refuse_paper_if_online_only(procedure: Procedure) -> None:
    problem = online_only_problem(procedure)
    if problem:
        raise ValidationFailed(problem, fields={"channel": [problem]})


def _check_digitisation(documents, papers_seen, scans, no_scan_reasons):
    """The scans checked (by document id) and the reasons given, or every problem at once: a
    paper handed in (kind "submit") without a scan needs a reason."""
    if scans is None and no_scan_reasons is None:
        return {}, {}
    problems: dict[str, list[str]] = {}
    checked = {}
    for doc_id, upload in (scans or {}).items():
        document = documents.get(doc_id)
        if document is None:
            problems["papers_seen"] = [_("Giấy tờ không thuộc thủ tục này.")]
            continue
        try:
            checked[doc_id] = check_upload(upload, document.allowed_types)
        except ValidationFailed as error:
            problems[f"scan_{doc_id}"] = [
                f"{document.name[:80]}: {p}" for ps in error.fields.values() for p in ps
            ] or [str(error.message)]
    reasons = {k: (v or "").strip() for k, v in (no_scan_reasons or {}).items()}
    for doc_id in sorted(set(papers_seen) | set(checked)):
        document = documents.get(doc_id)
        if document is None or document.kind != ProcedureDocument.Kind.SUBMIT:
            continue
        if doc_id in checked or f"scan_{doc_id}" in problems:
            continue
        if not reasons.get(doc_id):
            problems[f"scan_{doc_id}"] = [
                _("%(name)s: tải lên bản chụp hoặc ghi lý do không số hóa.")
                % {"name": document.name[:80]}
            ]
        elif len(reasons[doc_id]) > 255:
            problems[f"scan_{doc_id}"] = [_("Lý do không số hóa tối đa 255 ký tự.")]
    if problems:
        raise ValidationFailed(
            _("Mỗi giấy tờ nộp tại quầy cần bản chụp hoặc lý do không số hóa."), fields=problems
        )
    return checked, reasons


def _paper_attachment(dossier, document, scan, reason, details, user, now) -> list[str]:
    """The attachment of one paper checked at the counter: its scan (kept in the store too) or
    why there is none. Returns the names of the files written."""
    attachment = Attachment(
        dossier=dossier,
        document=document,
        purpose=Attachment.Purpose.APPLICATION,
        paper_original_seen=True,
        uploaded_by=user,
        created_at=now,
    )
    written = []
    if scan is not None:
        attachment.original_name = scan.name[:255]
        attachment.size, attachment.sha256 = scan.size, scan.sha256
        attachment.content_type = scan.content_type
        attachment.file.save("file", ContentFile(scan.content), save=False)
        written.append(attachment.file.name)
    elif document.kind == ProcedureDocument.Kind.SUBMIT:
        attachment.no_scan_reason = reason[:255]
    attachment._history_user = user
    attachment.save()
    if scan is not None:
        document_store.record_scan(
            attachment=attachment,
            document=document,
            user=user,
            now=now,
            number=str(details.get("number") or ""),
            issued_on=details.get("issued_on"),
            issuer=str(details.get("issuer") or ""),
        )
    return written


# Channels of dossiers filed elsewhere and sent here by another system. Such a filing is an
# online one: the catalogue's online channel says whether a procedure takes it and which papers
# it needs.
EXTERNAL_CHANNELS = (Channel.NATIONAL_PORTAL, Channel.OTHER_SYSTEM)
# How far ahead of our clock a sender's filing time may be before it is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)


class Received(NamedTuple):
    """A dossier sent by another system, and whether this call created it (False: the same
    reference came before, and this is the dossier it made)."""

    dossier: Dossier
    created: bool


def dossier_receive_external(
    *,
    actor: Actor,
    procedure: Procedure,
    agency: Agency,
    channel: int,
    reference: str,
    applicant: dict,
    form_data: dict,
    papers: Iterable[int] = (),
    submitted_at: dt.datetime | None = None,
) -> Received:
    """Another system (the national portal, a provincial platform) files a dossier it received:
    it arrives submitted, with its code, waiting for reception's check like an online filing.

    `reference` is the sender's own dossier reference, the idempotency key: the same sender
    sending it again gets the dossier it already made (also when the requests race: the unique
    constraint on (sent_by, external_ref) lets one insert win). `papers` lists the procedure's
    documents the sender holds; every paper an online filing must upload has to be among them
    (the files stay with the sender; reception asks for a supplement when it needs them).
    """
    user = actor.user
    authority = authorize_external_intake(user, agency)
    reference = str(reference or "").strip()
    max_length = Dossier._meta.get_field("external_ref").max_length
    if not reference or len(reference) > max_length:
        raise ValidationFailed(fields={"reference": [_("Mã hồ sơ của hệ thống gửi không hợp lệ.")]})
    existing = _sent_before(user, reference)
    if existing is not None:
        return Received(_same_filing(existing, procedure, agency), created=False)
    if channel not in EXTERNAL_CHANNELS:
        raise ValidationFailed(fields={"channel": [_("Kênh nộp không hợp lệ cho thủ tục này.")]})
    if not procedure.active:
        raise ValidationFailed(fields={"procedure": [_("Thủ tục không còn áp dụng.")]})
    if not procedure.accepts(Channel.ONLINE):
        raise ValidationFailed(
            fields={"procedure": [_("Thủ tục này không tiếp nhận hồ sơ qua kênh đã chọn.")]}
        )
    if agency.level != Agency.Level.COMMUNE and procedure.competent_level == "commune":
        raise ValidationFailed(fields={"agency": [_("Vui lòng chọn nơi tiếp nhận cấp xã.")]})
    now = clock.now()
    snapshot, cleaned, held = _check_external_filing(
        procedure, applicant, form_data, papers, submitted_at, now
    )
    try:
        with transaction.atomic():
            dossier = Dossier(
                procedure=procedure,
                receiving_agency=agency,
                competent_agency=_competent_agency(procedure, agency),
                applicant=snapshot,
                form_data=cleaned,
                channel=channel,
                created_at=now,
                sent_by=user,
                external_ref=reference,
            )
            dossier.submit()
            dossier.code = next_dossier_code(agency, now)
            # The sender's filing time (never later than now: clocks differ by a little).
            dossier.submitted_at = min(submitted_at or now, now)
            dossier._history_user = user
            dossier.save()
            event = append_event(
                dossier,
                event_type=EventType.SUBMITTED,
                at=now,
                actor=user,
                role=authority.role,
                agency=agency,
                ip=actor.ip,
                data={
                    "code": dossier.code,
                    "channel": channel,
                    "reference": reference,
                    "submitted_at": dossier.submitted_at.isoformat(),
                    "papers": held,
                    "history": history_reference(dossier),
                },
                from_status="",
                to_status=dossier.status,
            )
            store_head(dossier)
            outbox.record(dossier, event)
    except IntegrityError:
        # The same reference raced in from a concurrent request, which committed first.
        existing = _sent_before(user, reference)
        if existing is None:
            raise
        return Received(_same_filing(existing, procedure, agency), created=False)
    return Received(dossier, created=True)


def _sent_before(user, reference: str) -> Dossier | None:
    return Dossier.objects.filter(sent_by=user, external_ref=reference).first()


def _same_filing(existing: Dossier, procedure: Procedure, agency: Agency) -> Dossier:
    """A resent reference names the dossier it made; for another procedure or agency it is
    the sender's mistake, not a resend."""
    if existing.procedure_id != procedure.pk or existing.receiving_agency_id != agency.pk:
        raise ValidationFailed(
            fields={"reference": [_("Mã hồ sơ này đã được gửi cho một hồ sơ khác.")]}
        )
    return existing


def _check_external_filing(
    procedure: Procedure,
    applicant: dict,
    form_data: dict,
    papers: Iterable[int],
    submitted_at: dt.datetime | None,
    now: dt.datetime,
) -> tuple[dict, dict, list[int]]:
    """The applicant, the answers and the papers held, all checked at once: every problem is
    reported together, under `applicant.<field>`, `form_data.<key>`, `papers`, `documents`
    (the names of the missing required papers) and `submitted_at`."""
    problems: dict[str, list[str]] = {}
    snapshot: dict = {}
    cleaned: dict = {}
    if not isinstance(applicant, dict):
        problems["applicant"] = [_("Thông tin người nộp chưa hợp lệ.")]
    else:
        try:
            snapshot = clean_applicant(applicant)
        except ValidationFailed as error:
            problems.update({f"applicant.{k}": v for k, v in error.fields.items()})
    try:
        cleaned = validate_form_data(procedure, form_data)
    except ValidationFailed as error:
        problems.update({f"form_data.{k}": v for k, v in error.fields.items()})
    documents = {d.pk: d for d in procedure.documents.all()}
    held = set(papers)
    if held - set(documents):
        problems["papers"] = [_("Giấy tờ không thuộc thủ tục này.")]
    missing = [
        d.name
        for d in documents.values()
        if d.must_be_uploaded(Channel.ONLINE) and d.pk not in held
    ]
    if missing:
        problems["documents"] = missing
    if submitted_at is not None and submitted_at > now + CLOCK_SKEW:
        problems["submitted_at"] = [_("Thời điểm nộp không được ở tương lai.")]
    if problems:
        raise ValidationFailed(fields=problems)
    return snapshot, cleaned, sorted(held)


@action_service(Action.RECEIVE)
def dossier_receive(
    *, actor: Actor, dossier: Dossier, expected_version: int | None = None, note: str = ""
) -> Dossier:
    """Reception accepts an online dossier; the clock starts."""

    def mutate(d: Dossier, ctx: Context):
        d.received_at = ctx.now
        start_clock(d, ctx)
        return due_data(d)

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.RECEIVE,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )


@action_service(Action.REFUSE)
def dossier_refuse(
    *, actor: Actor, dossier: Dossier, reason: str, expected_version: int | None = None
) -> Dossier:
    reason = require_text(reason, "reason", _("Vui lòng nêu rõ lý do từ chối."))

    def mutate(d: Dossier, ctx: Context):
        d.closed_at = ctx.now
        return {"reason": reason}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.REFUSE,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.REQUEST_SUPPLEMENT)
def dossier_request_supplement(
    *,
    actor: Actor,
    dossier: Dossier,
    documents: Iterable[int],
    reason: str,
    expected_version: int | None = None,
) -> Dossier:
    """Ask for missing papers, listed from the procedure's own documents only."""
    reason = require_text(reason, "reason", _("Vui lòng nêu rõ lý do yêu cầu bổ sung."))
    requested = sorted(set(documents))
    if not requested:
        raise ValidationFailed(
            _("Vui lòng chọn giấy tờ cần bổ sung."),
            fields={"documents": [_("Chọn ít nhất một giấy tờ.")]},
        )

    def mutate(d: Dossier, ctx: Context):
        known = dict(d.procedure.documents.filter(pk__in=requested).values_list("pk", "name"))
        if set(known) != set(requested):
            raise ValidationFailed(
                _("Chỉ được yêu cầu giấy tờ có trong danh mục của thủ tục."),
                fields={"documents": [_("Có giấy tờ không thuộc thủ tục này.")]},
            )
        d.supplement_return_status = d.status
        d.requested_documents = requested
        d.supplement_requests += 1
        if d.status == Status.PROCESSING:
            ClockPause.objects.create(
                dossier=d, reason=ClockPause.Reason.SUPPLEMENT, started_at=ctx.now
            )
        return {"documents": requested, "document_names": [known[i] for i in requested]}

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.REQUEST_SUPPLEMENT,
        expected_version=expected_version,
        note=reason,
        mutate=mutate,
    )


@action_service(Action.SUPPLEMENT)
def dossier_supplement(
    *, actor: Actor, dossier: Dossier, note: str = "", expected_version: int | None = None
) -> Dossier:
    """The requested papers are in (uploaded as supplement attachments); back to work."""

    def mutate(d: Dossier, ctx: Context):
        requested_at = (
            d.events.filter(event_type=EventType.SUPPLEMENT_REQUESTED)
            .order_by("-seq")
            .values_list("created_at", flat=True)
            .first()
        )
        provided = set(
            d.attachments.filter(
                purpose=Attachment.Purpose.SUPPLEMENT, created_at__gte=requested_at
            ).values_list("document_id", flat=True)
        )
        missing = [i for i in d.requested_documents if i not in provided]
        if missing:
            names = list(
                d.procedure.documents.filter(pk__in=missing).values_list("name", flat=True)
            )
            raise ValidationFailed(
                _("Vui lòng tải lên đủ các giấy tờ được yêu cầu bổ sung."),
                fields={"documents": names},
            )
        data = {"documents": d.requested_documents}
        if d.supplement_return_status == Status.PROCESSING:
            data.update(close_pause(d, ctx, ClockPause.Reason.SUPPLEMENT))
        d.requested_documents = []
        return data

    return perform(
        actor=actor,
        dossier=dossier,
        action=Action.SUPPLEMENT,
        expected_version=expected_version,
        note=note,
        mutate=mutate,
    )
