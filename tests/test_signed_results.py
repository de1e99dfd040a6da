"""The leader's approval signs the result; the legal slips are signed when rendered; the public
verification page (citizens/views/verify.py) says genuine, modified or not signed."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from dossiers import integrity, services, slips
from dossiers.demo import scenarios
from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.integrations import signing
from dossiers.models import Attachment, Dossier, SignedDocument, Slip
from dossiers.workflow import EventType, Status

from .conftest import actor
from .signing_ca import TestCA, signing_ca  # noqa: F401 (fixture)
from .test_signing import _xobject_text


def _result(dossier) -> Attachment:
    return dossier.attachments.get(purpose=Attachment.Purpose.RESULT)


def _content(attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


def _approval(dossier):
    return dossier.events.get(event_type=EventType.APPROVED)


def test_approval_signs_the_result(signing_ca, commune, make_dossier, leader):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RESOLVED)
    result = _result(dossier)
    content = _content(result)
    # The stored file is the signed one, its hash the attachment's and the approval's.
    assert hashlib.sha256(content).hexdigest() == result.sha256
    [signed] = _approval(dossier).data["signed_results"]
    assert signed["sha256"] == result.sha256
    assert signed["unsigned_sha256"] == hashlib.sha256(MINIMAL_PDF).hexdigest()
    assert signed["level"] == "B-B"
    # pyHanko's validator: intact, trusted by the test CA, PAdES.
    [embedded] = PdfFileReader(io.BytesIO(content)).embedded_regular_signatures
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    context = ValidationContext(
        trust_roots=list(load_certs_from_pemder_data(signing_ca.root.pem)), allow_fetching=False
    )
    status = validate_pdf_signature(embedded, signer_validation_context=context)
    assert status.intact and status.valid and status.trusted
    # The visible block, read back: the authority, the leader who approved, the code.
    from pypdf import PdfReader

    widget = PdfReader(io.BytesIO(content)).pages[-1]["/Annots"][0].get_object()
    text = _xobject_text(widget["/AP"]["/N"].get_object())
    assert "UBND XÃ VĨNH BẢO" in text
    assert (leader.get_full_name() or leader.username) in text
    assert signed["code"] in text
    row = SignedDocument.objects.get(code=signed["code"])
    assert (row.attachment, row.agency, row.dossier) == (result, commune, dossier)
    # The stored files still match their sealed hashes (the integrity check).
    assert not list(integrity.verify_files())


def test_without_a_certificate_the_result_is_approved_unsigned(make_dossier, settings, tmp_path):
    settings.ONESTOP_SIGNING_DIR = str(tmp_path / "none")
    dossier = make_dossier(Status.RESOLVED)
    result = _result(dossier)
    assert _content(result) == MINIMAL_PDF
    assert _approval(dossier).data["unsigned_results"] == [
        {"id": result.pk, "reason": "no_certificate"}
    ]
    assert not SignedDocument.objects.exists()


def test_a_picture_result_is_approved_unsigned(signing_ca, commune, make_dossier, cast):
    from PIL import Image

    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.PROCESSING)
    picture = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(picture, "PNG")
    services.attachment_add(
        actor=cast.actor("specialist"),
        dossier=dossier,
        upload=SimpleUploadedFile("ket-qua.png", picture.getvalue(), content_type="image/png"),
        purpose=Attachment.Purpose.RESULT,
    )
    dossier = scenarios.walk(Dossier.objects.get(pk=dossier.pk), Status.RESOLVED, cast)
    data = _approval(dossier).data
    reasons = {r["reason"] for r in data["unsigned_results"]}
    assert reasons == {"not_pdf"}
    assert len(data["signed_results"]) == 1  # the PDF one (scenarios.step's) is signed


def test_an_unusable_key_refuses_the_approval(signing_ca, commune, make_dossier, cast, settings):
    from dossiers.errors import ValidationFailed

    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.PENDING_APPROVAL)
    settings.ONESTOP_SIGNING_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(ValidationFailed):
        services.dossier_approve(actor=cast.actor("leader"), dossier=dossier)
    assert Dossier.objects.get(pk=dossier.pk).status == Status.PENDING_APPROVAL
    assert _content(_result(dossier)) == MINIMAL_PDF


def test_the_legal_slips_are_signed(signing_ca, commune, make_dossier):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RECEIVED)
    slip = slips.slip_for(dossier, Slip.Kind.RECEIPT)
    with slip.file.open("rb") as handle:
        content = handle.read()
    verdict = signing.verify_pdf(content)
    assert verdict.genuine, verdict.reason
    assert slip.signature.sha256 == slip.sha256 == hashlib.sha256(content).hexdigest()
    assert slip.signature.agency == commune
    # The office's own control slip is not signed.
    control = slips.slip_for(dossier, Slip.Kind.CONTROL)
    with control.file.open("rb") as handle:
        assert signing.verify_pdf(handle.read()).outcome == signing.Outcome.NOT_SIGNED
    assert not list(integrity.verify_stored_hashes())
