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

from . import signing_ca as ca_support
from .test_signing import _xobject_text

# The test CA and TSA (signing_ca.py), used here by name.
signing_ca = ca_support.signing_ca


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
    # On the A4 slip the block is 110 mm wide, in the bottom margin of the last page.
    from pypdf import PdfReader

    widget = PdfReader(io.BytesIO(content)).pages[-1]["/Annots"][0].get_object()
    x1, _y1, x2, y2 = (float(v) for v in widget["/Rect"])
    assert round((x2 - x1) * 25.4 / 72) == 110 and y2 * 25.4 / 72 < 16
    text = _xobject_text(widget["/AP"]["/N"].get_object())
    assert slip.signature.code in text and "Ký số bởi" in text
    # The office's own control slip is not signed.
    control = slips.slip_for(dossier, Slip.Kind.CONTROL)
    with control.file.open("rb") as handle:
        assert signing.verify_pdf(handle.read()).outcome == signing.Outcome.NOT_SIGNED
    assert not list(integrity.verify_stored_hashes())


# --- The public verification page ---------------------------------------------------------


def _post(client, data: bytes | None = None, code: str = "", name="ket-qua.pdf"):
    form = {"code": code}
    if data is not None:
        form["file"] = SimpleUploadedFile(name, data, content_type="application/pdf")
    return client.post(reverse("citizens:verify"), form)


@pytest.fixture
def signed_result(signing_ca, commune, make_dossier):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RESOLVED)
    result = _result(dossier)
    return dossier, _content(result), result.signatures.get()


def test_the_page_calls_a_signed_result_genuine(client, signed_result, commune):
    _dossier, content, row = signed_result
    response = _post(client, content)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-outcome="genuine"' in page
    assert "Văn bản chính xác" in page
    assert commune.name in page  # the certificate's organisation
    assert row.code in page  # found by its fingerprint in the register


def test_the_page_calls_a_modified_copy_modified(client, signed_result):
    _dossier, content, _row = signed_result
    tampered = bytearray(content)
    at = content.index(b"/MediaBox")
    tampered[at + 1] = ord("m")
    response = _post(client, bytes(tampered))
    page = response.content.decode()
    assert 'data-outcome="modified"' in page or 'data-outcome="broken"' in page
    assert "Không xác thực được" in page


def test_the_page_says_not_signed(client, db, signing_ca):
    response = _post(client, MINIMAL_PDF)
    assert 'data-outcome="not_signed"' in response.content.decode()


def test_a_code_alone_reveals_no_personal_data(client, signed_result, citizen):
    dossier, _content, row = signed_result
    response = client.get(reverse("citizens:verify"), {"code": row.code.lower().replace("-", "")})
    page = response.content.decode()
    assert response.status_code == 200
    assert row.sha256 in page and row.agency.authority_name in page
    assert dossier.code not in page
    assert dossier.applicant_name not in page
    assert 'id="verdict"' not in page  # no file: nothing to call genuine yet


def test_a_file_that_is_not_the_codes_document(client, signed_result, signing_ca, commune):
    _dossier, _content, row = signed_result
    other = signing.sign_pdf(
        MINIMAL_PDF,
        agency=commune,
        key=signing.key_for(commune),
        signer_name="Ai đó",
        reason="Thử",
    )
    page = _post(client, other.content, code=row.code).content.decode()
    assert 'data-outcome="other_document"' in page


def test_unknown_code_bad_file_and_empty_form(client, db, signing_ca):
    assert _post(client, code="0000-0000-0000").status_code == 404
    response = _post(client, b"GIF89a not a pdf", name="x.pdf")
    assert response.status_code == 400
    assert "Tệp không phải là văn bản PDF." in response.content.decode()
    response = _post(client, code="abc")
    assert response.status_code == 400
    response = client.post(reverse("citizens:verify"), {})
    assert response.status_code == 400
    assert "Vui lòng chọn tệp PDF hoặc nhập mã xác thực." in response.content.decode()


def test_a_file_over_the_limit_is_a_form_error(client, db, signing_ca, settings):
    settings.ONESTOP_VERIFY_MAX_BYTES = 1024 * 1024
    response = _post(client, MINIMAL_PDF + b"%" * (1024 * 1024))
    assert response.status_code == 400
    assert "Tệp vượt quá 1 MB." in response.content.decode()


def test_the_page_is_throttled(client, db, signing_ca):
    from citizens.views import verify

    for _ in range(verify.CHECKS_PER_WINDOW):
        assert _post(client, MINIMAL_PDF).status_code == 200
    assert _post(client, MINIMAL_PDF).status_code == 429


def test_the_citizen_page_shows_the_signature(client, signing_ca, commune, make_dossier, citizen):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RETURNED)
    row = _result(dossier).signatures.get()
    client.force_login(citizen)
    page = client.get(reverse("citizens:dossier_detail", args=[dossier.pk])).content.decode()
    assert "Đã ký số" in page and row.code in page
    assert reverse("citizens:verify") + "?code=" + row.code in page


