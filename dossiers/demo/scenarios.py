"""Walk a dossier to any status through the real services.

Used by `seed_demo` and by the test factories, so demo data and test data carry the same events,
hash chains, history rows and deadlines as dossiers handled by people.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from .. import clock, services
from ..models import Agency, Attachment, Channel, Dossier, Procedure, ProcedureField
from ..services import Actor
from ..workflow import Status


def build_pdf(objects: list[bytes], *, head: bytes = b"%PDF-1.4\n", tail: bytes = b"") -> bytes:
    """A PDF whose object 1 is the catalog, with a cross-reference table at the right offsets
    (the tests build their hostile PDFs with it too)."""
    out = bytearray(head)
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out) + tail


# A tiny but real PDF (one blank page): it passes the upload check (dossiers/filecheck.py) like
# a scanner's PDF would.
MINIMAL_PDF = build_pdf(
    [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
    ]
)


def pdf_upload(name: str = "giay-to.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MINIMAL_PDF, content_type="application/pdf")


def png_upload(name: str = "ban-chup.png") -> SimpleUploadedFile:
    """A small real PNG: a scan (of a paper result, of a paper at the counter)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 80), "white").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@dataclass
class Cast:
    """The people who move a dossier along."""

    citizen: object
    reception: object
    specialist: object
    leader: object

    def actor(self, name: str) -> Actor:
        return Actor(user=getattr(self, name), ip="127.0.0.1")


# Each status and the one before it on the standard path (with the action that leads there).
PATH: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: (Status.DRAFT, "submit"),
    Status.REFUSED: (Status.SUBMITTED, "refuse"),
    Status.WITHDRAWN: (Status.SUBMITTED, "withdraw"),
    Status.RECEIVED: (Status.SUBMITTED, "receive"),
    Status.SUPPLEMENT_REQUESTED: (Status.PROCESSING, "request_supplement"),
    Status.PROCESSING: (Status.RECEIVED, "assign"),
    Status.AWAITING_PAYMENT: (Status.PROCESSING, "request_payment"),
    Status.STOPPED: (Status.PROCESSING, "stop"),
    Status.PENDING_APPROVAL: (Status.PROCESSING, "propose"),
    Status.RESOLVED: (Status.PENDING_APPROVAL, "approve"),
    Status.RETURNED: (Status.RESOLVED, "return_result"),
}


def sample_answer(field: ProcedureField, applicant: dict):
    """A plausible answer for a form field (profile values where the field takes them)."""
    if field.profile_source and applicant.get(field.profile_source):
        return applicant[field.profile_source]
    kind = ProcedureField.Type
    return {
        kind.DATE: "2026-01-15",
        kind.NUMBER: 1,
        kind.CHOICE: (field.choices or [""])[0],
        kind.CHECKBOX: True,
        kind.EMAIL: "nguoinop@example.vn",
        kind.PHONE: "0912345678",
        kind.ID_NUMBER: "031200000001",
    }.get(field.type, f"{field.label} (mẫu)")


def new_draft(
    *, cast: Cast, procedure: Procedure, agency: Agency, with_documents: bool = True
) -> Dossier:
    profile = getattr(cast.citizen, "citizen_profile", None)
    applicant = profile.snapshot() if profile else {}
    answers = {f.key: sample_answer(f, applicant) for f in procedure.fields.all()}
    dossier = services.dossier_create_draft(
        actor=cast.actor("citizen"),
        procedure=procedure,
        receiving_agency=agency,
        form_data=answers,
        # The apply form's default: the result back online.
        requested_delivery=Dossier.Delivery.ELECTRONIC,
    )
    if with_documents:
        for document in procedure.documents.all():
            if document.must_be_uploaded(Channel.ONLINE):
                services.attachment_add(
                    actor=cast.actor("citizen"),
                    dossier=dossier,
                    upload=pdf_upload(),
                    document=document,
                )
    return Dossier.objects.get(pk=dossier.pk)


