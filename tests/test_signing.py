"""Signed electronic results: the agency's PAdES signature, its visible block, and verification
(dossiers/integrations/signing.py) against a CA made by the tests (tests/signing_ca.py)."""

from __future__ import annotations

import io

import pytest
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from dossiers.demo.scenarios import MINIMAL_PDF
from dossiers.integrations import signing
from dossiers.integrations.signing import Outcome

from . import signing_ca as ca_support
from .signing_ca import TestCA

# The test CA and TSA (signing_ca.py), used here by name.
signing_ca = ca_support.signing_ca
timestamp_authority = ca_support.timestamp_authority


def _sign(agency, data=MINIMAL_PDF, signer_name="Vũ Đức Thắng"):
    key = signing.key_for(agency)
    assert key is not None
    return signing.sign_pdf(
        data, agency=agency, key=key, signer_name=signer_name, reason="Phê duyệt kết quả"
    )


def test_an_agency_without_a_certificate_signs_nothing(commune, settings, tmp_path):
    settings.ONESTOP_SIGNING_DIR = str(tmp_path / "nothing")
    assert signing.key_for(commune) is None
    assert not signing.is_configured(commune)


def test_the_signature_is_pades_trusted_intact_and_visible(signing_ca, commune):
    signing_ca.install(signing_ca.dir, commune)
    signed = _sign(commune)
    assert signed.level == "B-B"
    reader = PdfFileReader(io.BytesIO(signed.content))
    [embedded] = reader.embedded_regular_signatures
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    context = ValidationContext(
        trust_roots=list(load_certs_from_pemder_data(signing_ca.root.pem)), allow_fetching=False
    )
    status = validate_pdf_signature(embedded, signer_validation_context=context)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
    # The visible block: a widget with an appearance on the last page, inside the page.
    page = PdfReader(io.BytesIO(signed.content)).pages[-1]
    widget = page["/Annots"][0].get_object()
    assert widget["/FT"] == "/Sig" and widget["/Subtype"] == "/Widget"
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    # Within the (small, 200 pt) page, in the block's proportions (110 × 13 mm).
    assert 0 <= x1 < x2 <= float(page.mediabox.width) and 0 <= y1 < y2
    assert abs((x2 - x1) / (y2 - y1) - 110 / 13) < 0.01
    assert "/AP" in widget

    verdict = signing.verify_pdf(signed.content)
    assert verdict.outcome == Outcome.GENUINE, verdict.reason
    assert commune.name in verdict.organisation
    assert verdict.signed_at is not None


def test_the_visible_block_names_agency_signer_and_code(signing_ca, commune):
    signing_ca.install(signing_ca.dir, commune)
    signed = _sign(commune)
    # The block is a WeasyPrint page imported into the widget's appearance: its text, read
    # back with the fonts WeasyPrint embedded (Vietnamese included).
    reader = PdfReader(io.BytesIO(signed.content))
    widget = reader.pages[-1]["/Annots"][0].get_object()
    appearance = widget["/AP"]["/N"].get_object()
    text = _xobject_text(appearance)
    assert "UBND XÃ VĨNH BẢO" in text
    assert "Vũ Đức Thắng" in text
    assert signed.code in text


def _xobject_text(form) -> str:
    """Text drawn by a form XObject and the forms it draws, through pypdf's extractor (a blank
    page given the form's content and resources)."""
    from pypdf import PageObject, PdfWriter
    from pypdf.generic import NameObject

    writer, texts = PdfWriter(), []

    def walk(xobject):
        resources = xobject.get("/Resources", {})
        page = PageObject.create_blank_page(writer, width=400, height=100)
        page[NameObject("/Resources")] = resources
        page.replace_contents(xobject)
        texts.append(page.extract_text())
        for inner in resources.get("/XObject", {}).values():
            inner = inner.get_object()
            if inner.get("/Subtype") == "/Form":
                walk(inner)

    walk(form)
    return "\n".join(texts)


def test_a_modified_byte_fails(signing_ca, commune):
    signing_ca.install(signing_ca.dir, commune)
    signed = bytearray(_sign(commune).content)
    # A byte of the original page (inside the signed range) changed.
    at = bytes(signed).index(b"/MediaBox")
    signed[at + 1] = ord("m")
    verdict = signing.verify_pdf(bytes(signed))
    assert verdict.outcome in (Outcome.MODIFIED, Outcome.BROKEN)
    assert not verdict.genuine


def test_a_signature_from_an_untrusted_ca_is_refused(signing_ca, commune, tmp_path, settings):
    stranger = TestCA("Stranger Root CA")
    stranger.install(signing_ca.dir, commune)  # signs with a CA the settings do not trust
    signed = _sign(commune)
    verdict = signing.verify_pdf(signed.content)
    assert verdict.outcome == Outcome.UNTRUSTED
    assert not verdict.genuine


def test_not_signed_and_not_pdf(signing_ca):
    assert signing.verify_pdf(MINIMAL_PDF).outcome == Outcome.NOT_SIGNED
    assert signing.verify_pdf(b"\x89PNG....").outcome == Outcome.NOT_PDF
    assert signing.verify_pdf(b"%PDF-1.7 garbage").outcome in (Outcome.BROKEN, Outcome.NOT_SIGNED)


