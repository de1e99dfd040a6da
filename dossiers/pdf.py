"""The one PDF helper: Django template -> WeasyPrint -> bytes. Never fetches a remote URL.

Fonts come from the system (fontconfig: DejaVu, which covers Vietnamese), images are inlined as
data: URIs (the QR code), and `file:` URLs are allowed only inside templates/pdf/.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import segno
from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

PDF_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "pdf"


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


def render_pdf(template_name: str, context: dict) -> bytes:
    html = render_to_string(template_name, context)
    return HTML(
        string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=LocalOnlyFetcher()
    ).write_pdf()


def qr_data_uri(url: str) -> str:
    """A QR code for `url` as an inline SVG data URI (no file, no network)."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)
