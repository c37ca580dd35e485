"""A PDF as a person would see it: how many pages, the first page's text, and the first page
as a picture (PDFium, the renderer of Chromium)."""

from __future__ import annotations

import pypdfium2 as pdfium
from PIL.Image import Image

DPI = 150


def read_pdf(data: bytes) -> tuple[int, str, Image]:
    """How many pages, the first page's text, and the first page rendered at ``DPI``."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        text = page.get_textpage().get_text_range()
        return len(document), text, page.render(scale=DPI / 72).to_pil()
    finally:
        document.close()
