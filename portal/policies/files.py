"""Checks and text extraction for policy attachments (PDF, DOCX, TXT). Pure functions.

The type of an upload is read from its bytes; the file name only has to agree with it. A DOCX
is a ZIP archive, so it is measured from its central directory before a single byte is
inflated, and inflated only through a counting reader. XML is parsed with ``defusedxml``, which
refuses any DTD, so entity expansion and external entities never happen. Every failure of a
file (a checked rule, or a parser that chokes on it) leaves as ``UploadRejected``, whose
message the user reads.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from pypdf import PdfReader

from portal.validation import clean_name

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024

MAX_NAME_CHARS = 120
MAX_TEXT_CHARS = 500_000
MAX_PDF_PAGES = 500
UNWRAP_FILL = 0.8  # a PDF line this full, relative to the page's widest, was wrapped
SENTENCE_ENDS = "。！？；：.!?;:"

DOCX_MAX_ENTRIES = 1000
DOCX_MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
DOCX_MAX_RATIO = 100
# Small parts of ordinary documents (styles, settings) can compress beyond the ratio cap and
# are harmless; a bomb needs size, so the ratio is checked only for entries past this.
DOCX_RATIO_MIN_BYTES = 1024 * 1024
CONTENT_TYPES_MAX_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024

ACCEPTED = "只支持 PDF、DOCX、TXT 文件。"
MSG_EMPTY = "文件是空的，请选择有内容的文件。"
MSG_TOO_BIG = "文件太大（{size} MB），不能超过 {cap} MB。"
MSG_UNKNOWN = "无法识别文件的类型。" + ACCEPTED
MSG_CLAIMED_UNKNOWN = "文件名是 .{ext}，但内容不是{claimed}。" + ACCEPTED
MSG_CONTENT_IS = "文件内容是{label}。" + ACCEPTED
MSG_CLAIMED_CONTENT_IS = "文件名是 .{ext}，但内容实际是{label}。" + ACCEPTED
MSG_MISMATCH = (
    "文件名是 .{ext}，但内容实际是{label}。请核对文件，使用正确的扩展名（.{kind}）后再上传。"
)
MSG_LEGACY_OFFICE = (
    "这是旧版 Office 格式（如 .doc）的文件，暂不支持。请在 Word 中“另存为” .docx 格式后再上传。"
)
MSG_ENCRYPTED_OFFICE = "Word 文件设置了打开密码，无法读取。请去除密码并另存为 .docx 后再上传。"
MSG_MACRO = "含宏的 Word 文件（.docm）不能上传。请在 Word 中“另存为” .docx 格式后再上传。"
MSG_ENCRYPTED_PDF = "PDF 文件设置了密码或加密，无法读取其中的文字。请去除密码后再上传。"
MSG_CORRUPT = "文件已损坏，无法读取。请确认文件在电脑上能正常打开后再上传。"
MSG_DOCX_ENTRIES = "Word 文件内部的条目过多（超过 {cap} 个），可能是异常文件，无法处理。"
MSG_DOCX_TOO_LARGE = "Word 文件解压后过大（超过 {cap} MB），可能是异常文件，无法处理。"
MSG_DOCX_RATIO = "Word 文件的压缩比异常，可能是恶意构造的压缩包，无法处理。"
MSG_UNSAFE_XML = "Word 文件中含有不允许的 XML 声明（DTD 或实体），无法处理。"

KIND_LABELS = {
    "pdf": "PDF 文档",
    "docx": "Word 文档（DOCX）",
    "txt": "纯文本文件",
}
MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
DOCX_MAIN_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Binary formats people mistake for documents, named in the refusal instead of "unknown".
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"),
    (b"II*\x00", "TIFF 图片"),
    (b"MM\x00*", "TIFF 图片"),
    (b"\x7fELF", "可执行程序"),
    (b"Rar!\x1a\x07", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"{\\rtf", "RTF 文档"),
)
ZIP_KINDS = (
    ("OFD.xml", "OFD 版式文件"),
    ("xl/workbook.xml", "Excel 表格（XLSX）"),
    ("ppt/presentation.xml", "PowerPoint 演示文稿（PPTX）"),
)

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# An extension is a short run of ASCII letters and digits with a letter in it: "政策v2.1" or
# "通知（2024.3）" end in a version or a date, not a file type.
EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,6})$")
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
NEWLINES = re.compile(r"\r\n|[\r\f\v\x85\u2028\u2029]")
STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
BLANK_RUNS = re.compile(r"\n{3,}")


class UploadRejected(ValueError):  # noqa: N818 - the name callers already use
    """A file we refuse; ``message`` is the Simplified-Chinese sentence shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedUpload:
    kind: str  # "pdf" | "docx" | "txt"
    mimetype: str
    size: int
    sha256: str
    original_name: str


