"""What an uploaded document must be before it is stored: the one check behind every upload
(the portal, counter intake, supplements, results, the API).

- The type comes from the bytes (never the name or the browser's claim) and must be one the
  document accepts and this module can check: PDF, JPEG or PNG.
- A PDF must parse (pypdf), must not be encrypted, and must carry no active content: no
  JavaScript (names tree, actions, /AA), no launch actions, no embedded files or file
  attachments, no HTML a browser could sniff (an HTML/PDF polyglot). It is stored as it came
  (a PDF may be digitally signed: rewriting it would break the signature).
- An image is decoded by Pillow under a pixel limit (ONESTOP_MAX_IMAGE_PIXELS) and re-encoded:
  what is stored is the re-encoded picture, without EXIF (GPS), comments, text chunks or any
  bytes trailing the picture. Its orientation is applied first, so a phone photo stays upright.

Every refusal is a ValidationFailed on the field "file" with a message the user can act on;
nothing here raises anything else, whatever the bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import filetype
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from .errors import ValidationFailed

logger = logging.getLogger(__name__)

# The type names a document may allow, the sniffed extension each means, and what is served.
CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
TYPE_NAMES = {"pdf": "pdf", "jpg": "jpg", "jpeg": "jpg", "png": "png"}
DEFAULT_ALLOWED_TYPES = ("pdf", "jpg", "png")
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the check: the bytes to store and what they are."""

    content: bytes
    extension: str  # "pdf", "jpg" or "png"
    name: str = ""  # as uploaded

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]

    @property
    def size(self) -> int:
        return len(self.content)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})


def accepted_extensions(allowed: Iterable[str]) -> tuple[list[str], set[str]]:
    """(the allowed type names this module can check, for messages; their extensions)."""
    names = sorted({a.lower() for a in allowed if a.lower() in TYPE_NAMES})
    if not names and not list(allowed):
        names = list(DEFAULT_ALLOWED_TYPES)
    return names, {TYPE_NAMES[n] for n in names}


def wrong_type(names: list[str]) -> ValidationFailed:
    if not names:
        return _refuse(_("Giấy tờ này không nhận tệp điện tử."))
    return _refuse(
        _("Tệp không đúng định dạng cho phép (%(types)s).")
        % {"types": ", ".join(n.upper() for n in names)}
    )


def sniff(head: bytes) -> str | None:
    """The extension (pdf, jpg, png) the bytes begin as, or None."""
    kind = filetype.guess(head)
    return TYPE_NAMES.get(kind.extension) if kind is not None else None