def test_a_timestamp_authority_makes_it_b_t(signing_ca, timestamp_authority, commune):
    signing_ca.install(signing_ca.dir, commune)
    signed = _sign(commune)
    assert signed.level == "B-T"
    assert timestamp_authority.served  # the token came from the TSA on loopback
    verdict = signing.verify_pdf(signed.content)
    assert verdict.genuine, verdict.reason
    assert verdict.timestamped and verdict.level == "B-T"


def test_a_silent_timestamp_authority_falls_back_to_b_b(signing_ca, commune, settings):
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there
    settings.ONESTOP_SIGNING_TSA_URL = f"http://127.0.0.1:{port}/tsa"
    signing_ca.install(signing_ca.dir, commune)
    signed = _sign(commune)
    assert signed.level == "B-B"
    assert signing.verify_pdf(signed.content).genuine


def test_a_wrong_passphrase_is_an_operators_error(signing_ca, commune, settings):
    signing_ca.install(signing_ca.dir, commune)
    settings.ONESTOP_SIGNING_PASSPHRASE = "wrong"
    with pytest.raises(signing.SigningUnavailable):
        signing.key_for(commune)


def _key_from(ca: TestCA, issued) -> signing.AgencyKey:
    """An AgencyKey made directly (key_for refuses to sign with an expired certificate)."""
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12_data(
        ca.pkcs12(issued), other_certs=[], passphrase=ca_support.PASSPHRASE.encode()
    )
    return signing.AgencyKey(
        signer,
        "test",
        "test",
        "1",
        issued.certificate.not_valid_before_utc,
        issued.certificate.not_valid_after_utc,
    )


def test_an_expired_certificate_is_reported(signing_ca, commune):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    issued = signing_ca.issue(
        "Expired",
        commune.name,
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=1),
    )
    signed = signing.sign_pdf(
        MINIMAL_PDF, agency=commune, key=_key_from(signing_ca, issued), signer_name="A", reason="R"
    )
    verdict = signing.verify_pdf(signed.content)
    assert verdict.outcome == Outcome.EXPIRED, (verdict.outcome, verdict.details)
    # And the agency's own expired file is refused for signing.
    (signing_ca.dir / f"{commune.code}.p12").write_bytes(signing_ca.pkcs12(issued))
    with pytest.raises(signing.SigningUnavailable):
        signing.key_for(commune)


def test_a_revoked_certificate_is_reported_from_an_offline_crl(signing_ca, commune):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    # Real agency certificates name their CA's revocation list; the operator keeps a copy in
    # trust/ (the validator never fetches).
    issued = signing_ca.install(signing_ca.dir, commune, crl_url="http://ca.invalid/root.crl")
    signed = _sign(commune)
    assert signing.verify_pdf(signed.content).genuine  # no list yet: not known revoked
    now = dt.datetime.now(dt.UTC)
    revoked = (
        x509.RevokedCertificateBuilder()
        .serial_number(issued.certificate.serial_number)
        .revocation_date(now - dt.timedelta(minutes=5))
        .build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(signing_ca.root.certificate.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=7))
        .add_revoked_certificate(revoked)
        .sign(signing_ca.root.key, hashes.SHA256())
    )
    (signing_ca.dir / "trust" / "test-root.crl").write_bytes(
        crl.public_bytes(serialization.Encoding.DER)
    )
    verdict = signing.verify_pdf(signed.content)
    assert verdict.outcome == Outcome.REVOKED, (verdict.outcome, verdict.details)


def test_no_changed_byte_anywhere_passes_and_none_raises(signing_ca, commune):
    """A byte changed at 60 places spread over the signed file: the verdict is never genuine
    except where the change falls in bytes no reader looks at, and verification never raises."""
    signing_ca.install(signing_ca.dir, commune)
    content = _sign(commune).content
    outcomes = set()
    for position in range(0, len(content), max(1, len(content) // 60)):
        changed = bytearray(content)
        changed[position] ^= 0x5A
        verdict = signing.verify_pdf(bytes(changed))  # never raises
        outcomes.add(verdict.outcome)
        if verdict.genuine:
            # Only a byte inside the signature's own hex padding (zeros after the CMS) or
            # outside every object can leave the document intact.
            start = content.rfind(b"/Contents <", 0, position + 1)
            assert start != -1 and content.find(b">", start) > position, position
    assert Outcome.MODIFIED in outcomes or Outcome.BROKEN in outcomes


def test_what_cannot_be_signed_says_why(signing_ca, commune):
    from pypdf import PdfWriter

    signing_ca.install(signing_ca.dir, commune)
    key = signing.key_for(commune)
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("", "owner")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    for data in (encrypted.getvalue(), b"%PDF-1.7\nnot really", b"\x89PNG\r\n"):
        with pytest.raises(signing.NotSignable):
            signing.sign_pdf(data, agency=commune, key=key, signer_name="A", reason="R")


def test_a_revision_appended_after_the_signature_is_called_modified(signing_ca, commune):
    """An incremental update after signing keeps the signed bytes intact, but a new signature
    field with its own appearance can paint anything over the page: not "genuine"."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    signing_ca.install(signing_ca.dir, commune)
    signed = _sign(commune)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed.content))
    fields.append_signature_field(
        writer, fields.SigFieldSpec("Overlay", on_page=0, box=(0, 0, 200, 200))
    )
    appended = io.BytesIO()
    writer.write(appended)
    assert appended.getvalue().startswith(signed.content)  # the signed bytes are untouched
    verdict = signing.verify_pdf(appended.getvalue())
    assert verdict.outcome == Outcome.MODIFIED, verdict.reason