# ---- file names ------------------------------------------------------------------------------


def clean_filename(filename: str | None) -> str:
    """The user's file name for display and download: the last path part (either slash),
    NFC, without control or format characters (a right-to-left override can disguise
    ``exe.pdf``), trimmed, at most ``MAX_NAME_CHARS`` with the extension kept. May be ""."""
    name = clean_name(re.split(r"[\\/]", filename or "")[-1]).strip(".").strip()
    if len(name) <= MAX_NAME_CHARS:
        return name
    suffix = _name_suffix(name)
    return name[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix


def _name_suffix(name: str) -> str:
    match = EXTENSION.search(name)
    if match and re.search(r"[A-Za-z]", match.group(1)):
        return match.group(0)
    return ""


def _extension(name: str) -> str:
    return _name_suffix(name)[1:].lower()


# ---- the check -------------------------------------------------------------------------------


def check_upload(
    filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
) -> CheckedUpload:
    """Accept ``data`` as a PDF, DOCX or TXT attachment, or raise ``UploadRejected``."""
    if not data:
        raise UploadRejected(MSG_EMPTY)
    if len(data) > max_bytes:
        raise UploadRejected(MSG_TOO_BIG.format(size=_mb(len(data)), cap=_mb(max_bytes)))
    name = clean_filename(filename)
    claimed = _extension(name)
    kind = _detect_kind(data, claimed)
    if claimed and claimed != kind:
        label = _spaced(KIND_LABELS[kind])
        raise UploadRejected(MSG_MISMATCH.format(ext=claimed, label=label, kind=kind))
    if kind == "pdf":
        _open_pdf(data)
    return CheckedUpload(
        kind=kind,
        mimetype=served_mimetype(kind, data),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=_named(name, claimed, kind),
    )


def served_mimetype(kind: str, data: bytes) -> str:
    """The Content-Type to serve an accepted file with; a TXT keeps its own encoding, so a
    GB18030 file is announced as such rather than garbled as UTF-8."""
    if kind == "txt":
        return f"text/plain; charset={_decode_text(data)[1]}"
    return MIMETYPES[kind]


def _mb(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f}" if megabytes == int(megabytes) else f"{megabytes:.1f}"


def _named(name: str, claimed: str, kind: str) -> str:
    if not name:
        return f"未命名文件.{kind}"
    if not claimed:
        # "通知" would download as a file nothing opens; its type is known, so say it.
        return name[: MAX_NAME_CHARS - len(kind) - 1] + f".{kind}"
    return name


def _detect_kind(data: bytes, claimed: str) -> str:
    """The kind ("pdf", "docx", "txt") from the bytes alone; anything else is refused, naming
    what the content is when we can tell and the extension it pretended to be."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        raise UploadRejected(MSG_ENCRYPTED_OFFICE if _is_encrypted_ole(data) else MSG_LEGACY_OFFICE)
    if data.startswith(b"PK\x03\x04"):
        return _detect_zip(data, claimed)
    label = _binary_label(data)
    if label is None and _decode_text(data) is not None:
        return "txt"
    raise UploadRejected(_refusal(claimed, label))


def _refusal(claimed: str, label: str | None) -> str:
    claimed_label = KIND_LABELS.get(claimed)
    if label is None:
        if claimed_label:
            return MSG_CLAIMED_UNKNOWN.format(ext=claimed, claimed=_spaced(claimed_label))
        return MSG_UNKNOWN
    if claimed_label:
        return MSG_CLAIMED_CONTENT_IS.format(ext=claimed, label=_spaced(label))
    return MSG_CONTENT_IS.format(label=_spaced(label))


def _spaced(label: str) -> str:
    # Labels follow "是" in the sentences; one that starts in Latin letters gets a space.
    return f" {label}" if label[:1].isascii() else label


def _binary_label(data: bytes) -> str | None:
    for magic, label in SIGNATURES:
        if data.startswith(magic):
            return label
    # "MZ" or "BM" could begin a text file ("BMW 项目"); the binary headers have NUL bytes
    # right after them.
    for magic, label in ((b"MZ", "Windows 可执行程序"), (b"BM", "BMP 图片")):
        if data.startswith(magic) and b"\x00" in data[:64]:
            return label
    return None


def _is_encrypted_ole(data: bytes) -> bool:
    # A password-protected DOCX is an OLE container with this stream (its name in UTF-16).
    return "EncryptedPackage".encode("utf-16-le") in data


# ---- TXT -------------------------------------------------------------------------------------


def _decode_text(data: bytes) -> tuple[str, str] | None:
    """(text, charset) when ``data`` is text in an encoding we read, else None. UTF-8 is tried
    before GB18030 because valid UTF-8 Chinese is almost never valid GB18030 by accident, while
    the reverse is common."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = (("utf-16", "utf-16"),)
    else:
        candidates = (("utf-8-sig", "utf-8"), ("gb18030", "gb18030"))
    for codec, charset in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if TEXT_CONTROLS.search(text):
            return None
        return text.removeprefix("\ufeff"), charset
    return None


# ---- PDF -------------------------------------------------------------------------------------


def _open_pdf(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Many official PDFs are encrypted only to restrict printing or copying, with an empty
        # open password: those are read. One that needs a password to open is refused.
        if reader.is_encrypted and not _opens_without_password(reader):
            raise UploadRejected(MSG_ENCRYPTED_PDF)
        len(reader.pages)  # parses the page tree: a broken one fails here, not later
    except UploadRejected:
        raise
    except Exception as exc:
        # pypdf raises a zoo of types (its own, ValueError, KeyError, struct.error, …) on
        # malformed input; to the user they all mean one thing.
        raise UploadRejected(MSG_CORRUPT) from exc
    return reader


def _opens_without_password(reader: PdfReader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an unsupported cipher (AES without its library) counts as locked
        return False


def _pdf_text(data: bytes) -> str:
    reader = _open_pdf(data)
    parts: list[str] = []
    length = 0
    try:
        for number, page in enumerate(reader.pages):
            if number >= MAX_PDF_PAGES or length >= MAX_TEXT_CHARS:
                break
            text = _unwrap_lines(page.extract_text() or "")
            parts.append(text)
            length += len(text)
    except Exception as exc:
        raise UploadRejected(MSG_CORRUPT) from exc
    return "\n".join(parts)


def _unwrap_lines(page_text: str) -> str:
    """Rejoin the lines a PDF wrapped to fit the page. Chinese has no spaces, so a wrap inside
    "光伏" or "20万元" would split the very words people search for. A line that fills (almost)
    the page's widest line is taken to continue on the next, unless it ends a sentence (no word
    spans "。", so a break there costs nothing and keeps paragraphs apart). Lines with Chinese
    in them are joined without a space, other lines with one."""
    lines = page_text.split("\n")
    widest = max(_display_width(line) for line in lines)
    joined = [lines[0]]
    previous_width = _display_width(lines[0])
    for line in lines[1:]:
        last = joined[-1]
        if previous_width >= UNWRAP_FILL * widest and _joinable(last, line):
            joined[-1] = last + ("" if any(_is_wide(char) for char in last) else " ") + line
        else:
            joined.append(line)
        previous_width = _display_width(line)
    return "\n".join(joined)


def _joinable(line: str, following: str) -> bool:
    if not line.strip() or not following.strip() or line[-1].isspace():
        return False
    return line[-1] not in SENTENCE_ENDS


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _display_width(line: str) -> int:
    return sum(2 if _is_wide(char) else 1 for char in line)


# ---- DOCX ------------------------------------------------------------------------------------


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise UploadRejected(MSG_CORRUPT) from exc


def _detect_zip(data: bytes, claimed: str) -> str:
    archive = _open_zip(data)
    names = set(archive.namelist())
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        guard_archive(archive)
        main_type = _main_type(archive).lower()
        if "word/vbaProject.bin" in names or "macroenabled" in main_type:
            raise UploadRejected(MSG_MACRO)
        if "template" in main_type:
            raise UploadRejected(_refusal(claimed, "Word 模板（DOTX）"))
        if main_type != DOCX_MAIN_TYPE:
            raise UploadRejected(MSG_CORRUPT)  # Word itself will not open such a package
        return "docx"
    label = next((label for part, label in ZIP_KINDS if part in names), "ZIP 压缩包")
    raise UploadRejected(_refusal(claimed, label))


def guard_archive(archive: zipfile.ZipFile) -> None:
    """Refuse an archive whose central directory announces too much, before inflating any of it."""
    entries = archive.infolist()
    if len(entries) > DOCX_MAX_ENTRIES:
        raise UploadRejected(MSG_DOCX_ENTRIES.format(cap=DOCX_MAX_ENTRIES))
    if sum(entry.file_size for entry in entries) > DOCX_MAX_UNCOMPRESSED_BYTES:
        raise UploadRejected(MSG_DOCX_TOO_LARGE.format(cap=_mb(DOCX_MAX_UNCOMPRESSED_BYTES)))
    for entry in entries:
        if entry.flag_bits & 0x1 or entry.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise UploadRejected(MSG_CORRUPT)  # Word never encrypts entries or uses other codecs
        if _inflates_too_much(entry):
            raise UploadRejected(MSG_DOCX_RATIO)


def _inflates_too_much(entry: zipfile.ZipInfo) -> bool:
    if entry.file_size <= DOCX_RATIO_MIN_BYTES:
        return False
    return entry.file_size > DOCX_MAX_RATIO * max(entry.compress_size, 1)


def read_entry(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """An entry inflated in chunks, counting the bytes actually produced: the declared size is
    the archive's claim, and this stops one chunk past ``limit`` whatever it claimed."""
    chunks: list[bytes] = []
    produced = 0
    try:
        with archive.open(name) as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                produced += len(chunk)
                if produced > limit:
                    raise UploadRejected(MSG_DOCX_TOO_LARGE.format(cap=_mb(limit)))
                chunks.append(chunk)
    except UploadRejected:
        raise
    except Exception as exc:  # bad CRC, truncated deflate stream, missing entry …
        raise UploadRejected(MSG_CORRUPT) from exc
    return b"".join(chunks)


def _parse_xml(raw: bytes):
    try:
        return SafeET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise UploadRejected(MSG_UNSAFE_XML) from exc
    except Exception as exc:  # ParseError, and expat's own limits
        raise UploadRejected(MSG_CORRUPT) from exc


def _main_type(archive: zipfile.ZipFile) -> str:
    types = _parse_xml(read_entry(archive, "[Content_Types].xml", CONTENT_TYPES_MAX_BYTES))
    for override in types.iter(f"{CT_NS}Override"):
        if override.get("PartName", "").lower() == "/word/document.xml":
            return override.get("ContentType", "")
    return ""


def _docx_text(data: bytes) -> str:
    archive = _open_zip(data)
    guard_archive(archive)
    root = _parse_xml(read_entry(archive, "word/document.xml", DOCX_MAX_UNCOMPRESSED_BYTES))
    return "\n".join(_paragraph_text(p) for p in root.iter(f"{W_NS}p"))


def _paragraph_text(paragraph) -> str:
    """The runs of one w:p in order. A paragraph nested inside (a text box) is skipped here:
    ``iter`` reaches it as a paragraph of its own, on its own line."""
    parts: list[str] = []
    stack = list(reversed(paragraph))
    while stack:
        node = stack.pop()
        tag = node.tag
        if tag == f"{W_NS}p":
            continue
        if tag == f"{W_NS}t":
            parts.append(node.text or "")
        elif tag == f"{W_NS}tab":
            parts.append("\t")
        elif tag in (f"{W_NS}br", f"{W_NS}cr"):
            parts.append("\n")
        stack.extend(reversed(node))
    return "".join(parts)


# ---- text ------------------------------------------------------------------------------------


def extract_text(upload: CheckedUpload, data: bytes) -> str:
    """The searchable text of an accepted file, normalised; "" for a PDF of scanned images."""
    if upload.kind == "pdf":
        text = _pdf_text(data)
    elif upload.kind == "docx":
        text = _docx_text(data)
    elif upload.kind == "txt":
        decoded = _decode_text(data)
        if decoded is None:
            raise UploadRejected(MSG_CORRUPT)
        text = decoded[0]
    else:
        raise UploadRejected(MSG_UNKNOWN)
    return normalize_text(text)


def normalize_text(text: str) -> str:
    """NFC, one kind of newline, no NUL or stray control characters, no trailing spaces, at
    most one blank line in a row, at most ``MAX_TEXT_CHARS``."""
    text = NEWLINES.sub("\n", text)
    text = unicodedata.normalize("NFC", text)
    text = STRAY_CONTROLS.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = BLANK_RUNS.sub("\n\n", text).strip()
    return text[:MAX_TEXT_CHARS]
