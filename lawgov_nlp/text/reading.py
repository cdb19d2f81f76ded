"""Read a report from any file an office has: .txt (any Chinese encoding), .html, .docx, .pdf.

:func:`read_file` returns a :class:`Document`: the report's text (the
original characters; for HTML/DOCX/PDF the extracted text), what encoding and
format it came in, its script, and the spans of page chrome and garbled
characters that were found. Sentences are produced on demand with the
project's segmenter, chrome left out as gaps.

Bad input raises :class:`~lawgov_nlp.errors.ReadError` naming the file and the
problem; garbled text never raises, it is reported in ``Document.suspicious``.
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import ReadError
from .segment import Section, Segmentation, Sentence, segment_document
from .chars import Span, detect_script, find_chrome, find_mojibake, to_simplified

TEXT_SUFFIXES = {".txt", ".text", ".md", ".csv", ""}
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml", ".mht"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES - {"", ".csv"} | HTML_SUFFIXES | {".docx", ".pdf"}
DEFAULT_MAX_BYTES = int(os.environ.get("LAWGOV_MAX_BYTES", 20_000_000))


@dataclass
class Document:
    """A report as read: text, provenance, and flagged spans."""

    text: str
    path: str | None = None
    format: str = "text"
    encoding: str | None = None
    script: str = "simplified"
    chrome: list[Span] = field(default_factory=list)
    suspicious: list[Span] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return Path(self.path).stem if self.path else "document"

    @cached_property
    def segmentation(self) -> Segmentation:
        return segment_document(self.text, skip=[(c.start, c.end) for c in self.chrome])

    @property
    def sentences(self) -> list[Sentence]:
        return self.segmentation.sentences

    @property
    def headings(self) -> list[Section]:
        return self.segmentation.headings

    def simplified_text(self) -> str:
        """A simplified-script copy for models; ``text`` itself stays as read."""
        return to_simplified(self.text)

    def info(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "script": self.script,
            "chars": len(self.text),
            "sentences": len(self.sentences),
            "headings": len(self.headings),
            "chrome_lines": len(self.chrome),
            "suspicious_spans": [s.to_dict() for s in self.suspicious],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- encodings
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    confidence: float
    replaced: int = 0


def _common_chars() -> frozenset[str]:
    """Frequently used Chinese characters in either script: GB2312 level 1 and Big5 level 1."""
    global _COMMON
    if _COMMON is None:
        chars = set()
        for hi in range(0xB0, 0xD8):
            for lo in range(0xA1, 0xFF):
                try:
                    chars.add(bytes([hi, lo]).decode("gb2312"))
                except UnicodeDecodeError:
                    pass
        for hi in range(0xA4, 0xC7):
            for lo in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
                try:
                    chars.add(bytes([hi, lo]).decode("big5"))
                except UnicodeDecodeError:
                    pass
        _COMMON = frozenset(chars)
    return _COMMON


_COMMON: frozenset[str] | None = None


def _plausibility(text: str) -> float:
    """Share of Chinese characters that are common ones; wrong decodings score low."""
    common = _common_chars()
    cjk = _CJK.findall(text[:50_000])
    if not cjk:
        return 0.0
    return sum(c in common for c in cjk) / len(cjk)


def _looks_utf16(data: bytes) -> str | None:
    head = data[:4096]
    if len(head) < 4:
        return None
    even_nul = head[0::2].count(0)
    odd_nul = head[1::2].count(0)
    half = len(head) / 2
    # Chinese UTF-16 has few NULs; ASCII-heavy UTF-16 has many on one side. Try both orders and score.
    if max(even_nul, odd_nul) < half * 0.05:
        cands = ["utf-16-le", "utf-16-be"]
    elif odd_nul > even_nul:
        cands = ["utf-16-le"]
    else:
        cands = ["utf-16-be"]
    best = None
    for enc in cands:
        try:
            t = data[: len(data) - len(data) % 2].decode(enc)
        except UnicodeDecodeError:
            continue
        score = _plausibility(t)
        if score > 0.8 and (best is None or score > best[1]):
            best = (enc, score)
    return best[0] if best else None


def is_binary(data: bytes) -> bool:
    """True for data that is not text in any supported encoding (images, archives, executables)."""
    head = data[:8192]
    if not head:
        return False
    if head.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF", b"\xd0\xcf\x11\xe0")):
        return True
    if any(head.startswith(b) for b, _ in _BOMS):
        return False
    if b"\x00" in head:
        return _looks_utf16(data) is None
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl > len(head) * 0.1


def decode_bytes(data: bytes, encoding: str | None = None, path: str | None = None) -> Decoded:
    """Decode report bytes, detecting the encoding: BOM, UTF-8, UTF-16, GB18030, Big5.

    Detection is by trial and plausibility (share of common Chinese characters),
    with charset-normalizer as the fallback for anything else.
    """
    where = path or "<bytes>"
    if encoding:
        try:
            return Decoded(data.decode(encoding), encoding, 1.0)
        except (LookupError, UnicodeDecodeError) as e:
            raise ReadError(where, f"cannot decode as {encoding}: {e}") from e
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom):].decode(enc.replace("-sig", "")), enc, 1.0)
            except UnicodeDecodeError:
                t = data[len(bom):].decode(enc.replace("-sig", ""), errors="replace")
                return Decoded(t, enc, 0.5, t.count("\ufffd"))
    try:
        return Decoded(data.decode("utf-8"), "utf-8", 1.0)
    except UnicodeDecodeError as e:
        utf8_err = e
    if b"\x00" in data[:4096]:
        enc = _looks_utf16(data)
        if enc:
            return Decoded(data[: len(data) - len(data) % 2].decode(enc), enc, 0.9)
    scored: list[tuple[float, int, str, str]] = []
    for enc in ("gb18030", "big5hkscs", "big5"):
        try:
            t = data.decode(enc)
            scored.append((_plausibility(t), 0, enc, t))
        except UnicodeDecodeError:
            t = data.decode(enc, errors="replace")
            bad = t.count("\ufffd")
            # a few broken bytes (a truncated file, a stray byte) are tolerated, many are not
            if bad <= max(8, len(t) // 200):
                scored.append((_plausibility(t) - 0.01 * bad, bad, enc, t))
    # mostly-valid UTF-8 with a few broken sequences
    t8 = data.decode("utf-8", errors="replace")
    bad8 = t8.count("\ufffd")
    if bad8 <= max(8, len(t8) // 200):
        scored.append((_plausibility(t8) - 0.01 * bad8 + 0.05, bad8, "utf-8", t8))
    if scored:
        scored.sort(key=lambda x: (-x[0], x[1]))
        score, bad, enc, t = scored[0]
        if score > 0.5 or not _CJK.search(t):
            name = "big5" if enc == "big5hkscs" else enc
            return Decoded(t, name, round(max(0.0, min(1.0, score)), 3), bad)
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # noqa: BLE001 - detector failure falls through to the error below
        best = None
    if best is not None:
        t = str(best)
        return Decoded(t, best.encoding, round(1.0 - float(best.chaos), 3), t.count("\ufffd"))
    raise ReadError(where, f"cannot detect the text encoding (not UTF-8: {utf8_err.reason} at byte {utf8_err.start}); "
                           "pass encoding=... / --encoding")


# --------------------------------------------------------------------------- formats
def read_text(text: str, path: str | None = None, *, format: str = "text", encoding: str | None = None,
              strip_chrome: bool = True) -> Document:
    """Build a :class:`Document` from already-decoded text (page chrome and mojibake detected)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ReadError(path, "no text in the document (it is empty or only white space)")
    chrome = find_chrome(text) if strip_chrome else []
    doc = Document(text=text, path=path, format=format, encoding=encoding, script=detect_script(text),
                   chrome=chrome, suspicious=find_mojibake(text))
    if doc.suspicious:
        doc.warnings.append(f"{len(doc.suspicious)} span(s) of garbled characters (mojibake); see Document.suspicious")
    if chrome:
        doc.warnings.append(f"{len(chrome)} line(s) of page chrome left out of the sentences")
    if not any(True for _ in doc.sentences):
        raise ReadError(path, "no report text left after removing page chrome")
    return doc


