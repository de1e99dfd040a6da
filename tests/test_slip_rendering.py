"""How slips are rendered: the fonts and the stylesheet are made once per process and reused, and
the receipt's QR code is a vector that still reads back as the dossier's lookup address."""

import io

import pypdfium2
import zxingcpp
from pypdf import PdfReader

from dossiers import pdf, slips
from dossiers.models import Dossier, Slip
from dossiers.workflow import Status


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _images_and_qr(content: bytes) -> tuple[int, list[str]]:
    """(raster images on page 1, QR codes read from page 1 drawn at 216 dpi)."""
    document = pypdfium2.PdfDocument(content)
    try:
        page = document[0]
        images = sum(
            1
            for item in page.get_objects(max_depth=5)
            if item.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
        )
        picture = page.render(scale=3).to_pil()
        return images, [code.text for code in zxingcpp.read_barcodes(picture)]
    finally:
        document.close()


def test_receipts_reuse_the_fonts_and_stylesheet_and_draw_the_qr_code_as_a_vector(make_dossier):
    first, second = make_dossier(Status.RECEIVED), make_dossier(Status.RECEIVED)
    shared = pdf.renderer()

    contents = [slips.render_content(d, Slip.Kind.RECEIPT) for d in (first, second)]

    again = pdf.renderer()
    assert again is shared
    assert again.font_config is shared.font_config and again.stylesheet is shared.stylesheet
    # The faces were registered once, when the stylesheet was parsed: nothing added per render.
    assert len(list(shared.font_config._folder.iterdir())) == len(pdf.FACES)
    for dossier, content in zip((first, second), contents, strict=True):
        assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in _text(content)
        images, codes = _images_and_qr(content)
        assert images == 0  # the QR code is drawn as paths, not a picture
        assert codes == [slips.public_status_url(dossier)]
    assert pdf.qr_svg(slips.public_status_url(first)).startswith("<svg")


def test_a_letter_the_slip_faces_lack_still_prints(make_dossier):
    """A name with a character outside the Vietnamese faces falls back to the system's fonts;
    a decomposed (NFD) name prints as the same letters."""
    dossier = make_dossier(Status.RECEIVED)
    applicant = {**dossier.applicant, "full_name": "Şeyma Nguye\u0302\u0303n"}
    Dossier.objects.filter(pk=dossier.pk).update(applicant=applicant)
    dossier.refresh_from_db()
    assert not pdf.renderer().embed_whole("Şeyma")

    text = _text(slips.render_content(dossier, Slip.Kind.RECEIPT))

    assert "Şeyma Nguyễn" in text