def check_upload(upload, allowed: Iterable[str]) -> CheckedFile:
    """Check an uploaded file (anything with seek/read) against `allowed` type names."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return check_bytes(data, allowed, name=getattr(upload, "name", "") or "")


def check_bytes(data: bytes, allowed: Iterable[str], *, name: str = "") -> CheckedFile:
    names, accepted = accepted_extensions(allowed)
    extension = sniff(data[:8192])
    if extension is None or extension not in accepted:
        raise wrong_type(names)
    if extension == "pdf":
        _check_pdf(data)
        return CheckedFile(data, "pdf", name)
    return CheckedFile(_reencode_image(data, extension), extension, name)


# --- serving -----------------------------------------------------------------------------------

_EXTENSIONS = {"application/pdf": ("pdf",), "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}


def served_type(content_type: str) -> tuple[str, bool]:
    """(the Content-Type to serve a stored file with, whether it may be shown inline): a type
    this module checked, else application/octet-stream, downloaded only."""
    if content_type in _EXTENSIONS:
        return content_type, True
    return "application/octet-stream", False


def download_name(original_name: str, content_type: str, fallback: str) -> str:
    """The uploaded name, ending in the extension of what the file was found to be (a PNG
    uploaded as "scan.pdf" downloads as "scan.png"; "trang.html" that is a PDF as .pdf)."""
    name = original_name or fallback
    extensions = _EXTENSIONS.get(content_type)
    if not extensions:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and extension.lower() in extensions:
        return name
    return f"{stem if dot and stem else name}.{extensions[0]}"


# --- PDF ---------------------------------------------------------------------------------------

# HTML a browser recognises when it sniffs a file (WHATWG MIME sniffing), anywhere in the first
# 1024 bytes; and, anywhere in the file, markers that have no business in a scanned document.
_HTML_HEAD = re.compile(
    rb"<(?:!doctype\s+html|!--|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br"
    rb"|p|svg|meta|img|object|embed|form|base|link)[\s>/]",
    re.IGNORECASE,
)
_HTML_ANYWHERE = re.compile(
    rb"<(?:script|iframe|!doctype\s+html)|<(?:html|body|svg|object|embed)[\s>/]", re.IGNORECASE
)
# Long, distinctive names (a 2-letter name would appear by chance in compressed data), in their
# raw spelling: a second look at bytes pypdf might not reach (a parser differential).
_ACTIVE_NAMES = re.compile(
    rb"/(?:JavaScript|Launch|EmbeddedFiles?|FileAttachment|RichMedia)(?=[\s/<>\[\]()%{}]|$)"
)
_HEX_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]*#[0-9A-Fa-f]{2}[^\s/<>\[\]()%{}]*")

# What makes a PDF active, by where it shows in a dictionary.
_SCRIPT_KEYS = {"/JS", "/JavaScript", "/AA", "/XFA"}
_EMBED_KEYS = {"/EmbeddedFiles", "/EF", "/RichMediaContent"}
_SCRIPT_ACTIONS = {"/JavaScript", "/RichMediaExecute"}
_LAUNCH_ACTIONS = {"/Launch", "/ImportData"}
_EMBED_ACTIONS = {"/GoToE"}
_EMBED_TYPES = {"/EmbeddedFile", "/FileAttachment", "/RichMedia"}
_SCRIPT_URI = re.compile(r"^\s*(?:javascript|vbscript|data):", re.IGNORECASE)
_MAX_PDF_OBJECTS = 500_000


def _damaged() -> ValidationFailed:
    return _refuse(
        _("Tệp PDF bị hỏng hoặc không đọc được; vui lòng xuất (in) lại ra PDF rồi tải lên.")
    )


def _scripted() -> ValidationFailed:
    return _refuse(
        _(
            "Tệp PDF chứa mã JavaScript hoặc thao tác tự chạy; không được chấp nhận. "
            "Vui lòng in lại ra PDF thường rồi tải lên."
        )
    )


def _launching() -> ValidationFailed:
    return _refuse(_("Tệp PDF chứa lệnh mở tệp hoặc chương trình khác; không được chấp nhận."))


def _embedding() -> ValidationFailed:
    return _refuse(
        _(
            "Tệp PDF có tệp khác đính kèm bên trong; không được chấp nhận. "
            "Vui lòng tải từng giấy tờ lên riêng."
        )
    )


def _html() -> ValidationFailed:
    return _refuse(_("Tệp PDF chứa mã trang web (HTML); không được chấp nhận."))


def _check_pdf(data: bytes) -> None:
    if _HTML_HEAD.search(data[:1024]) or _HTML_ANYWHERE.search(data):
        raise _html()
    if b"%%EOF" not in data[-1024:]:
        raise _damaged()  # truncated: a PDF ends with %%EOF
    _check_raw_names(data)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refuse(
                _(
                    "Tệp PDF được đặt mật khẩu hoặc mã hoá; vui lòng gỡ mật khẩu (bảo vệ) "
                    "rồi tải lên lại."
                )
            )
        if len(reader.pages) < 1:
            raise _damaged()
        _check_pdf_objects(reader)
    except ValidationFailed:
        raise
    except Exception as error:  # whatever a malformed file makes pypdf raise
        logger.info("refused a PDF pypdf could not read: %r", error)
        raise _damaged() from None


def _check_raw_names(data: bytes) -> None:
    """Active names in the raw bytes, also when spelt with #xx escapes (/Java#53cript)."""
    found = [m.group() for m in _ACTIVE_NAMES.finditer(data)]
    for match in _HEX_NAME.finditer(data):
        plain = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), match.group())
        if _ACTIVE_NAMES.fullmatch(plain) or plain in (b"/JS", b"/AA", b"/OpenAction", b"/EF"):
            found.append(plain)
    for name in found:
        _refuse_name(name.decode("latin-1"))


def _refuse_name(name: str) -> None:
    if name in ("/JavaScript", "/JS", "/AA", "/OpenAction"):
        raise _scripted()
    if name == "/Launch":
        raise _launching()
    raise _embedding()


