"""Write the demo policy attachments (PDF, DOCX, TXT) into portal/policies/demo_files/.

    .venv/bin/python scripts/make_demo_policy_files.py

The text comes from ``DEMO_ATTACHMENTS`` in portal/policies/demo_library.py. The files are
committed: the demo reads them and never generates anything at run time, so this script and
its tool (fpdf2, in requirements-test.txt) are needed only when the text changes.

PDF: fpdf2 embeds a subset of WenQuanYi Micro Hei (Debian's fonts-wqy-microhei) with a
ToUnicode map, so a reader such as pypdf gets the Chinese text back, traditional characters
included. DOCX: a minimal WordprocessingML package written with zipfile. TXT: GB18030 with
CRLF line ends, as Windows Notepad saves Chinese text ("ANSI"). Every output is reproducible:
fixed dates inside the PDF and the ZIP, so rerunning changes nothing unless the text did.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FIXED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
MAX_FILE_BYTES = 200 * 1024


def load_library():
    # Loaded from its file, not imported as portal.policies.demo_library: importing the
    # package would import the Flask application, which this script has no use for.
    path = ROOT / "portal" / "policies" / "demo_library.py"
    spec = importlib.util.spec_from_file_location("demo_library", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- PDF -------------------------------------------------------------------------------------


def make_pdf(source: dict) -> bytes:
    from fpdf import FPDF  # generation-only dependency

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_producer("make_demo_policy_files")
    pdf.set_title(source["title"])
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_font("wqy", fname=str(FONT), collection_font_number=0)
    pdf.add_page()
    pdf.set_font("wqy", size=16)
    pdf.multi_cell(0, 12, source["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("wqy", size=12)
    for paragraph in source["paragraphs"]:
        pdf.multi_cell(0, 8, paragraph, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        pdf.ln(2)
    return bytes(pdf.output())


# ---- DOCX ------------------------------------------------------------------------------------

W_MAIN = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def docx_paragraph(text: str, bold: bool = False, centered: bool = False) -> str:
    properties = '<w:pPr><w:jc w:val="center"/></w:pPr>' if centered else ""
    run_properties = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return (
        f'<w:p>{properties}<w:r>{run_properties}<w:t xml:space="preserve">{escape(text)}</w:t>'
        "</w:r></w:p>"
    )


def docx_table(rows: list[list[str]]) -> str:
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    body = "".join(
        "<w:tr>"
        + "".join(f"<w:tc>{docx_paragraph(cell, bold=number == 0)}</w:tc>" for cell in row)
        + "</w:tr>"
        for number, row in enumerate(rows)
    )
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>{borders}'
        f"</w:tblBorders></w:tblPr>{body}</w:tbl>"
    )


def make_docx(source: dict) -> bytes:
    parts = [docx_paragraph(source["title"], bold=True, centered=True)]
    parts += [docx_paragraph(paragraph) for paragraph in source["paragraphs"]]
    if source.get("table"):
        parts.append(docx_table(source["table"]))
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_MAIN}"><w:body>{"".join(parts)}'
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    )
    return zip_parts(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": PACKAGE_RELS,
            "word/document.xml": document,
        }
    )


def zip_parts(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


# ---- TXT -------------------------------------------------------------------------------------


def make_txt(source: dict) -> bytes:
    lines = [source["title"], "", *source["paragraphs"]]
    return "\r\n".join(lines).encode("gb18030") + b"\r\n"


# ---- main ------------------------------------------------------------------------------------

MAKERS = {".pdf": make_pdf, ".docx": make_docx, ".txt": make_txt}


def main() -> int:
    if not FONT.is_file():
        print(f"{FONT} is missing: apt-get install fonts-wqy-microhei", file=sys.stderr)
        return 1
    library = load_library()
    library.DEMO_FILES_DIR.mkdir(parents=True, exist_ok=True)
    for name, source in library.DEMO_ATTACHMENTS.items():
        data = MAKERS[Path(name).suffix](source)
        if len(data) > MAX_FILE_BYTES:
            print(f"{name}: {len(data)} bytes, over {MAX_FILE_BYTES}", file=sys.stderr)
            return 1
        (library.DEMO_FILES_DIR / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