def test_the_citizen_page_says_not_signed(client, make_dossier, citizen):
    dossier = make_dossier(Status.RETURNED)
    client.force_login(citizen)
    page = client.get(reverse("citizens:dossier_detail", args=[dossier.pk])).content.decode()
    assert "Chưa ký số" in page


# --- The demo ---------------------------------------------------------------------------------


def test_seed_demo_signs_the_returned_results_with_a_demo_ca(db, settings, tmp_path):
    from django.core.management import call_command

    from dossiers.demo import certificates

    settings.ONESTOP_SIGNING_DIR = str(tmp_path / "signing")
    settings.ONESTOP_SIGNING_PASSPHRASE = "demo-passphrase"
    signing.forget_cached()
    call_command("seed_demo", "--force", "--dossiers", "40", stdout=io.StringIO())
    returned = Dossier.objects.filter(status=Status.RETURNED)
    assert returned.exists()
    results = Attachment.objects.filter(
        dossier__in=returned, purpose=Attachment.Purpose.RESULT, content_type="application/pdf"
    ).exclude(file="")
    assert results.exists()  # (the demo also returns some results scanned from paper: images)
    for result in results:
        verdict = signing.verify_pdf(_content(result))
        assert verdict.genuine, verdict.reason
        assert certificates.DEMO_ORGANISATION in verdict.organisation
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "signing").rglob("*") if p.is_file()}
    assert len(files) == 1 + 2 + 4  # trust, CA key and certificate, 4 agencies
    # Idempotent: a second run writes nothing.
    call_command("seed_demo", "--force", "--dossiers", "40", stdout=io.StringIO())
    assert {p: p.stat().st_mtime_ns for p in files} == files
    decided = Attachment.objects.filter(
        dossier__status__in=[Status.RESOLVED, Status.RETURNED],
        purpose=Attachment.Purpose.RESULT,
        content_type="application/pdf",  # the images scanned from paper results stay unsigned
    )
    assert SignedDocument.objects.filter(kind=SignedDocument.Kind.RESULT).count() == (
        decided.count()
    )


def test_the_leader_approves_on_the_office_page_and_sees_the_signature(
    client, signing_ca, commune, make_dossier, leader
):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.PENDING_APPROVAL)
    client.force_login(leader)
    page = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "được ký số bằng chứng thư số của" in page
    response = client.post(
        f"/office/dossiers/{dossier.pk}/act/approve/", {"version": dossier.version}
    )
    assert response.status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).status == Status.RESOLVED
    row = _result(dossier).signatures.get()
    page = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Đã ký số" in page and row.code in page


def test_the_approval_form_says_when_nothing_will_be_signed(client, make_dossier, leader):
    dossier = make_dossier(Status.PENDING_APPROVAL)
    client.force_login(leader)
    page = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "kết quả được phê duyệt không có chữ ký số" in page


def test_a_signed_result_passes_the_upload_check_unchanged(signing_ca, commune, make_dossier):
    """Reused in a later dossier (attachment_reuse runs the upload check again), the signed
    result is accepted as it is: its signature still verifies."""
    from dossiers import filecheck

    signing_ca.install(signing_ca.dir, commune)
    content = _content(_result(make_dossier(Status.RESOLVED)))
    checked = filecheck.check_bytes(content, ["pdf"])
    assert checked.content == content
    assert signing.verify_pdf(checked.content).genuine


def test_a_rewritten_register_row_is_seen_by_the_verification(signing_ca, commune, make_dossier):
    from dossiers.verification import verify_everything

    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.RESOLVED)
    slips.slip_for(dossier, Slip.Kind.RECEIPT)
    assert not list(integrity.verify_signed_documents())
    row = _result(dossier).signatures.get()
    SignedDocument.objects.filter(pk=row.pk).update(sha256="0" * 64)  # vouch for another file
    [problem] = integrity.verify_signed_documents()
    assert f"signed document #{row.pk}" in problem
    assert any(f"signed document #{row.pk}" in p for p in verify_everything().problems)


def test_keys_without_a_passphrase_are_warned_about(signing_ca, commune, settings):
    from dossiers.checks import check_signing_keys

    signing_ca.install(signing_ca.dir, commune)
    assert check_signing_keys() == []  # the fixture sets a passphrase
    settings.ONESTOP_SIGNING_PASSPHRASE = ""
    [warning] = check_signing_keys()
    assert warning.id == "onestop.W003"


def test_an_unusable_key_is_a_form_error_on_the_office_page(
    client, signing_ca, commune, make_dossier, leader, settings
):
    signing_ca.install(signing_ca.dir, commune)
    dossier = make_dossier(Status.PENDING_APPROVAL)
    settings.ONESTOP_SIGNING_PASSPHRASE = "not-the-passphrase"
    client.force_login(leader)
    response = client.post(
        f"/office/dossiers/{dossier.pk}/act/approve/", {"version": dossier.version}
    )
    assert response.status_code == 400
    assert "Không mở được khóa ký số của cơ quan" in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).status == Status.PENDING_APPROVAL