def read_bytes(data: bytes, path: str | None = None, *, format: str | None = None,
               encoding: str | None = None) -> Document:
    """Read a report from bytes; ``format`` is one of text, html, docx, pdf (guessed if None)."""
    where = path or "<bytes>"
    if not data:
        raise ReadError(where, "the file is empty (0 bytes)")
    fmt = format or _sniff_format(data, path)
    if fmt == "docx":
        return read_text(_docx_text(data, where), path, format="docx")
    if fmt == "pdf":
        return read_text(_pdf_text(data, where), path, format="pdf")
    if fmt == "doc":
        raise ReadError(where, "old binary Word (.doc) is not supported; save it as .docx or .txt and try again")
    if is_binary(data):
        raise ReadError(where, "binary data, not a text report (supported: .txt .html .docx .pdf)")
    dec = decode_bytes(data, encoding, path)
    if fmt == "html":
        return read_text(html_to_text(dec.text), path, format="html", encoding=dec.encoding)
    doc = read_text(dec.text, path, format="text", encoding=dec.encoding)
    if dec.replaced:
        doc.warnings.append(f"{dec.replaced} undecodable byte sequence(s) replaced by U+FFFD")
    return doc


def read_file(path: str | os.PathLike, *, encoding: str | None = None,
              max_bytes: int | None = None) -> Document:
    """Read one report file of any supported format (see module docstring)."""
    p = Path(path)
    where = str(p)
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ReadError(where, "no such file") from None
    except OSError as e:
        raise ReadError(where, f"cannot access the file ({e.strerror or e})") from e
    if p.is_dir():
        raise ReadError(where, "is a folder, not a file")
    if st.st_size > limit:
        raise ReadError(where, f"file is {st.st_size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit for one report; "
                               "split it, or raise the limit (max_bytes= / --max-mb / LAWGOV_MAX_BYTES)")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ReadError(where, f"cannot read the file ({e.strerror or e})") from e
    return read_bytes(data, where, format=_format_from_suffix(p.suffix.lower()), encoding=encoding)


