"""PDF from a Graphviz SVG, in pure Python: svglib reads the SVG, reportlab writes the PDF.

In: SVG bytes from a Graphviz engine (graphviz-pure writes no PDF itself). Out: PDF bytes.
Raises `RenderError`: E602 when svglib is not installed (``pip install 'causal-dsl[pdf]'``),
E603 when it cannot read the SVG.

Why svglib + reportlab rather than CairoSVG: both install from wheels on every platform with
no system library (CairoSVG needs libcairo, which pip cannot install and Windows and macOS
lack by default), and Graphviz's SVG asks for Helvetica, one of PDF's 14 standard fonts, so
the PDF uses the very metrics the layout was measured with and embeds no font file. The cost:
characters outside Latin-1/Windows-1252 in names or labels have no glyph in those fonts.
"""

from __future__ import annotations

import io
import logging

from ..errors import Diagnostic, RenderError


def svg_to_pdf(svg: bytes) -> bytes:
    """Convert an engine's SVG to a one-page PDF of the same size (points)."""
    try:
        from reportlab.graphics import renderPDF
        from svglib.svglib import svg2rlg
    except ImportError:
        raise RenderError(Diagnostic(
            "E602", "PDF output needs svglib and reportlab, which are not installed",
            help="pip install 'causal-dsl[pdf]' (or: pip install svglib); or write .svg")) from None
    # svglib logs every SVG attribute it does not use (Graphviz's <title>, ids) as a warning.
    quiet = logging.getLogger("svglib.svglib")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        drawing = svg2rlg(io.BytesIO(svg))
    except Exception as error:  # svglib raises lxml's and its own errors alike
        raise RenderError(Diagnostic("E603", f"cannot convert the SVG to PDF: {error}",
                                     help="write .svg instead, or try another --engine")) from None
    finally:
        quiet.setLevel(level)
    if drawing is None:
        raise RenderError(Diagnostic("E603", "cannot convert the SVG to PDF: svglib read nothing",
                                     help="write .svg instead, or try another --engine"))
    out = io.BytesIO()
    renderPDF.drawToFile(drawing, out)
    return out.getvalue()