def step(dossier: Dossier, action: str, cast: Cast, *, result_upload=None) -> Dossier:
    """Fire one action with sensible arguments, as the person who would (`result_upload`: the
    result file a proposal uploads, a PDF unless given)."""
    a = cast.actor
    if action == "submit":
        return services.dossier_submit(actor=a("citizen"), dossier=dossier)
    if action == "receive":
        return services.dossier_receive(actor=a("reception"), dossier=dossier)
    if action == "refuse":
        return services.dossier_refuse(
            actor=a("reception"),
            dossier=dossier,
            reason="Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan.",
        )
    if action == "withdraw":
        return services.dossier_withdraw(
            actor=a("citizen"), dossier=dossier, reason="Tôi muốn nộp lại hồ sơ khác."
        )
    if action == "assign":
        return services.dossier_assign(
            actor=a("reception"), dossier=dossier, assignee=cast.specialist
        )
    if action == "request_supplement":
        first = dossier.procedure.documents.order_by("order", "id").first()
        role = "specialist" if dossier.status == Status.PROCESSING else "reception"
        return services.dossier_request_supplement(
            actor=a(role),
            dossier=dossier,
            documents=[first.pk],
            reason="Bản chụp không rõ nét, đề nghị nộp lại bản rõ hơn.",
        )
    if action == "supplement":
        for doc_id in dossier.requested_documents:
            services.attachment_add(
                actor=a("citizen"),
                dossier=dossier,
                upload=pdf_upload("bo-sung.pdf"),
                document=dossier.procedure.documents.get(pk=doc_id),
                purpose=Attachment.Purpose.SUPPLEMENT,
            )
        return services.dossier_supplement(
            actor=a("citizen"), dossier=Dossier.objects.get(pk=dossier.pk), note="Đã bổ sung."
        )
    if action == "request_payment":
        return services.dossier_request_payment(
            actor=a("specialist"),
            dossier=dossier,
            amount_vnd=max(dossier.procedure.fee_vnd or 0, 1000),
        )
    if action == "record_payment":
        return services.dossier_record_payment(
            actor=a("reception"), dossier=dossier, receipt_number="BL-000123"
        )
    if action == "stop":
        return services.dossier_stop(
            actor=a("leader"), dossier=dossier, reason="Người yêu cầu đã chết trước khi có kết quả."
        )
    if action == "propose":
        services.attachment_add(
            actor=a("specialist"),
            dossier=dossier,
            upload=result_upload or pdf_upload("ket-qua.pdf"),
            purpose=Attachment.Purpose.RESULT,
        )
        return services.dossier_propose(
            actor=a("specialist"),
            dossier=Dossier.objects.get(pk=dossier.pk),
            outcome=Dossier.Outcome.GRANTED,
            note="Đủ điều kiện giải quyết.",
        )
    if action == "send_back":
        return services.dossier_send_back(
            actor=a("leader"), dossier=dossier, reason="Kiểm tra lại thông tin ngày sinh."
        )
    if action == "approve":
        return services.dossier_approve(actor=a("leader"), dossier=dossier)
    if action == "return_result":
        # Online applicants get the electronic result; the others collect it at the counter.
        delivery = (
            Dossier.Delivery.ELECTRONIC
            if dossier.channel == Channel.ONLINE
            else Dossier.Delivery.COUNTER
        )
        return services.dossier_return_result(
            actor=a("reception"), dossier=dossier, delivery=delivery
        )
    raise ValueError(f"no scenario step for {action!r}")


def walk(
    dossier: Dossier, target: str, cast: Cast, *, times: list[dt.datetime] | None = None
) -> Dossier:
    """Advance `dossier` along PATH to `target`; `times` (optional) are the steps' instants."""
    route = []
    status = target
    while status != dossier.status:
        if status not in PATH:
            raise ValueError(f"cannot reach {target} from {dossier.status}")
        previous, action = PATH[status]
        route.append(action)
        status = previous
    route.reverse()
    for index, action in enumerate(route):
        if times:
            with clock.frozen(times[min(index, len(times) - 1)]):
                dossier = step(dossier, action, cast)
        else:
            dossier = step(dossier, action, cast)
    return dossier


def make_dossier(
    status: str,
    *,
    cast: Cast,
    procedure: Procedure,
    agency: Agency,
    times: list[dt.datetime] | None = None,
) -> Dossier:
    if times:
        with clock.frozen(times[0]):
            draft = new_draft(cast=cast, procedure=procedure, agency=agency)
    else:
        draft = new_draft(cast=cast, procedure=procedure, agency=agency)
    return walk(draft, status, cast, times=times[1:] if times else None)
