"""Uploads are checked before they are stored (dossiers/filecheck.py), through every way in:
active or broken PDFs and HTML polyglots are refused, images are decoded under a pixel limit
and stored re-encoded without their metadata, and files are served with the checked type.

The malicious files are built here, byte by byte: real PDFs and PNGs, nothing the check knows."""

import hashlib
import io
import random
import struct
import zlib

import pytest
import weasyprint
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image
from pypdf import PdfWriter
from rest_framework.test import APIClient

from dossiers import filecheck, services
from dossiers.demo.scenarios import MINIMAL_PDF, build_pdf, new_draft
from dossiers.errors import ValidationFailed
from dossiers.models import Attachment, Dossier
from dossiers.workflow import Status

from .conftest import actor

# --- building files ----------------------------------------------------------------------------


PAGES = b"<</Type/Pages/Kids[3 0 R]/Count 1>>"
PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>"


def pdf_with(catalog_extra: bytes = b"", page_extra: bytes = b"", more=()) -> bytes:
    return build_pdf(
        [
            b"<</Type/Catalog/Pages 2 0 R%s>>" % catalog_extra,
            PAGES,
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]%s>>" % page_extra,
            *more,
        ]
    )


def pdf_with_compressed_objects(hidden: bytes) -> bytes:
    """PDF 1.5: object 4 (`hidden`, the catalog's /OpenAction) sits in a Flate-compressed object
    stream indexed by a cross-reference stream, so its names never appear in the raw bytes."""
    out = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for number, body in ((1, b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>"), (2, PAGES)):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[3] = len(out)
    out += b"3 0 obj\n%s\nendobj\n" % PAGE
    header = b"4 0 "
    packed = zlib.compress(header + hidden)
    offsets[5] = len(out)
    out += b"5 0 obj\n<</Type/ObjStm/N 1/First %d/Filter/FlateDecode/Length %d>>stream\n" % (
        len(header),
        len(packed),
    )
    out += packed + b"\nendstream\nendobj\n"
    offsets[6] = len(out)
    rows = b"\x00" + struct.pack(">IH", 0, 65535)
    for number in (1, 2, 3):
        rows += b"\x01" + struct.pack(">IH", offsets[number], 0)
    rows += b"\x02" + struct.pack(">IH", 5, 0)  # object 4: in object stream 5, index 0
    for number in (5, 6):
        rows += b"\x01" + struct.pack(">IH", offsets[number], 0)
    out += (
        b"6 0 obj\n<</Type/XRef/Size 7/W[1 4 2]/Root 1 0 R/Length %d>>stream\n" % len(rows)
        + rows
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[6]
    )
    return bytes(out)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG header announcing huge dimensions over a few hundred bytes of zeros."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)  # four rows; a decoder wants them all
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def image_bytes(fmt: str, size=(40, 20), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A 40 × 20 photo taken on its side (orientation 6) somewhere in Hà Nội, with a comment and
    an HTML payload after the end of the picture."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Điện thoại"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (21.0, 1.0, 42.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (105.0, 51.0, 12.0)
    photo = image_bytes("JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return photo + b"<html><script>alert(document.cookie)</script></html>"


def refusal(data: bytes, allowed=("pdf", "jpg", "png")) -> str:
    with pytest.raises(ValidationFailed) as raised:
        filecheck.check_bytes(data, allowed)
    assert set(raised.value.fields) == {"file"}
    return raised.value.fields["file"][0]


# --- PDFs --------------------------------------------------------------------------------------

JS_OPEN = pdf_with(b"/OpenAction 4 0 R", more=[b"<</S/JavaScript/JS(app.alert(1))>>"])
LAUNCH = pdf_with(b"/OpenAction<</S/Launch/F(cmd.exe)>>")
EMBEDDED = pdf_with(
    b"/Names<</EmbeddedFiles<</Names[(hoa-don.exe) 4 0 R]>>>>",
    more=[
        b"<</Type/Filespec/F(hoa-don.exe)/EF<</F 5 0 R>>>>",
        b"<</Type/EmbeddedFile/Length 2>>stream\nMZ\nendstream",
    ],
)
POLYGLOT = build_pdf(
    [b"<</Type/Catalog/Pages 2 0 R>>", PAGES, PAGE],
    head=b"%PDF-1.4\n%<html><script>fetch('/api/v1/dossiers/')</script>\n",
)


def _encrypted() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="", owner_password="chu-so-huu")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, says",
    [
        (JS_OPEN, "JavaScript"),
        (
            pdf_with(
                b"/Names<</JavaScript<</Names[(a) 4 0 R]>>>>", more=[b"<</S/JavaScript/JS(1)>>"]
            ),
            "JavaScript",
        ),
        (pdf_with(page_extra=b"/AA<</O<</S/Named/N/Print>>>>"), "JavaScript"),  # /AA: any
        (pdf_with(b"/OpenAction 4 0 R", more=[b"<</JS 5 0 R>>", b"(app.alert(1))"]), "JavaScript"),
        (pdf_with(b"/OpenAction<</S/Java#53cript/JS(1)>>"), "JavaScript"),  # #xx-escaped name
        (
            pdf_with(
                page_extra=b"/Annots[<</Subtype/Link/Rect[0 0 9 9]/A<</S/URI/URI(javascript:1)>>>>]"
            ),
            "JavaScript",
        ),
        (pdf_with_compressed_objects(b"<</S/JavaScript/JS(app.alert(1))>>"), "JavaScript"),
        (LAUNCH, "mở tệp hoặc chương trình"),
        (
            pdf_with(
                page_extra=b"/Annots[<</Subtype/Link/Rect[0 0 9 9]/A<</S/Launch/F(a.bat)>>>>]"
            ),
            "mở tệp hoặc chương trình",
        ),
        (EMBEDDED, "đính kèm bên trong"),
        (
            pdf_with(
                page_extra=b"/Annots[<</Subtype/FileAttachment/Rect[0 0 9 9]/FS 4 0 R>>]",
                more=[b"<</Type/Filespec/F(a.txt)>>"],
            ),
            "đính kèm bên trong",
        ),
        (POLYGLOT, "HTML"),
        (MINIMAL_PDF.replace(b"%%EOF", b"<!DOCTYPE html><body onload=alert(1)>\n%%EOF"), "HTML"),
        (_encrypted(), "mật khẩu"),
        (MINIMAL_PDF[: len(MINIMAL_PDF) // 2], "bị hỏng"),
        (MINIMAL_PDF[:-8], "bị hỏng"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", "bị hỏng"),
        (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\nstartxref\n9\n%%EOF\n", "bị hỏng"),
    ],
    ids=[
        "openaction-javascript",
        "names-tree-javascript",
        "additional-actions",
        "js-key-without-action-type",
        "hex-escaped-javascript",
        "javascript-uri",
        "javascript-in-compressed-object-stream",
        "openaction-launch",
        "link-launch",
        "embedded-files",
        "file-attachment-annotation",
        "html-polyglot",
        "html-after-the-pdf",
        "encrypted",
        "truncated-half",
        "truncated-end",
        "garbage",
        "no-pages",
    ],
)
def test_a_dangerous_or_broken_pdf_is_refused(data, says):
    assert says in refusal(data, ("pdf",))


def test_html_before_the_pdf_header_is_not_a_pdf():
    assert "không đúng định dạng" in refusal(b"<html><script>alert(1)</script>\n" + MINIMAL_PDF)


def _pypdf_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": "Tờ khai"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _weasyprint_pdf() -> bytes:
    return weasyprint.HTML(
        string="<h1>Tờ khai</h1><p>Xin xác nhận <a href='https://example.vn/'>tình trạng</a>.</p>"
    ).write_pdf()


@pytest.mark.parametrize(
    "data",
    [
        MINIMAL_PDF,
        _pypdf_pdf(),
        _weasyprint_pdf(),
        pdf_with(b"/OpenAction[3 0 R/Fit]"),  # opening at the first page is fine
        pdf_with_compressed_objects(b"<</S/GoTo/D[3 0 R/Fit]>>"),
    ],
    ids=["minimal", "pypdf", "weasyprint", "openaction-goto", "object-streams"],
)
def test_an_ordinary_pdf_is_stored_as_it_came(data):
    checked = filecheck.check_bytes(data, ("pdf",))
    assert checked.content == data and checked.content_type == "application/pdf"
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_mangled_files_are_refused_cleanly_never_with_another_error():
    """Random damage to real files: each is stored or refused with a message, nothing else."""
    rng = random.Random(11)
    originals = [_pypdf_pdf(), MINIMAL_PDF, image_bytes("PNG"), image_bytes("JPEG")]
    outcomes = set()
    for _round in range(150):
        data = bytearray(rng.choice(originals))
        for _hit in range(rng.randint(1, 6)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        try:
            filecheck.check_bytes(bytes(data), ("pdf", "jpg", "png"))
            outcomes.add("stored")
        except ValidationFailed as refused:
            assert refused.fields["file"]
            outcomes.add("refused")
    assert outcomes == {"stored", "refused"}


# --- images ------------------------------------------------------------------------------------


def test_a_png_bomb_is_refused_before_it_is_decoded():
    bomb = png_bomb()
    assert len(bomb) < 2000  # tiny file, 400 megapixels
    assert "triệu điểm ảnh" in refusal(bomb)
    # Below Pillow's own alarm (89 megapixels), above ours (50).
    assert "tối đa 50 triệu điểm ảnh" in refusal(png_bomb(8000, 8000))


def test_the_pixel_limit_is_a_setting(settings):
    settings.ONESTOP_MAX_IMAGE_PIXELS = 500
    assert "0.0005 triệu" in refusal(image_bytes("PNG", size=(40, 20)))
    settings.ONESTOP_MAX_IMAGE_PIXELS = 800
    assert filecheck.check_bytes(image_bytes("PNG", size=(40, 20)), ["png"]).extension == "png"


def test_a_broken_image_is_refused():
    png = image_bytes("PNG")
    assert "Tệp ảnh bị hỏng" in refusal(png[:40])
    assert "Tệp ảnh bị hỏng" in refusal(image_bytes("JPEG")[:200])


def test_a_png_is_stored_without_text_chunks_or_trailing_bytes():
    png = image_bytes("PNG")
    # A text chunk after the header chunk (8 + 25 bytes), and a payload after IEND.
    tagged = png[:33] + png_chunk(b"tEXt", b"Author\x00Nguyen Van An") + png[33:]
    tagged += b"<script>alert(1)</script>"
    stored = filecheck.check_bytes(tagged, ["png"]).content
    assert b"Nguyen Van An" not in stored and b"<script" not in stored
    assert stored.endswith(png_chunk(b"IEND", b""))
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (40, 20) and image.getpixel((0, 0)) == (200, 30, 30)


# --- through the portal, the API and the counter ------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()


@pytest.fixture
def draft(cast, procedure, commune):
    return new_draft(cast=cast, procedure=procedure, agency=commune, with_documents=False)


@pytest.fixture
def document(procedure):
    return procedure.documents.get(required=True, kind="submit")


def _stored_files(settings):
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_the_portal_stores_a_photo_without_its_location(client, citizen, draft, document):
    client.force_login(citizen)
    photo = jpeg_with_gps()
    with Image.open(io.BytesIO(photo)) as original:  # the test file is what it claims
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = client.post(
        f"/my/dossiers/{draft.pk}/edit/",
        {
            "f_full_name": "Nguyễn Văn An",
            "f_purpose": "Kết hôn",
            "intent": "save",
            f"doc_{document.pk}": SimpleUploadedFile("anh-chup.jpg", photo, "image/jpeg"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    attachment = Dossier.objects.get(pk=draft.pk).attachments.get()
    stored = attachment.file.read()
    assert (
        attachment.sha256 == hashlib.sha256(stored).hexdigest() != hashlib.sha256(photo).hexdigest()
    )
    assert attachment.size == len(stored) and attachment.content_type == "image/jpeg"
    assert b"secret comment" not in stored and b"<script" not in stored
    assert stored.endswith(b"\xff\xd9")  # nothing after the end of the picture
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()  # no EXIF at all: no GPS, no maker
        assert "comment" not in image.info
        assert image.size == (20, 40)  # turned upright as the orientation said

    download = client.get(f"/my/dossiers/{draft.pk}/files/{attachment.pk}/")
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == stored


def test_the_portal_refuses_a_png_bomb_with_a_message(client, citizen, draft, document, settings):
    client.force_login(citizen)
    response = client.post(
        f"/my/dossiers/{draft.pk}/edit/",
        {
            "f_full_name": "Nguyễn Văn An",
            "f_purpose": "Kết hôn",
            "intent": "save",
            f"doc_{document.pk}": SimpleUploadedFile("scan.png", png_bomb(), "image/png"),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ảnh quá lớn" in html and f'id="doc_{document.pk}_error"' in html
    assert not Dossier.objects.get(pk=draft.pk).attachments.exists()
    assert _stored_files(settings) == []


def _api(username):
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": username, "password": "onestop-test"}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return client


@pytest.mark.parametrize(
    "name, data, says",
    [
        ("js.pdf", JS_OPEN, "JavaScript"),
        ("launch.pdf", LAUNCH, "mở tệp hoặc chương trình"),
        ("embedded.pdf", EMBEDDED, "đính kèm bên trong"),
        ("polyglot.pdf", POLYGLOT, "HTML"),
        ("encrypted.pdf", _encrypted(), "mật khẩu"),
        ("truncated.pdf", MINIMAL_PDF[:-30], "bị hỏng"),
        ("garbage.pdf", b"%PDF-1.4\n\x00\x01garbage\n%%EOF", "bị hỏng"),
        ("bomb.png", png_bomb(), "Ảnh quá lớn"),
    ],
)
def test_the_api_refuses_with_a_field_error(citizen, draft, document, settings, name, data, says):
    response = _api("citizen").post(
        f"/api/v1/dossiers/draft-{draft.pk}/attachments/",
        {"document_type": document.pk, "file": SimpleUploadedFile(name, data)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and says in error["fields"]["file"][0]
    assert says in error["message"]
    assert not Dossier.objects.get(pk=draft.pk).attachments.exists()
    assert _stored_files(settings) == []


def test_the_api_stores_the_reencoded_image_and_its_hash(citizen, draft, document):
    response = _api("citizen").post(
        f"/api/v1/dossiers/draft-{draft.pk}/attachments/",
        {"document_type": document.pk, "file": SimpleUploadedFile("a.jpg", jpeg_with_gps())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    stored = attachment.file.read()
    assert attachment.sha256 == hashlib.sha256(stored).hexdigest()
    assert response.json()["content_type"] == "image/jpeg"
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()


def test_the_counter_writes_nothing_when_one_file_is_refused(
    client, reception, procedure, settings
):
    required, optional = procedure.documents.filter(kind="submit").order_by("order")
    client.force_login(reception)
    response = client.post(
        f"/office/intake/{procedure.code}/",
        {
            "full_name": "Phạm Thị Đào",
            "channel": 1,
            "f_full_name": "Phạm Thị Đào",
            "f_purpose": "Kết hôn",
            f"seen_{required.pk}": "1",
            f"doc_{required.pk}": SimpleUploadedFile("to-khai.pdf", MINIMAL_PDF),
            f"doc_{optional.pk}": SimpleUploadedFile("cu-tru.pdf", JS_OPEN),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert optional.name in html and "JavaScript" in html
    assert not Dossier.objects.exists() and not Attachment.objects.exists()
    assert _stored_files(settings) == []


def test_a_supplement_at_the_office_refuses_a_polyglot(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    doc = dossier.procedure.documents.first()
    dossier = services.dossier_request_supplement(
        actor=actor(reception), dossier=dossier, documents=[doc.pk], reason="Ảnh mờ"
    )
    client.force_login(reception)
    before = dossier.attachments.count()
    response = client.post(
        f"/office/dossiers/{dossier.pk}/act/supplement/",
        {"version": dossier.version, f"doc_{doc.pk}": SimpleUploadedFile("a.pdf", POLYGLOT)},
    )
    assert response.status_code == 400 and "HTML" in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).attachments.count() == before


# --- serving -----------------------------------------------------------------------------------


def test_a_file_downloads_with_its_checked_type_and_extension(client, citizen, draft, document):
    png = image_bytes("PNG")
    attachment = services.attachment_add(
        actor=actor(citizen),
        dossier=draft,
        upload=SimpleUploadedFile("giay-to.pdf", png, "application/pdf"),
        document=document,
    )
    client.force_login(citizen)
    response = client.get(f"/my/dossiers/{draft.pk}/files/{attachment.pk}/")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="giay-to.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_office_previews_inline_only_a_checked_type(client, make_dossier, reception):
    dossier = make_dossier(Status.SUBMITTED)
    file = dossier.attachments.exclude(file="").first()
    client.force_login(reception)
    url = f"/office/dossiers/{dossier.pk}/files/{file.pk}/"
    preview = client.get(url, {"preview": "1"})
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["X-Content-Type-Options"] == "nosniff"
    # A row from before the check, with a type the check never gives: downloaded, opaque.
    Attachment.objects.filter(pk=file.pk).update(content_type="text/html", original_name="x.html")
    legacy = client.get(url, {"preview": "1"})
    assert legacy["Content-Type"] == "application/octet-stream"
    assert legacy["Content-Disposition"] == 'attachment; filename="x.html"'
    assert legacy["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name, content_type, served",
    [
        ("to-khai.pdf", "application/pdf", "to-khai.pdf"),
        ("TO-KHAI.PDF", "application/pdf", "TO-KHAI.PDF"),
        ("trang.html", "application/pdf", "trang.pdf"),
        ("anh.jpeg", "image/jpeg", "anh.jpeg"),
        ("anh", "image/png", "anh.png"),
        ("", "image/png", "tai-lieu-1.png"),
    ],
)
def test_download_names_end_in_the_checked_extension(name, content_type, served):
    assert filecheck.download_name(name, content_type, "tai-lieu-1") == served


# --- documents on file ------------------------------------------------------------------------


def test_a_document_on_file_is_checked_again_when_reused(citizen, make_dossier, draft, document):
    earlier = make_dossier(Status.RETURNED)
    on_file = earlier.attachments.filter(purpose=Attachment.Purpose.APPLICATION).first()
    shared = services.attachment_reuse(
        actor=actor(citizen), dossier=draft, source=on_file, document=document
    )
    assert (shared.file.name, shared.sha256) == (on_file.file.name, on_file.sha256)  # a PDF: same
    shared.delete()
    # A file stored before uploads were checked: the polyglot is not attached again.
    with on_file.file.open("wb") as stored:
        stored.write(POLYGLOT)
    with pytest.raises(ValidationFailed) as refused:
        services.attachment_reuse(
            actor=actor(citizen), dossier=draft, source=on_file, document=document
        )
    assert "HTML" in refused.value.fields["file"][0]
    # A photo with its location: attached again as the clean re-encoding, in a file of its own.
    with on_file.file.open("wb") as stored:
        stored.write(jpeg_with_gps())
    copy = services.attachment_reuse(
        actor=actor(citizen), dossier=draft, source=on_file, document=document
    )
    stored = copy.file.read()
    assert copy.file.name != on_file.file.name and copy.content_type == "image/jpeg"
    assert copy.sha256 == hashlib.sha256(stored).hexdigest() and copy.size == len(stored)
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