def _check_pdf_objects(reader: PdfReader) -> None:
    """Every object pypdf can reach: those the cross-reference lists (object streams included)
    and everything the trailer leads to."""
    stack: list = [reader.trailer]
    for generation, table in reader.xref.items():
        stack += [IndirectObject(number, generation, reader) for number in table]
    stack += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        item = stack.pop()
        visited += 1
        if visited > _MAX_PDF_OBJECTS:
            raise _damaged()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams too: their dictionary
            _check_pdf_dictionary(item)
            stack += list(item.values())
        elif isinstance(item, ArrayObject):
            stack += list(item)


def _check_pdf_dictionary(dictionary: DictionaryObject) -> None:
    keys = set(dictionary.keys())
    if keys & _SCRIPT_KEYS:
        raise _scripted()
    if keys & _EMBED_KEYS:
        raise _embedding()
    _check_action(_value(dictionary, "/S"))
    kind = _value(dictionary, "/Type"), _value(dictionary, "/Subtype")
    if any(isinstance(k, NameObject) and k in _EMBED_TYPES for k in kind):
        raise _embedding()
    uri = _value(dictionary, "/URI")
    if uri is not None and _SCRIPT_URI.match(str(uri)):
        raise _scripted()
    opened = _value(dictionary, "/OpenAction")
    if isinstance(opened, DictionaryObject):  # opening the file may only go to a page
        action = _value(opened, "/S")
        _check_action(action)
        if action != "/GoTo":
            raise _scripted()


def _check_action(action) -> None:
    if not isinstance(action, NameObject):
        return
    if action in _SCRIPT_ACTIONS:
        raise _scripted()
    if action in _LAUNCH_ACTIONS:
        raise _launching()
    if action in _EMBED_ACTIONS:
        raise _embedding()


def _value(dictionary: DictionaryObject, key: str):
    value = dict.get(dictionary, key)
    return value.get_object() if isinstance(value, IndirectObject) else value


# --- images ------------------------------------------------------------------------------------

_PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG"}


def max_image_pixels() -> int:
    return int(getattr(settings, "ONESTOP_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def _too_large(limit: int) -> ValidationFailed:
    return _refuse(
        _(
            "Ảnh quá lớn (tối đa %(mp)s triệu điểm ảnh); vui lòng chụp hoặc quét "
            "với độ phân giải thấp hơn."
        )
        % {"mp": f"{limit / 1_000_000:g}"}
    )


def _broken_image() -> ValidationFailed:
    return _refuse(_("Tệp ảnh bị hỏng hoặc không đọc được; vui lòng chụp hoặc quét lại."))


def _reencode_image(data: bytes, extension: str) -> bytes:
    """The picture alone, decoded and encoded again: no metadata, no trailing bytes."""
    limit = max_image_pixels()
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[extension]]) as image:
            width, height = image.size  # from the header, before a single pixel is decoded
            if width * height > limit:
                raise _too_large(limit)
            image.load()
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            dpi = image.info.get("dpi")
            clean = _upright(image)
        clean.info = {}
        options: dict = {}
        if isinstance(icc_profile, bytes):
            options["icc_profile"] = icc_profile  # colours, not a person's data
        if dpi:
            options["dpi"] = tuple(round(float(d)) for d in dpi)
        out = io.BytesIO()
        if extension == "jpg":
            if clean.mode not in ("L", "RGB", "CMYK"):
                clean = clean.convert("RGB")
            clean.save(out, "JPEG", quality=90, **options)
        else:
            if clean.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
                clean = clean.convert("RGBA")
            if transparency is not None and clean.mode in ("P", "L", "RGB"):
                options["transparency"] = transparency
            clean.save(out, "PNG", optimize=False, **options)
    except ValidationFailed:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, if it is lower than ours
        raise _too_large(limit) from None
    except Exception as error:  # whatever a malformed file makes Pillow raise
        logger.info("refused an image Pillow could not decode: %r", error)
        raise _broken_image() from None
    return out.getvalue()


def _upright(image: Image.Image) -> Image.Image:
    """A copy turned as its EXIF orientation says (the orientation goes with the EXIF)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block: keep the picture as it is
        return image.copy()
