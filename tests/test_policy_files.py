"""Policy attachment checks and text extraction (portal.policies.files), on real bytes made here:
DOCX packages written with zipfile, a zip bomb, PDFs from pypdf and fpdf2, text in several
encodings, and the committed demo attachments."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import unicodedata
import zipfile
from datetime import date

import pytest
from pypdf import PageObject, PdfReader, PdfWriter

from portal.policies import files
from portal.policies.demo_library import (
    DEMO_ATTACHMENTS,
    DEMO_POLICIES,
    attachment_path,
    attachment_text,
)
from portal.policies.files import CheckedUpload, UploadRejected, check_upload, extract_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_TYPE = "application/vnd.ms-word.document.macroEnabled.main+xml"
MB = 1024 * 1024


# ---- builders --------------------------------------------------------------------------------


def content_types(main_type: str = DOCX_TYPE) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main_type}"/></Types>'
    )


def document_xml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'  # noqa: E501


def para(*runs: str) -> str:
    return "<w:p>" + "".join(f"<w:r><w:t>{run}</w:t></w:r>" for run in runs) + "</w:p>"


def make_zip(parts: dict[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def make_docx(
    body: str = "", document: str | bytes | None = None, main_type: str = DOCX_TYPE, **extra
) -> bytes:
    parts = {
        "[Content_Types].xml": content_types(main_type),
        "word/document.xml": document if document is not None else document_xml(body),
    }
    parts.update(extra)
    return make_zip(parts)


def demo_bytes(name: str) -> bytes:
    return attachment_path(name).read_bytes()


def make_pdf(pages: list[str] | None = None, image: bool = False) -> bytes:
    """A PDF with a page of (ASCII) text per item, in a core font so that no font file is
    needed; Chinese PDFs are the committed demo files."""
    from fpdf import FPDF  # test and generation dependency (requirements-test.txt)

    pdf = FPDF()
    for text in pages or []:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    if image:
        from PIL import Image, ImageDraw

        picture = Image.new("RGB", (300, 120), "white")
        ImageDraw.Draw(picture).rectangle((20, 20, 280, 100), outline="black", width=4)
        pdf.add_page()
        pdf.image(picture, x=20, y=20, w=120)
    return bytes(pdf.output())


def rejection(filename: str, data: bytes, **kwargs) -> str:
    with pytest.raises(UploadRejected) as caught:
        check_upload(filename, data, **kwargs)
    return caught.value.message


def extraction_rejection(upload: CheckedUpload, data: bytes) -> str:
    with pytest.raises(UploadRejected) as caught:
        extract_text(upload, data)
    return caught.value.message


def docx_upload(data: bytes) -> CheckedUpload:
    """A CheckedUpload as check_upload would have made it, for extract_text on its own."""
    return CheckedUpload("docx", files.MIMETYPES["docx"], len(data), "0" * 64, "x.docx")


# ---- size ------------------------------------------------------------------------------------


def test_an_empty_file_is_refused():
    assert rejection("政策.txt", b"") == "文件是空的，请选择有内容的文件。"


def test_a_file_over_the_cap_is_refused_with_the_cap_in_mb():
    message = rejection("政策.txt", b"a" * (files.DEFAULT_MAX_UPLOAD_BYTES + 1))
    assert "不能超过 20 MB" in message
    assert "不能超过 2 MB" in rejection("政策.txt", b"a" * (2 * MB + 1), max_bytes=2 * MB)


def test_a_file_exactly_at_the_cap_is_accepted():
    upload = check_upload("政策.txt", b"a" * 1000, max_bytes=1000)
    assert upload.size == 1000


# ---- PDF -------------------------------------------------------------------------------------


def test_a_pdf_is_accepted_with_its_size_and_digest():
    data = demo_bytes("city-investment-rewards.pdf")
    upload = check_upload("奖励办法.pdf", data)
    assert upload == CheckedUpload(
        kind="pdf",
        mimetype="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name="奖励办法.pdf",
    )


@pytest.mark.parametrize("name", ["city-investment-rewards.pdf", "dean-lithium-incentives.pdf"])
def test_pdf_text_comes_back_line_for_line_with_wrapped_lines_rejoined(name):
    # The PDFs wrap paragraphs mid-word ("20萬元", "結合"); extraction must give the words back,
    # and keep the articles on their own lines (one of them ends nearly at the margin).
    data = demo_bytes(name)
    assert extract_text(check_upload(name, data), data) == attachment_text(name)


def test_traditional_text_is_extracted_from_a_pdf():
    data = demo_bytes("dean-lithium-incentives.pdf")
    text = extract_text(check_upload("細則.pdf", data), data)
    assert "鋰電新能源項目" in text
    assert "不低於每畝20萬元" in text


def _encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(["Confidential: photovoltaic"])))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert PdfReader(io.BytesIO(buffer.getvalue())).is_encrypted
    return buffer.getvalue()


def test_a_pdf_that_needs_a_password_to_open_is_refused():
    message = rejection("加密.pdf", _encrypted_pdf("open-secret"))
    assert message == "PDF 文件设置了密码或加密，无法读取其中的文字。请去除密码后再上传。"


def test_a_pdf_encrypted_only_against_copying_is_read():
    data = _encrypted_pdf("")
    assert "photovoltaic" in extract_text(check_upload("限制复制.pdf", data), data)


def test_a_pdf_of_images_only_is_accepted_with_no_text():
    data = make_pdf(image=True)
    upload = check_upload("扫描件.pdf", data)
    assert upload.kind == "pdf"
    assert extract_text(upload, data) == ""


def test_a_corrupt_pdf_is_refused_as_damaged():
    data = b"%PDF-1.7\n" + bytes(range(256)) * 40
    assert rejection("坏文件.pdf", data).startswith("文件已损坏，无法读取")


def test_a_parser_error_while_extracting_becomes_upload_rejected(monkeypatch):
    def explode(self, *args, **kwargs):
        raise KeyError("/Contents")

    data = make_pdf(["page one"])
    upload = check_upload("a.pdf", data)
    monkeypatch.setattr(PageObject, "extract_text", explode)
    assert extraction_rejection(upload, data).startswith("文件已损坏，无法读取")


def test_pdf_extraction_stops_at_the_page_cap(monkeypatch):
    monkeypatch.setattr(files, "MAX_PDF_PAGES", 2)
    data = make_pdf(["page one lithium", "page two photovoltaic", "page three textiles"])
    text = extract_text(check_upload("三页.pdf", data), data)
    assert "page two photovoltaic" in text
    assert "page three" not in text


def test_extracted_text_is_capped_in_length(monkeypatch):
    monkeypatch.setattr(files, "MAX_TEXT_CHARS", 50)
    data = ("光伏产业" * 100).encode()
    assert len(extract_text(check_upload("长.txt", data), data)) == 50


# ---- DOCX ------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_cells_come_out_in_order_one_per_line():
    data = demo_bytes("jkq-photovoltaic.docx")
    upload = check_upload("光伏.docx", data)
    assert upload.kind == "docx"
    assert upload.mimetype == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert extract_text(upload, data) == attachment_text("jkq-photovoltaic.docx")


def test_docx_runs_tabs_breaks_and_text_boxes():
    body = (
        para("第一条", "　光伏", "组件")
        + "<w:p><w:r><w:t>甲</w:t><w:tab/><w:t>乙</w:t><w:br/><w:t>丙</w:t></w:r></w:p>"
        + "<w:tbl><w:tr><w:tc>"
        + para("单元格一")
        + "</w:tc><w:tc>"
        + para("单元格二")
        + "</w:tc></w:tr></w:tbl>"
        # A text box: a paragraph inside a paragraph, which must not come out twice.
        + "<w:p><w:r><w:t>外层</w:t></w:r><w:r><w:txbxContent>"
        + para("文本框")
        + "</w:txbxContent></w:r></w:p>"
    )
    data = make_docx(body)
    text = extract_text(check_upload("a.docx", data), data)
    assert text == "第一条　光伏组件\n甲\t乙\n丙\n单元格一\n单元格二\n外层\n文本框"


def test_docx_bytes_named_pdf_are_refused_saying_what_they_are():
    message = rejection("政策.pdf", make_docx(para("正文")))
    assert message == (
        "文件名是 .pdf，但内容实际是 Word 文档（DOCX）。"
        "请核对文件，使用正确的扩展名（.docx）后再上传。"
    )


def test_a_macro_enabled_document_is_refused():
    expected = "含宏的 Word 文件（.docm）不能上传。请在 Word 中“另存为” .docx 格式后再上传。"
    assert rejection("宏.docm", make_docx(para("x"), main_type=DOCM_TYPE)) == expected
    with_vba = make_docx(para("x"), **{"word/vbaProject.bin": b"\x00VBA"})
    assert rejection("宏.docx", with_vba) == expected


def test_other_office_and_zip_files_are_refused_by_name():
    xlsx = make_zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
    assert (
        rejection("表.xlsx", xlsx) == "文件内容是 Excel 表格（XLSX）。只支持 PDF、DOCX、TXT 文件。"
    )
    plain = make_zip({"readme.txt": "hello"})
    assert rejection("政策.docx", plain) == (
        "文件名是 .docx，但内容实际是 ZIP 压缩包。只支持 PDF、DOCX、TXT 文件。"
    )


def test_a_zip_bomb_is_refused_by_its_ratio_before_anything_is_inflated(monkeypatch):
    # 37 MB of one repeated paragraph: within the 50 MB total, far beyond any real ratio.
    bomb = make_docx(document=document_xml(para("光伏" * 20) * 250_000).encode())
    assert len(bomb) < 1 * MB
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, name, *a, **k: opened.append(name) or real_open(self, name, *a, **k),
    )
    message = rejection("炸弹.docx", bomb)
    assert message == "Word 文件的压缩比异常，可能是恶意构造的压缩包，无法处理。"
    assert opened == []


def test_an_archive_declaring_more_than_the_total_cap_is_refused():
    # Four entries of 15 MB, each only ~50 times compressible (random bytes among zeros), so
    # only the total declared size gives them away.
    def entry() -> bytes:
        return b"".join(os.urandom(300) + bytes(15_000) for _ in range(1000))

    parts = {f"word/media/image{n}.bin": entry() for n in range(4)}
    data = make_docx(para("正文"), **parts)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert all(i.file_size < 100 * i.compress_size for i in archive.infolist())
    assert (
        rejection("大.docx", data)
        == "Word 文件解压后过大（超过 50 MB），可能是异常文件，无法处理。"
    )


def test_an_archive_with_too_many_entries_is_refused():
    parts = {f"word/media/p{n}.xml": "<x/>" for n in range(files.DOCX_MAX_ENTRIES)}
    message = rejection("多.docx", make_docx(para("正文"), **parts))
    assert message == "Word 文件内部的条目过多（超过 1000 个），可能是异常文件，无法处理。"


def test_a_lying_declared_size_never_inflates_past_it():
    # The central directory says 1,000 bytes; the deflate stream holds 10 MB.
    data = bytearray(make_docx(document=b"<" + b"0" * 10_000_000))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    entry = archive.getinfo("word/document.xml")
    central = next(
        m.start()
        for m in re.finditer(rb"PK\x01\x02", data)
        if data[m.start() + 46 : m.start() + 46 + 17] == b"word/document.xml"
    )
    struct.pack_into("<I", data, central + 24, 1000)
    struct.pack_into("<I", data, entry.header_offset + 22, 1000)
    lying = bytes(data)
    upload = check_upload("谎报.docx", lying)
    assert extraction_rejection(upload, lying).startswith("文件已损坏，无法读取")


def test_inflating_counts_real_bytes_and_stops_one_chunk_past_the_limit(monkeypatch):
    archive = zipfile.ZipFile(io.BytesIO(make_zip({"big.xml": b"0" * (8 * MB)})))
    produced = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        stream = real_open(self, name, *args, **kwargs)
        real_read = stream.read

        def read(size=-1):
            chunk = real_read(size)
            produced.append(len(chunk))
            return chunk

        stream.read = read
        return stream

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    with pytest.raises(UploadRejected) as caught:
        files.read_entry(archive, "big.xml", 1 * MB)
    assert "超过 1 MB" in caught.value.message
    assert sum(produced) <= 1 * MB + files.READ_CHUNK_BYTES


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + f']><w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
    + "</w:body></w:document>"
)
UNSAFE_XML = "Word 文件中含有不允许的 XML 声明（DTD 或实体），无法处理。"


def test_a_billion_laughs_document_is_refused_before_any_expansion():
    data = make_docx(document=BILLION_LAUGHS)
    upload = check_upload("笑.docx", data)
    assert extraction_rejection(upload, data) == UNSAFE_XML


def test_any_dtd_is_refused_even_a_harmless_one_or_an_external_entity():
    harmless = (
        f'<!DOCTYPE d [<!ENTITY e "光伏">]><w:document xmlns:w="{W}"><w:body>'
        "<w:p><w:r><w:t>&e;</w:t></w:r></w:p></w:body></w:document>"
    )
    external = (
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]><w:document xmlns:w="{W}">'
        "<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    for document in (harmless, external):
        data = make_docx(document=document)
        assert extraction_rejection(docx_upload(data), data) == UNSAFE_XML


def test_a_dtd_in_the_content_types_is_refused_at_upload():
    data = make_zip(
        {
            "[Content_Types].xml": BILLION_LAUGHS.replace("w:document", "Types"),
            "word/document.xml": document_xml(para("x")),
        }
    )
    assert rejection("笑.docx", data) == UNSAFE_XML


def test_damaged_docx_files_are_refused_as_damaged():
    broken_xml = make_docx(document="<w:document><w:body><w:p>")
    assert extraction_rejection(docx_upload(broken_xml), broken_xml).startswith("文件已损坏")
    whole = make_docx(para("正文"))
    assert rejection("截断.docx", whole[: len(whole) // 2]).startswith("文件已损坏")
    bzip2 = make_zip(
        {"[Content_Types].xml": content_types(), "word/document.xml": document_xml("")},
        compression=zipfile.ZIP_BZIP2,
    )
    assert rejection("压缩.docx", bzip2).startswith("文件已损坏")


# ---- other types -----------------------------------------------------------------------------


def test_a_legacy_doc_gets_its_own_message():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"WordDocument".ljust(512, b"\x00")
    message = rejection("旧通知.doc", ole)
    assert message == (
        "这是旧版 Office 格式（如 .doc）的文件，暂不支持。请在 Word 中“另存为” .docx 格式后再上传。"
    )


def test_a_password_protected_word_file_says_so():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le")
    assert "设置了打开密码" in rejection("加密.docx", ole)


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "Windows 可执行程序"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG 图片"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "JPEG 图片"),
    ],
)
def test_a_binary_renamed_pdf_is_refused_saying_what_it_is(data, label):
    message = rejection("政策.pdf", data)
    assert message == f"文件名是 .pdf，但内容实际是 {label}。只支持 PDF、DOCX、TXT 文件。"


def test_unrecognised_bytes_are_refused_naming_what_is_accepted():
    noise = bytes([0x80, 0x00, 0x81, 0xFF] * 50)
    assert rejection("数据.bin", noise) == "无法识别文件的类型。只支持 PDF、DOCX、TXT 文件。"
    assert rejection("数据.txt", noise) == (
        "文件名是 .txt，但内容不是纯文本文件。只支持 PDF、DOCX、TXT 文件。"
    )


def test_text_named_pdf_is_refused_as_a_mismatch():
    message = rejection("政策.pdf", "关于光伏产业的通知".encode())
    assert message == (
        "文件名是 .pdf，但内容实际是纯文本文件。请核对文件，使用正确的扩展名（.txt）后再上传。"
    )


# ---- TXT -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "charset"),
    [
        ("招商引资：光伏、锂电\n".encode(), "utf-8"),
        ("\ufeff招商引资：光伏、锂电\n".encode(), "utf-8"),
        ("招商引资：光伏、锂电\n".encode("gb18030"), "gb18030"),
        ("招商引資：光伏、鋰電\n".encode("gb18030"), "gb18030"),
        ("\ufeff招商引资：光伏、锂电\n".encode("utf-16-le"), "utf-16"),
    ],
)
def test_text_in_utf8_with_or_without_bom_gb18030_or_utf16_is_read(encoded, charset):
    upload = check_upload("通知.txt", encoded)
    assert upload.kind == "txt"
    assert upload.mimetype == f"text/plain; charset={charset}"
    text = extract_text(upload, encoded)
    assert text in ("招商引资：光伏、锂电", "招商引資：光伏、鋰電")


def test_gb18030_text_is_not_mistaken_for_utf8():
    encoded = "鄱阳湖沿岸现代农业项目".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        encoded.decode("utf-8")
    assert extract_text(check_upload("a.txt", encoded), encoded) == "鄱阳湖沿岸现代农业项目"


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x1b", b"\x7f"])
def test_text_with_nul_or_binary_control_characters_is_not_text(control):
    message = rejection("通知.txt", "招商".encode() + control + "引资".encode())
    assert "内容不是纯文本文件" in message


def test_text_is_normalised():
    raw = "第一条\r\n\r\n\r\n\r\n第二条  \r第三条\n\n\n\n\ne\u0301\u3000\f第四条\n".encode()
    text = extract_text(check_upload("a.txt", raw), raw)
    assert text == "第一条\n\n第二条\n第三条\n\n\u00e9\n第四条"
    assert unicodedata.is_normalized("NFC", text)


def test_normalize_text_drops_nul_and_stray_controls():
    assert files.normalize_text("光\x00伏\x07\ufeff 锂电") == "光伏 锂电"


def test_docx_text_is_nfc():
    data = make_docx(para("Cafe\u0301 项目"))
    assert extract_text(check_upload("a.docx", data), data) == "Caf\u00e9 项目"


# ---- file names ------------------------------------------------------------------------------

TEXT = "光伏".encode()


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("..\\..\\政策.txt", "政策.txt"),
        ("/etc/../政策.txt", "政策.txt"),
        ("C:\\Users\\王\\Desktop\\关于光伏的通知.TXT", "关于光伏的通知.TXT"),
        ("政\x00策\n\t.txt", "政策.txt"),
        ("政策\u202etxt.exe.txt", "政策txt.exe.txt"),
        ("  政策.txt  ", "政策.txt"),
        ("", "未命名文件.txt"),
        ("../", "未命名文件.txt"),
        ("..", "未命名文件.txt"),
        ("通知", "通知.txt"),
        ("通知（2024.3）", "通知（2024.3）.txt"),
        ("政策v2.1", "政策v2.1.txt"),
    ],
)
def test_the_original_name_is_cleaned(given, cleaned):
    assert check_upload(given, TEXT).original_name == cleaned


def test_a_decomposed_name_is_composed():
    assert check_upload("Cafe\u0301.txt", TEXT).original_name == "Caf\u00e9.txt"


def test_a_long_name_is_capped_keeping_its_extension():
    name = check_upload("很" * 500 + ".txt", TEXT).original_name
    assert len(name) == files.MAX_NAME_CHARS
    assert name.endswith("很.txt")


def test_an_unknown_extension_is_a_mismatch():
    message = rejection("政策.exe", TEXT)
    assert message.startswith("文件名是 .exe，但内容实际是纯文本文件。")


# ---- the demo library ------------------------------------------------------------------------

DEMO_TENANT_CODES = {
    "city",
    "shangwu",
    "fagai",
    "dean",
    "yongxiu",
    "duchang",
    "hukou",
    "pengze",
    "wuning",
    "lianxi",
    "jkq",
    "dean-park",
    "kaohe",
}


def test_demo_tenant_codes_match_the_demo_city():
    from portal.demo import DEMO_TENANTS

    assert {code for code, *_ in DEMO_TENANTS} == DEMO_TENANT_CODES


def test_demo_policies_are_complete_and_consistent():
    assert 12 <= len(DEMO_POLICIES) <= 18
    assert len({p["key"] for p in DEMO_POLICIES}) == len(DEMO_POLICIES)
    assert len({p["title"] for p in DEMO_POLICIES}) == len(DEMO_POLICIES)
    categories = {"产业扶持", "招商引资", "土地要素", "人才政策", "财税金融", "营商环境"}
    assert {p["category"] for p in DEMO_POLICIES} == categories
    end_of_2026 = date(2026, 12, 1)
    for policy in DEMO_POLICIES:
        assert 150 <= len(policy["body"]) <= 600, policy["key"]
        assert policy["doc_number"] == "" or re.fullmatch(
            r"\w+〔20\d\d〕\d+[号號]", policy["doc_number"]
        )
        assert policy["scope_tenant_code"] in DEMO_TENANT_CODES | {None}
        assert policy["publisher_tenant_code"] in DEMO_TENANT_CODES
        assert policy["effective"] is None or policy["effective"] >= policy["issued"]
        expires = policy["expires"]
        if policy["validity"] == "valid":
            assert expires is None or expires > end_of_2026, policy["key"]
        elif policy["validity"] == "expired":
            assert expires is not None and expires < end_of_2026, policy["key"]
        else:
            assert policy["validity"] == "repealed"
    assert any(p["doc_number"] == "" for p in DEMO_POLICIES)
    assert {p["validity"] for p in DEMO_POLICIES} == {"valid", "expired", "repealed"}


def test_about_a_third_of_the_demo_policies_are_in_traditional_script():
    import opencc

    to_simplified = opencc.OpenCC("t2s")
    traditional = [p for p in DEMO_POLICIES if to_simplified.convert(p["body"]) != p["body"]]
    assert {p["key"] for p in traditional} == {
        p["key"] for p in DEMO_POLICIES if p["script"] == "traditional"
    }
    assert 0.25 <= len(traditional) / len(DEMO_POLICIES) <= 0.4


def test_the_demo_library_mentions_what_search_will_look_for():
    text = "\n".join(p["title"] + p["body"] for p in DEMO_POLICIES)
    for term in ("光伏", "锂电", "鋰電", "新材料", "电子信息", "纺织服装", "紡織服裝", "现代农业"):
        assert term in text, term
    for term in ("5亿元", "5億元", "3000万元", "亩", "畝"):
        assert term in text, term


def test_every_demo_attachment_is_committed_small_accepted_and_adds_text():
    attached = [p for p in DEMO_POLICIES if p["attachment"]]
    assert {p["attachment"] for p in attached} == set(DEMO_ATTACHMENTS)
    assert {p["attachment"].rsplit(".", 1)[1] for p in attached} == {"pdf", "docx", "txt"}
    for policy in attached:
        data = demo_bytes(policy["attachment"])
        assert len(data) < 200 * 1024
        upload = check_upload(policy["attachment_name"], data)
        assert upload.original_name == policy["attachment_name"]
        text = extract_text(upload, data)
        lines = [line for line in text.split("\n") if line]
        assert lines == attachment_text(policy["attachment"]).split("\n")
        beyond_body = [line for line in lines if line not in policy["body"]]
        assert any(line.startswith(("第一条", "第一條")) for line in beyond_body)


def test_the_demo_txt_is_gb18030_with_windows_line_ends():
    data = demo_bytes("city-talent-rules.txt")
    assert b"\r\n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert check_upload("细则.txt", data).mimetype == "text/plain; charset=gb18030"
