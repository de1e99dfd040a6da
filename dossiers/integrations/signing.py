"""PDF signatures of the agencies (PAdES baseline B-B, B-T with a timestamp authority) and
their verification (docs/integrations.md, "Chữ ký số trên kết quả").

Configuration, outside the database:

- `ONESTOP_SIGNING_DIR`: one PKCS#12 file per agency, `<agency code>.p12` (the agency's key,
  its certificate and the chain up to the root), encrypted with `ONESTOP_SIGNING_PASSPHRASE`
  (from the environment). An agency with no file signs nothing; a file that cannot be opened
  is an operator's error (`SigningUnavailable`), never a silent unsigned document.
- `<ONESTOP_SIGNING_DIR>/trust/*.pem`: the roots a verification trusts (the agencies' CAs),
  and `trust/*.crl` the revocation lists checked offline.
- `ONESTOP_SIGNING_TSA_URL`: an RFC 3161 timestamp authority; with it signatures are B-T
  (without, or when it does not answer in time, B-B: the time is then the signer's claim).

The private key is never in a database column: anyone reading the database (administrators,
backups, the replica, exports) would otherwise hold the agency's signature. The file is
encrypted, readable by the application's system user only, and replaceable by an HSM (pyHanko
signs through PKCS#11 the same way) without changing the callers.

The visible signature block is a small PDF page rendered by WeasyPrint (dossiers/pdf.py: the
DejaVu faces cover Vietnamese, which pyHanko's own text stamps need HarfBuzz for), placed in
the bottom margin of the last page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import io
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

# The block: 110 × 13 mm in the bottom margin of the last page, 20 mm from the left edge
# (smaller, same proportions, on a page too narrow for it).
MM = 72 / 25.4
STAMP_WIDTH, STAMP_HEIGHT, STAMP_LEFT, STAMP_BOTTOM = 110 * MM, 13 * MM, 20 * MM, 2 * MM
# Codes: 12 characters of Crockford's base32 (60 bits), printed in groups of four.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class SigningUnavailable(Exception):
    """The agency has a signing configuration that cannot be used (file, passphrase, expiry)."""


class NotSignable(Exception):
    """This document cannot carry a PDF signature (not a PDF, encrypted, damaged)."""


@dataclass(frozen=True)
class AgencyKey:
    signer: object  # pyhanko SimpleSigner
    subject: str
    organisation: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime


@dataclass(frozen=True)
class Signed:
    content: bytes
    sha256: str
    level: str  # "B-B" or "B-T"
    code: str
    subject: str
    signed_at: dt.datetime


def _directory() -> Path | None:
    configured = getattr(settings, "ONESTOP_SIGNING_DIR", "")
    return Path(configured) if configured else None


_cache: dict = {}
_cache_lock = threading.Lock()


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()


def key_path(agency) -> Path | None:
    directory = _directory()
    return directory / f"{agency.code}.p12" if directory else None


def is_configured(agency) -> bool:
    path = key_path(agency)
    return bool(path and path.is_file())


def key_for(agency) -> AgencyKey | None:
    """The agency's signing key, or None when it has none. Raises SigningUnavailable when its
    file exists but cannot be used."""
    from pyhanko.sign import signers

    path = key_path(agency)
    if path is None or not path.is_file():
        return None
    passphrase = getattr(settings, "ONESTOP_SIGNING_PASSPHRASE", "") or ""
    stamp = (str(path), path.stat().st_mtime_ns, hashlib.sha256(passphrase.encode()).hexdigest())
    with _cache_lock:
        cached = _cache.get(stamp)
    if cached is None:
        try:
            signer = signers.SimpleSigner.load_pkcs12_data(
                path.read_bytes(), other_certs=[], passphrase=passphrase.encode() or None
            )
        except (OSError, ValueError) as error:
            log.error("the signing key of agency %s cannot be opened: %s", agency.code, error)
            raise SigningUnavailable(
                _("Không mở được khóa ký số của cơ quan; vui lòng báo quản trị hệ thống.")
            ) from error
        certificate = signer.signing_cert
        validity = certificate["tbs_certificate"]["validity"]
        cached = AgencyKey(
            signer=signer,
            subject=certificate.subject.human_friendly,
            organisation=_organisation(certificate),
            serial=format(certificate.serial_number, "x"),
            not_before=validity["not_before"].native,
            not_after=validity["not_after"].native,
        )
        with _cache_lock:
            _cache[stamp] = cached
    now = dt.datetime.now(dt.UTC)
    if not (cached.not_before <= now <= cached.not_after):
        raise SigningUnavailable(
            _("Chứng thư số của cơ quan đã hết hạn hoặc chưa có hiệu lực; vui lòng báo quản trị.")
        )
    return cached


def _organisation(certificate) -> str:
    names = certificate.subject.native
    return names.get("organization_name") or names.get("common_name") or ""


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(text: str) -> str:
    """What a person typed, as stored: upper case, I/L read as 1 and O as 0, grouped."""
    table = str.maketrans({"I": "1", "L": "1", "O": "0"})
    raw = "".join(c for c in (text or "").upper() if c.isalnum()).translate(table)
    if len(raw) != 12 or any(c not in CODE_ALPHABET for c in raw):
        return ""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _stamp_page(*, agency_name: str, signer_name: str, at: dt.datetime, code: str) -> bytes:
    from .. import links
    from ..pdf import render_pdf
    from ..worktime import VN_TZ

    return render_pdf(
        "pdf/signature.html",
        {
            "agency": agency_name,
            "signer": signer_name,
            "at": at.astimezone(VN_TZ),
            "code": code,
            "verify_url": f"{links.public_base_url()}/verify/",
        },
    )


def _stamp_box(data: bytes) -> tuple[float, float, float, float]:
    """Where the block goes on the last page (its MediaBox read with pypdf)."""
    from pypdf import PdfReader

    try:
        box = PdfReader(io.BytesIO(data)).pages[-1].mediabox
        left, bottom, width = float(box.left), float(box.bottom), float(box.width)
    except Exception:  # the signing itself reports a damaged file
        left, bottom, width = 0.0, 0.0, 210 * MM
    margin = min(STAMP_LEFT, width * 0.05)
    stamp_width = min(STAMP_WIDTH, width - 2 * margin)
    stamp_height = stamp_width * STAMP_HEIGHT / STAMP_WIDTH
    x1, y1 = left + margin, bottom + min(STAMP_BOTTOM, margin)
    return (x1, y1, x1 + stamp_width, y1 + stamp_height)


def _stamp_style(page: bytes):
    from pyhanko.pdf_utils import content, layout
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.stamp import StaticStampStyle

    class ImportedBytesPage(content.PdfContent):
        """content.ImportedPdfPage, from bytes instead of a file name."""

        def render(self) -> bytes:
            writer = self._ensure_writer
            xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(page)), page_ix=0)
            name = "/Import" + uuid.uuid4().hex
            self.resources.xobject[name] = xobject
            x1, y1, x2, y2 = xobject.get_object()["/BBox"]
            self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
            return name.encode("ascii") + b" Do"

    return StaticStampStyle(
        background=ImportedBytesPage(),
        border_width=0,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins.uniform(0),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
    )


def sign_pdf(
    data: bytes,
    *,
    agency,
    key: AgencyKey,
    signer_name: str,
    reason: str,
    code: str | None = None,
) -> Signed:
    """`data` signed with the agency's key (PAdES; B-T when a timestamp authority answers),
    with the visible block on its last page. Raises NotSignable for a document that cannot be
    signed."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers

    code = code or new_code()
    at = dt.datetime.now(dt.UTC)
    if data.lstrip()[:5] != b"%PDF-":
        raise NotSignable(_("Chỉ ký số được văn bản PDF."))
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        if writer.prev.encrypted:
            raise NotSignable(_("Văn bản PDF đã được mã hóa, không ký số được."))
        last_page = int(writer.root["/Pages"]["/Count"]) - 1
    except (PdfError, KeyError, TypeError, ValueError) as error:
        raise NotSignable(_("Văn bản PDF bị hỏng, không ký số được.")) from error
    page = _stamp_page(agency_name=agency.authority_name, signer_name=signer_name, at=at, code=code)
    field_name = f"ChuKySo-{code}"
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=signer_name or None,
        reason=reason,
        location=agency.place or None,
    )
    spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=last_page, box=_stamp_box(data))
    level, timestamper = "B-B", _timestamper()
    try:
        signed = _sign(writer, meta, key, spec, page, timestamper)
        level = "B-T" if timestamper else "B-B"
    except _TimestampFailed as error:
        log.warning(
            "the timestamp authority did not answer (%r); signing without a timestamp (B-B)",
            error.__cause__.__cause__ or error.__cause__,
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        signed = _sign(writer, meta, key, spec, page, None)
    except (PdfError, KeyError, TypeError, ValueError) as error:
        raise NotSignable(_("Văn bản PDF bị hỏng, không ký số được.")) from error
    return Signed(
        content=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        level=level,
        code=code,
        subject=key.subject,
        signed_at=at,
    )


class _TimestampFailed(Exception):
    pass


def _timestamper():
    url = getattr(settings, "ONESTOP_SIGNING_TSA_URL", "")
    if not url:
        return None
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    return RequestsHTTPTimeStamper(
        url, timeout=getattr(settings, "ONESTOP_SIGNING_TSA_TIMEOUT", 10)
    )


def _sign(writer, meta, key: AgencyKey, spec, page: bytes, timestamper) -> bytes:
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps import TimestampRequestError

    pdf_signer = signers.PdfSigner(
        meta,
        signer=key.signer,
        timestamper=timestamper,
        stamp_style=_stamp_style(page),
        new_field_spec=spec,
    )
    try:
        output = _run(lambda: pdf_signer.async_sign_pdf(writer, output=io.BytesIO()))
    except TimestampRequestError as error:
        raise _TimestampFailed() from error
    except Exception as error:
        # A connection refused or timed out surfaces from requests under its own types.
        if timestamper is not None and "requests" in type(error).__module__:
            raise _TimestampFailed() from error
        raise
    return output.getvalue()


def _run(make_coroutine):
    """pyHanko's work, which is asynchronous: on this thread, or on a helper thread when this
    one already runs an event loop (an ASGI server's, a browser test's) where asyncio.run may
    not be called."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


# --- Verification ---------------------------------------------------------------------------


class Outcome:
    GENUINE = "genuine"
    NOT_PDF = "not_pdf"
    NOT_SIGNED = "not_signed"
    MODIFIED = "modified"
    BROKEN = "broken"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass
class Verdict:
    outcome: str
    reason: str
    signer: str = ""  # the certificate's subject
    organisation: str = ""
    signed_at: dt.datetime | None = None
    timestamped: bool = False
    level: str = ""
    sha256: str = ""
    signatures: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def genuine(self) -> bool:
        return self.outcome == Outcome.GENUINE


def trust_roots() -> tuple[list, list]:
    """(root certificates, revocation lists) from `<ONESTOP_SIGNING_DIR>/trust/` and
    `ONESTOP_SIGNING_TRUST_ROOTS` (more PEM files)."""
    from asn1crypto import crl
    from pyhanko.keys import load_certs_from_pemder

    files = [Path(p) for p in getattr(settings, "ONESTOP_SIGNING_TRUST_ROOTS", []) or []]
    directory = _directory()
    crl_files: list[Path] = []
    if directory and (directory / "trust").is_dir():
        files += sorted((directory / "trust").glob("*.pem"))
        crl_files = sorted((directory / "trust").glob("*.crl"))
    roots = list(load_certs_from_pemder([str(f) for f in files])) if files else []
    crls = []
    for path in crl_files:
        data = path.read_bytes()
        if data.startswith(b"-----"):
            from asn1crypto import pem

            _type, _headers, data = pem.unarmor(data)
        crls.append(crl.CertificateList.load(data))
    return roots, crls


def _validation_context():
    from pyhanko_certvalidator import ValidationContext

    roots, crls = trust_roots()
    return ValidationContext(
        trust_roots=roots,
        crls=crls,
        allow_fetching=False,
        # Offline: a revocation list configured for the issuer is checked; none is no failure.
        revocation_mode="soft-fail",
    )


def verify_pdf(data: bytes) -> Verdict:
    """Whether `data` is a PDF signed by a trusted agency and unchanged since; else why not.
    The newest signature answers (the agency's, over the whole file); an older one (a document
    signed before it was uploaded as the result) is covered by it. Never raises on a file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    digest = hashlib.sha256(data).hexdigest()
    if data.lstrip()[:5] != b"%PDF-":
        return Verdict(Outcome.NOT_PDF, _("Tệp không phải là văn bản PDF."), sha256=digest)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception:  # any parse failure of a hostile file: a damaged PDF
        return Verdict(
            Outcome.BROKEN,
            _("Không đọc được tệp PDF (tệp bị hỏng hoặc đã bị sửa đổi)."),
            sha256=digest,
        )
    if not embedded:
        return Verdict(Outcome.NOT_SIGNED, _("Văn bản không có chữ ký số."), sha256=digest)
    context = _validation_context()  # a configuration error is not the file's fault: raised
    try:
        signature = max(embedded, key=lambda s: s.signed_revision)
        status = _run(
            lambda: async_validate_pdf_signature(signature, signer_validation_context=context)
        )
        return _verdict(status, signature, digest, len(embedded))
    except Exception as error:  # any failure on a hostile or damaged file: a broken signature
        log.info("signature could not be validated: %r", error)
        return Verdict(
            Outcome.BROKEN,
            _("Chữ ký số bị hỏng, không kiểm tra được."),
            sha256=digest,
            signatures=len(embedded),
        )


def _verdict(status, signature, digest: str, count: int) -> Verdict:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    certificate = status.signing_cert
    names = certificate.subject.native
    timestamp = status.timestamp_validity
    signed_at = timestamp.timestamp if timestamp is not None else status.signer_reported_dt
    base = {
        "signer": certificate.subject.human_friendly,
        "organisation": names.get("organization_name") or names.get("common_name") or "",
        "signed_at": signed_at,
        "timestamped": timestamp is not None and timestamp.valid and timestamp.intact,
        "level": "B-T" if timestamp is not None else "B-B",
        "sha256": digest,
        "signatures": count,
    }
    subfilter = str(signature.sig_object.get("/SubFilter", ""))
    if not status.intact:
        return Verdict(
            Outcome.MODIFIED,
            _("Văn bản đã bị sửa đổi sau khi ký: nội dung không còn khớp với chữ ký số."),
            **base,
        )
    if not status.valid:
        return Verdict(Outcome.BROKEN, _("Chữ ký số không hợp lệ (chữ ký bị hỏng)."), **base)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and not _only_signature_updates(
        status
    ):
        return Verdict(
            Outcome.MODIFIED,
            _("Văn bản đã bị thay đổi sau khi ký (có nội dung được thêm vào sau chữ ký số)."),
            **base,
        )
    if not status.trusted:
        indication = str(getattr(status.trust_problem_indic, "name", "") or "")
        if status.revoked or "REVOKED" in indication:
            return Verdict(Outcome.REVOKED, _("Chứng thư số của người ký đã bị thu hồi."), **base)
        if "EXPIRED" in indication or "OUT_OF_BOUNDS" in indication:
            return Verdict(
                Outcome.EXPIRED,
                _("Chứng thư số của người ký đã hết hạn hoặc chưa có hiệu lực."),
                **base,
            )
        return Verdict(
            Outcome.UNTRUSTED,
            _(
                "Chữ ký số không do cơ quan được tin cậy cấp (chứng thư số không thuộc tổ chức "
                "cung cấp dịch vụ chứng thực được cấu hình)."
            ),
            details=[indication] if indication else [],
            **base,
        )
    if subfilter != "/ETSI.CAdES.detached":
        return Verdict(
            Outcome.UNTRUSTED,
            _("Chữ ký số không theo chuẩn PAdES."),
            **base,
        )
    return Verdict(
        Outcome.GENUINE,
        _("Văn bản chính xác: chữ ký số hợp lệ, của cơ quan được tin cậy, nội dung không đổi."),
        **base,
    )


def _only_signature_updates(status) -> bool:
    """Later revisions that only add validation data or document timestamps (what keeps a
    signature verifiable over the years). Anything more, even what PAdES calls "form filling"
    (a new signature field with its own appearance, which can paint over the page), is a
    change to what was signed: the page calls it modified."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    return level is not None and level <= ModificationLevel.LTA_UPDATES
