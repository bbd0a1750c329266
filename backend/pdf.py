"""A4 PDF documents with Chinese text (notice-board results, ballot sheets, receipts).

One small builder over reportlab's platypus: a title, paragraphs, key/value tables,
tables whose header row repeats on every page, QR codes, explicit page breaks, and a
footer on every page with "第 n 页 / 共 m 页" and the generation time (Asia/Shanghai).

Text is set in reportlab's built-in CID font STSong-Light (Adobe-GB1, encoding
UniGB-UCS2-H): it needs no font file on the machine, and PDF readers (pypdf too)
map it back to Unicode, so the text of a document can be extracted and checked.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

from flask import Response
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.lib.utils import simpleSplit
from xml.sax.saxutils import escape

from backend.timeutil import local, utcnow

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
PDF_MIMETYPE = "application/pdf"

_BASE = ParagraphStyle("base", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
STYLES = {
    "title": ParagraphStyle("title", parent=_BASE, fontSize=18, leading=26, alignment=1,
                            spaceAfter=4 * mm),
    "subtitle": ParagraphStyle("subtitle", parent=_BASE, fontSize=11, alignment=1,
                               textColor=colors.HexColor("#555555"), spaceAfter=4 * mm),
    "heading": ParagraphStyle("heading", parent=_BASE, fontSize=13, leading=19,
                              spaceBefore=4 * mm, spaceAfter=2 * mm),
    "body": ParagraphStyle("body", parent=_BASE, spaceAfter=2 * mm),
    "small": ParagraphStyle("small", parent=_BASE, fontSize=8.5, leading=11),
    "cell": ParagraphStyle("cell", parent=_BASE, fontSize=9.5, leading=13),
    "mono": ParagraphStyle("mono", parent=_BASE, fontName="Courier", fontSize=8.5, leading=11,
                           wordWrap=None),
}
GRID = colors.HexColor("#999999")
SHADE = colors.HexColor("#EEEEEE")


def _text(value) -> str:
    return escape("" if value is None else str(value)).replace("\n", "<br/>")


class _NumberedCanvas(rl_canvas.Canvas):
    """Keeps each page until the end so the footer can say how many pages there are."""

    footer_note = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(number, total)
            super().showPage()
        super().save()

    def _footer(self, number: int, total: int) -> None:
        self.saveState()
        self.setFont(FONT, 8.5)
        self.setFillColor(colors.HexColor("#555555"))
        self.drawString(MARGIN, 10 * mm, self.footer_note)
        self.drawRightString(A4[0] - MARGIN, 10 * mm, f"第 {number} 页 / 共 {total} 页")
        self.restoreState()


class _Qr(Flowable):
    """A QR code of ``data``, ``size`` points square, with an optional caption below."""

    def __init__(self, data: str, size: float, caption: str | None):
        super().__init__()
        self.data, self.size, self.caption = data, size, caption
        self._lines: list[str] = []

    def wrap(self, avail_width, avail_height):
        if self.caption:
            self._lines = simpleSplit(self.caption, "Courier", 8, max(avail_width, self.size))
        self.width = max(self.size, avail_width if self._lines else self.size)
        self.height = self.size + 11 * len(self._lines) + (2 if self._lines else 0)
        return self.width, self.height

    def draw(self):
        # Encoding and drawing a QR code is slow (~0.2 s): each distinct code is drawn
        # once per document as a form XObject and reused (every ballot sheet of a
        # proposal carries the same one).
        canv = self.canv
        name = "qr" + hashlib.sha1(f"{self.size}|{self.data}".encode()).hexdigest()[:16]
        if not canv.hasForm(name):
            widget = QrCodeWidget(self.data, barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            drawing = Drawing(self.size, self.size, transform=[
                self.size / (x1 - x0), 0, 0, self.size / (y1 - y0), 0, 0])
            drawing.add(widget)
            canv.beginForm(name, lowerx=0, lowery=0, upperx=self.size, uppery=self.size)
            drawing.drawOn(canv, 0, 0)
            canv.endForm()
        offset = (self.width - self.size) / 2 if self._lines else 0
        canv.saveState()
        canv.translate(offset, self.height - self.size)
        canv.doForm(name)
        canv.restoreState()
        canv.setFont("Courier", 8)
        for i, line in enumerate(self._lines):
            canv.drawCentredString(self.width / 2, self.height - self.size - 10 - 11 * i, line)


class Document:
    """Build a PDF by adding blocks in order, then ``render()`` it to bytes."""

    def __init__(self, title: str, *, author: str = "", generated_at: datetime | None = None):
        self.title = title
        self.author = author
        self.generated_at = generated_at or utcnow()
        self._story: list[Flowable] = []

    # ---------------------------------------------------------------- blocks
    def heading(self, text: str, level: str = "heading") -> Document:
        self._story.append(Paragraph(_text(text), STYLES[level]))
        return self

    def title_block(self, text: str, subtitle: str | None = None) -> Document:
        self.heading(text, "title")
        if subtitle:
            self.heading(subtitle, "subtitle")
        return self

    def paragraph(self, text: str, style: str = "body") -> Document:
        self._story.append(Paragraph(_text(text), STYLES[style]))
        return self

    def spacer(self, height_mm: float = 4) -> Document:
        self._story.append(Spacer(1, height_mm * mm))
        return self

    def key_values(self, rows: Iterable[tuple[str, object]], *, key_width_mm: float = 38,
                   mono_keys: Sequence[str] = ()) -> Document:
        """Label/value rows, boxed; values named in ``mono_keys`` (hashes) in Courier."""
        data = [[Paragraph(_text(k), STYLES["cell"]),
                 Paragraph(_text(v), STYLES["mono" if k in mono_keys else "cell"])]
                for k, v in rows]
        if not data:
            return self
        table = Table(data, colWidths=[key_width_mm * mm, WIDTH - key_width_mm * mm])
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, GRID),
            ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]))
        self._story.append(table)
        self._story.append(Spacer(1, 3 * mm))
        return self

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]], *,
              widths_mm: Sequence[float] | None = None, align_right: Sequence[int] = (),
              wrap: bool = True) -> Document:
        """A table whose header row repeats at the top of every page it runs onto;
        columns listed in ``align_right`` (amounts) are right-aligned. ``wrap=False``
        sets cells as plain one-line text: much faster for long lists (rooms)."""
        right = ParagraphStyle("cell_right", parent=STYLES["cell"], alignment=2)

        def cell(i, value):
            if not wrap:
                return "" if value is None else str(value)
            return Paragraph(_text(value), right if i in align_right else STYLES["cell"])

        data = [[cell(-1, h) for h in header]]
        data += [[cell(i, v) for i, v in enumerate(row)] for row in rows]
        widths = [w * mm for w in widths_mm] if widths_mm else None
        table = Table(data, colWidths=widths, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.5, GRID),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("FONTSIZE", (0, 0), (-1, -1), 9.5),
        ]
        style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in align_right]
        table.setStyle(TableStyle(style))
        self._story.append(table)
        self._story.append(Spacer(1, 3 * mm))
        return self

    def boxes(self, labels: Sequence[str]) -> Document:
        """Empty tick boxes (drawn squares, not a glyph the reader's font may lack), one
        per label, in a row: the choices of a ballot sheet."""
        style = ParagraphStyle("box", parent=STYLES["body"], fontSize=13, leading=18)
        column = WIDTH / max(len(labels), 1)
        cells = []
        for label in labels:
            box = Table([["", Paragraph(_text(label), style)]],
                        colWidths=[7 * mm, column - 12 * mm], rowHeights=[7 * mm])
            box.setStyle(TableStyle([("BOX", (0, 0), (0, 0), 1, colors.black),
                                     ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                     ("LEFTPADDING", (1, 0), (1, 0), 3 * mm)]))
            cells.append(box)
        table = Table([cells], colWidths=[column] * len(cells))
        table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, GRID),
                                   ("INNERGRID", (0, 0), (-1, -1), 0.5, GRID),
                                   ("TOPPADDING", (0, 0), (-1, -1), 4 * mm),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm)]))
        self._story.append(table)
        self._story.append(Spacer(1, 3 * mm))
        return self

    def qr(self, data: str, *, size_mm: float = 32, caption: str | None = None) -> Document:
        self._story.append(_Qr(data, size_mm * mm, caption))
        return self

    def keep_together(self, build) -> Document:
        """Blocks added by ``build(doc)`` kept on one page."""
        start = len(self._story)
        build(self)
        block = self._story[start:]
        del self._story[start:]
        self._story.append(KeepTogether(block))
        return self

    def page_break(self) -> Document:
        self._story.append(PageBreak())
        return self

    # ---------------------------------------------------------------- output
    def render(self) -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                                topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
                                title=self.title, author=self.author, creator="物业服务",
                                invariant=0)
        note = "生成时间：" + local(self.generated_at).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"
        canvas_class = type("_Canvas", (_NumberedCanvas,), {"footer_note": note})
        story = list(self._story) or [Spacer(1, 1)]
        doc.build(story, canvasmaker=canvas_class)
        return buffer.getvalue()


def content_disposition(filename: str, ascii_name: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` (RFC 6266): ``ascii_name``
    for old clients, the real (Chinese) name for the rest."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                       for c in ascii_name) or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def file_response(data: bytes, mimetype: str, filename: str, ascii_name: str, *,
                  inline: bool = False) -> Response:
    """A generated document as a download: never cached, never sniffed."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, ascii_name,
                                                                  inline=inline)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Authorization")
    return response


def pdf_response(data: bytes, filename: str, ascii_name: str) -> Response:
    return file_response(data, PDF_MIMETYPE, filename, ascii_name)