def _format_from_suffix(suffix: str) -> str | None:
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in (".docx", ".pdf", ".doc"):
        return suffix[1:]
    if suffix in TEXT_SUFFIXES:
        return None  # sniff: a .txt may hold a saved HTML page
    return None


def _sniff_format(data: bytes, path: str | None) -> str:
    head = data[:2048]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and b"word/" in data[:65536]:
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    low = head.lower()
    if any(tag in low for tag in (b"<!doctype html", b"<html", b"<body", b"<head")):
        return "html"
    return "text"


# --------------------------------------------------------------------------- HTML
_DROP_TAGS = ["script", "style", "noscript", "iframe", "nav", "header", "footer", "form", "select", "button",
              "input", "aside", "object", "embed", "svg", "canvas", "template", "link", "meta"]
_CHROME_ATTR = re.compile(
    r"nav|menu|breadcrumb|crumb|footer|foot|bottom|header|head|top|banner|share|print|toolbar|tool|sidebar|"
    r"side|copyright|search|position|location|weizhi|dqwz|subnav|login|links|friend|qrcode|ewm|fontsize|"
    r"zoomsize|relate|next|prev",
    re.I)
_CONTENT_ATTR = re.compile(r"content|article|zoom|trs_?editor|main|detail|txt|text|body|con\b|wz|zw|news_?con", re.I)
_BLOCK_TAGS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "section", "article",
               "blockquote", "pre", "dd", "dt", "ul", "ol", "center", "td", "th"}


def html_to_text(html: str) -> str:
    """Main text of a government web page: chrome removed, entities decoded, one paragraph a line."""
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "lxml")
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    title = ""
    h = soup.find(["h1", "h2"])
    if h is not None:
        title = h.get_text(" ", strip=True)
    # remove containers whose id/class says they are chrome (but never a container holding most of the text)
    body = soup.body or soup
    total = len(_CJK.findall(body.get_text()))
    for tag in list(body.find_all(True)):
        if getattr(tag, "decomposed", False):
            continue
        attrs = " ".join([tag.get("id") or "", " ".join(tag.get("class") or [])])
        if attrs.strip() and _CHROME_ATTR.search(attrs) and not _CONTENT_ATTR.search(attrs):
            inner = len(_CJK.findall(tag.get_text()))
            if inner < 0.3 * max(total, 1):
                tag.decompose()
    main = _main_container(body)
    text = _block_text(main)
    if title and title not in text[: len(title) + 200]:
        text = title + "\n" + text
    return text


