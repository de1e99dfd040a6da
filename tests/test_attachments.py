"""Uploads are checked by content (not by name), size and count, hashed, and scoped."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dossiers import services
from dossiers.demo.scenarios import MINIMAL_PDF, new_draft, pdf_upload
from dossiers.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from dossiers.models import Attachment, Dossier
from dossiers.workflow import Status

from .conftest import actor


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "white").save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def draft(cast, procedure, commune):
    return new_draft(cast=cast, procedure=procedure, agency=commune, with_documents=False)


@pytest.fixture
def document(procedure):
    return procedure.documents.get(required=True, kind="submit")


def test_upload_is_hashed_sniffed_and_stored_under_a_generated_name(draft, document, citizen):
    attachment = services.attachment_add(
        actor=actor(citizen),
        dossier=draft,
        upload=pdf_upload("Tờ khai của tôi.pdf"),
        document=document,
    )
    assert attachment.sha256 == hashlib.sha256(MINIMAL_PDF).hexdigest()
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(MINIMAL_PDF)
    assert attachment.original_name == "Tờ khai của tôi.pdf"
    assert "Tờ khai" not in attachment.file.name and attachment.file.name.startswith("dossiers/")
    assert attachment.file.read() == MINIMAL_PDF


def test_content_decides_not_the_name(draft, document, citizen):
    fake = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 this is an executable", "application/pdf")
    with pytest.raises(ValidationFailed) as raised:
        services.attachment_add(actor=actor(citizen), dossier=draft, upload=fake, document=document)
    assert "PDF" in raised.value.fields["file"][0]
    png_named_pdf = SimpleUploadedFile("anh.pdf", PNG, "application/pdf")
    stored = services.attachment_add(
        actor=actor(citizen), dossier=draft, upload=png_named_pdf, document=document
    )
    assert stored.content_type == "image/png"


def test_document_allowed_types(draft, document, citizen):
    document.allowed_types = ["pdf"]
    document.save()
    with pytest.raises(ValidationFailed):
        services.attachment_add(
            actor=actor(citizen),
            dossier=draft,
            upload=SimpleUploadedFile("a.png", PNG),
            document=document,
        )


def test_size_and_count_limits(draft, document, citizen, settings):
    settings.ONESTOP_MAX_FILE_BYTES = 100
    big = SimpleUploadedFile("big.pdf", MINIMAL_PDF + b" " * 200)
    with pytest.raises(ValidationFailed) as raised:
        services.attachment_add(actor=actor(citizen), dossier=draft, upload=big, document=document)
    assert "MB" in raised.value.fields["file"][0]

    settings.ONESTOP_MAX_FILE_BYTES = 10_000
    settings.ONESTOP_MAX_FILES_PER_DOSSIER = 2
    for _i in range(2):
        services.attachment_add(
            actor=actor(citizen), dossier=draft, upload=pdf_upload(), document=document
        )
    with pytest.raises(ValidationFailed):
        services.attachment_add(
            actor=actor(citizen), dossier=draft, upload=pdf_upload(), document=document
        )

    settings.ONESTOP_MAX_FILES_PER_DOSSIER = 40
    settings.ONESTOP_MAX_DOSSIER_BYTES = len(MINIMAL_PDF) * 2 + 10
    with pytest.raises(ValidationFailed) as raised:
        services.attachment_add(
            actor=actor(citizen), dossier=draft, upload=pdf_upload(), document=document
        )
    assert "Tổng dung lượng" in raised.value.fields["file"][0]
    assert draft.attachments.count() == 2


def test_document_must_belong_to_the_procedure(draft, citizen, paused_procedure):
    foreign = paused_procedure.documents.first()
    with pytest.raises(ValidationFailed):
        services.attachment_add(
            actor=actor(citizen), dossier=draft, upload=pdf_upload(), document=foreign
        )


def test_who_may_upload_when(
    make_dossier, draft, document, citizen, citizen2, reception, specialist
):
    with pytest.raises(NotFound):
        services.attachment_add(
            actor=actor(citizen2), dossier=draft, upload=pdf_upload(), document=document
        )
    with pytest.raises(NotFound):  # drafts are invisible to officials
        services.attachment_add(
            actor=actor(reception), dossier=draft, upload=pdf_upload(), document=document
        )
    submitted = make_dossier(Status.SUBMITTED)
    with pytest.raises(InvalidTransition):  # the citizen cannot change a filed dossier
        services.attachment_add(
            actor=actor(citizen), dossier=submitted, upload=pdf_upload(), document=document
        )
    processing = make_dossier(Status.PROCESSING)
    with pytest.raises(Forbidden):
        services.attachment_add(
            actor=actor(reception),
            dossier=processing,
            upload=pdf_upload(),
            purpose=Attachment.Purpose.RESULT,
        )
    result = services.attachment_add(
        actor=actor(specialist),
        dossier=processing,
        upload=pdf_upload(),
        purpose=Attachment.Purpose.RESULT,
    )
    assert result.document is None and result.uploaded_by == specialist
    returned = make_dossier(Status.RETURNED)
    with pytest.raises(InvalidTransition):
        services.attachment_add(
            actor=actor(specialist),
            dossier=returned,
            upload=pdf_upload(),
            purpose=Attachment.Purpose.RESULT,
        )


def test_a_refused_upload_leaves_no_row_and_no_file(draft, document, citizen, settings, tmp_path):
    fake = SimpleUploadedFile("x.pdf", b"not a pdf at all")
    with pytest.raises(ValidationFailed):
        services.attachment_add(actor=actor(citizen), dossier=draft, upload=fake, document=document)
    assert not Dossier.objects.get(pk=draft.pk).attachments.exists()
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert stored == []
