"""The one PDF helper: Django template -> WeasyPrint -> bytes. Never fetches a remote URL.

Fonts come from the system's DejaVu Sans (fonts-dejavu-core, which covers Vietnamese), images
are inline (the QR code is an inline SVG), and `file:` URLs are allowed only inside
templates/pdf/.

What a render costs is mostly fonts: without HarfBuzz-Subset, WeasyPrint subsets every embedded
font with fontTools, which parses the whole font file (DejaVu Sans: 6,000 glyphs and large
layout tables) on every render. So, once per process, the slips' four faces are cut down to
what Vietnamese text needs (a few hundred glyphs, no OpenType layout tables: the legacy 'kern'
table keeps the kerning) and registered with one shared `FontConfiguration`, beside the slips'
stylesheet parsed once. Without HarfBuzz-Subset a page whose text those glyphs cover embeds
them whole (a larger file, no fontTools pass); with it (Debian: libharfbuzz-subset0) every
font is subset, in C. Text the faces do not cover (a rare letter in a name) takes the general
path: the system fonts, subset as usual.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

log = logging.getLogger(__name__)

PDF_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "pdf"
STYLESHEET = PDF_TEMPLATES / "slip.css"
# Debian's fonts-dejavu-core; a deployment with the fonts elsewhere sets ONESTOP_PDF_FONT_DIR.
FONT_DIR = Path(getattr(settings, "ONESTOP_PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
# The slips' family (slip.css names it first, then the system's DejaVu Sans).
FAMILY = "Onestop Slip Sans"
FACES = {  # (weight, style): DejaVu Sans file
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
    ("bold", "italic"): "DejaVuSans-BoldOblique.ttf",
}


def _vietnamese_letters() -> str:
    vowels = "aăâeêioôơuưy"
    tones = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
    letters = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones} | {"đ"}
    return "".join(sorted(letters | {c.upper() for c in letters}))


# What the slips' own faces hold: printable ASCII, Vietnamese, the punctuation the templates and
# usual names and addresses use.
SLIP_CHARACTERS = (
    "".join(map(chr, range(0x20, 0x7F))) + _vietnamese_letters() + "\u00a0–—‘’“”…•·×°№₫§"
)


class LocalOnlyFetcher(URLFetcher):
    """data: URIs, and files under templates/pdf/; everything else is refused."""

    def __init__(self):
        super().__init__(allowed_protocols={"data", "file"}, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = Path(unquote(urlparse(url).path)).resolve()
            if not path.is_relative_to(PDF_TEMPLATES.resolve()):
                raise ValueError(f"PDF may not read {path}")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class Renderer:
    """What every render in this process shares: built once, never grows (nothing keyed by
    document). `lock` serialises renders: Pango's font map is not thread-safe."""

    font_config: FontConfiguration
    stylesheet: CSS
    covered: frozenset[str]
    subset_is_cheap: bool
    lock: threading.Lock

    def embed_whole(self, html: str) -> bool:
        """Whether to embed the slip faces unsubset: only when fontTools would do the subsetting,
        and the faces hold every character of `html`."""
        if self.subset_is_cheap or not self.covered:
            return False
        return not (set(html) - self.covered - {"\n", "\r", "\t"})


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> Renderer:
    """The process's shared fonts and stylesheet (made on first use)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = _make_renderer()
        return _renderer


def _make_renderer() -> Renderer:
    font_config = FontConfiguration()
    faces, covered = [], None
    for (weight, style), filename in FACES.items():
        try:
            data, cmap = _slip_face(FONT_DIR / filename)
        except OSError as error:
            # Still correct, only slower: the system fonts, subset on every render.
            log.warning("slip fonts unavailable (%s); using the system's DejaVu Sans", error)
            faces, covered = [], frozenset()
            break
        covered = cmap if covered is None else covered & cmap
        uri = "data:font/ttf;base64," + base64.b64encode(data).decode("ascii")
        faces.append(
            f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; '
            f'font-style: {style}; src: url("{uri}"); }}'
        )
    css = "\n".join(faces) + "\n" + STYLESHEET.read_text(encoding="utf-8")
    stylesheet = CSS(
        string=css,
        base_url=PDF_TEMPLATES.as_uri() + "/",
        url_fetcher=LocalOnlyFetcher(),
        font_config=font_config,
    )
    return Renderer(
        font_config, stylesheet, frozenset(covered or ()), _harfbuzz_subset(), threading.Lock()
    )


def _harfbuzz_subset() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools."""
    try:
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

        return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))
    except (ImportError, AttributeError):
        return False


def _slip_face(path: Path) -> tuple[bytes, frozenset[str]]:
    """`path` cut down to SLIP_CHARACTERS: glyph outlines, metrics and the 'kern' table."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "FFTM"]
    options.legacy_kern = True  # kerning without GPOS
    options.hinting = False  # WeasyPrint drops hinting from PDFs anyway
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=SLIP_CHARACTERS)
    font = TTFont(path)
    subsetter.subset(font)
    output = io.BytesIO()
    font.save(output)
    return output.getvalue(), frozenset(map(chr, font.getBestCmap()))


def render_pdf(template_name: str, context: dict) -> bytes:
    # NFC: a decomposed Vietnamese letter would need the mark positioning the faces left out.
    html = unicodedata.normalize("NFC", render_to_string(template_name, context))
    shared = renderer()
    with shared.lock:
        return HTML(
            string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=LocalOnlyFetcher()
        ).write_pdf(
            stylesheets=[shared.stylesheet],
            font_config=shared.font_config,
            full_fonts=shared.embed_whole(html),
        )


def qr_svg(url: str) -> str:
    """A QR code for `url` as inline SVG markup: vector, no file, no network."""
    # segno's own markup: the URL is encoded in the path data, never copied into it as text.
    markup = segno.make(url, error="m").svg_inline(scale=4, border=2, omitsize=True)
    return mark_safe(markup)  # nosec B308 B703