def _main_container(body):
    """The element holding the article: the densest block of Chinese prose."""
    best, best_score = body, 0.0
    total = len(_CJK.findall(body.get_text()))
    if total == 0:
        return body
    for tag in body.find_all(["div", "td", "article", "section", "main"]):
        n = len(_CJK.findall(tag.get_text()))
        if n < 0.5 * total:
            continue
        attrs = " ".join([tag.get("id") or "", " ".join(tag.get("class") or [])])
        bonus = 1.2 if _CONTENT_ATTR.search(attrs) else 1.0
        links = sum(len(_CJK.findall(a.get_text())) for a in tag.find_all("a"))
        # prefer the smallest element that still holds most of the prose and few link words
        score = bonus * (n - 2 * links) / (1 + 0.1 * len(tag.find_all(True)) ** 0.5)
        if score > best_score:
            best, best_score = tag, score
    return best


def _block_text(node) -> str:
    from bs4 import NavigableString, Tag

    parts: list[str] = []

    def walk(n) -> None:
        for child in n.children:
            if isinstance(child, NavigableString):
                parts.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name == "br":
                    parts.append("\n")
                    continue
                block = name in _BLOCK_TAGS
                if block:
                    parts.append("\n")
                walk(child)
                if block:
                    parts.append("\n")
                elif name in ("td", "th"):
                    parts.append("\t")

    walk(node)
    raw = "".join(parts).replace("\u00a0", " ").replace("\u3000", " ")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in raw.split("\n")]
    return "\n".join(ln for ln in lines if ln)


# --------------------------------------------------------------------------- DOCX / PDF
def _docx_text(data: bytes, where: str) -> str:
    import io

    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as e:  # pragma: no cover - dependency is declared
        raise ReadError(where, f"python-docx is needed to read .docx ({e})") from e
    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad file
        raise ReadError(where, f"not a readable .docx file ({type(e).__name__}: {e})") from e
    lines: list[str] = []
    for child in d.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, d).text)
        elif tag == "tbl":
            for row in Table(child, d).rows:
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # merged cells repeat
                        continue
                    seen.add(id(cell._tc))
                    lines.extend(p.text for p in cell.paragraphs)
    return "\n".join(ln for ln in lines if ln.strip())


_PDF_END = re.compile(r"[。！？；：:;!?…”\"）)]$")


def _pdf_text(data: bytes, where: str) -> str:
    import io

    try:
        import pdfplumber
    except ImportError as e:  # pragma: no cover
        raise ReadError(where, f"pdfplumber is needed to read .pdf ({e})") from e
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [(page.extract_text() or "") for page in pdf.pages]
    except Exception as e:  # noqa: BLE001
        raise ReadError(where, f"not a readable PDF ({type(e).__name__}: {e})") from e
    if not any(p.strip() for p in pages):
        raise ReadError(where, f"the PDF has no text layer ({len(pages)} page(s) of images, probably scanned); "
                               "run OCR first (e.g. ocrmypdf --language chi_sim) and read the result")
    return reflow_pdf_lines("\n".join(pages))


def reflow_pdf_lines(text: str) -> str:
    """Join PDF layout lines that break a paragraph mid-sentence."""
    from .segment import heading_level

    lines = [ln.strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return ""
    lengths = sorted(len(ln) for ln in lines)
    full = lengths[int(len(lengths) * 0.75)]
    out: list[str] = []
    for ln in lines:
        if out and not _PDF_END.search(out[-1]) and len(out[-1]) >= 0.8 * full and heading_level(ln) is None:
            out[-1] += ln
        else:
            out.append(ln)
    return "\n".join(out)
