"""Read a report from any file an office has: .txt (any Chinese encoding), .html, .docx, .pdf.

:func:`read_file` returns a :class:`Document`: the report's text (the
original characters; for HTML/DOCX/PDF the extracted text), what encoding and
format it came in, its script, and the spans of page chrome and garbled
characters that were found. Sentences are produced on demand with the
project's segmenter, chrome left out as gaps.

Bad input raises :class:`~lawgov_nlp.errors.ReadError` naming the file and the
problem; garbled text never raises, it is reported in ``Document.suspicious``.

Hostile files are refused or repaired, never silently: only regular files are read, and
never more than the size limit (a FIFO or a device is refused before it is opened); a .docx
is checked for zip bombs before it is unpacked; HTML of any nesting depth is read in linear
time; UTF-32 without a BOM is recognised; stray NUL bytes are removed and page numbers left
out of the sentences, each with a line in ``Document.warnings``.
"""
from __future__ import annotations

import bisect
import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from ..errors import ReadError
from .segment import Section, Segmentation, Sentence, segment_document
from .chars import HAN_RE, Span, chrome_kind, count_han, detect_script, find_chrome, find_mojibake, to_simplified
from .metadata import DocumentMetadata, extract_metadata

TEXT_SUFFIXES = {".txt", ".text", ".md", ".csv", ""}
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml", ".mht"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES - {"", ".csv"} | HTML_SUFFIXES | {".docx", ".pdf"}
DEFAULT_MAX_BYTES = int(os.environ.get("LAWGOV_MAX_BYTES", 20_000_000))
#: A .docx is a zip archive: its parts may unpack to at most this many bytes in all ...
DOCX_MAX_UNPACKED = int(os.environ.get("LAWGOV_MAX_UNPACKED_BYTES", 50_000_000))
#: ... and no part over 1 MB may be compressed more than this (real Word XML is about 5-20:1).
DOCX_MAX_RATIO = 100
DOCX_MAX_PARTS = 10_000
_RATIO_FLOOR = 1_000_000


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
    page_title: str = ""   # an HTML page's <title> (not part of ``text``)

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

    @cached_property
    def metadata(self) -> "DocumentMetadata":
        """Title, office, level, year, genre and date, each with its evidence (see :mod:`.metadata`)."""
        return extract_metadata(self.text, self.page_title)

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
            "page_title": self.page_title,
            "metadata": self.metadata.to_dict(),
        }


# --------------------------------------------------------------------------- encodings
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]


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
        chars.add("〇")  # the ideographic zero of dates (二〇二三年), in neither level-1 set
        _COMMON = frozenset(chars)
    return _COMMON


_COMMON: frozenset[str] | None = None


def _plausibility(text: str) -> float:
    """Share of Chinese characters that are common ones; wrong decodings score low."""
    common = _common_chars()
    cjk = HAN_RE.findall(text[:50_000])
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
        if t.count("\x00") > 0.01 * len(t):  # UTF-32 read as UTF-16: a NUL after every character
            continue
        score = _plausibility(t)
        if score > 0.8 and (best is None or score > best[1]):
            best = (enc, score)
    return best[0] if best else None


def _looks_utf32(data: bytes) -> str | None:
    """'utf-32-le' or 'utf-32-be' for UTF-32 text without a BOM, else None.

    Every 4-byte unit of UTF-32 has a zero high byte and a plane byte of at most 0x10; text
    read as UTF-16 instead comes out with a NUL after every character. The decoded text
    must also be printable.
    """
    n = len(data) - len(data) % 4  # a truncated last unit is tolerated (decode_bytes marks it)
    if n < 4:
        return None
    head = data[: min(n, 1 << 16)]
    units = len(head) // 4
    for enc, zero, plane in (("utf-32-le", 3, 2), ("utf-32-be", 0, 1)):
        if head[zero::4].count(0) != units or max(head[plane::4]) > 0x10:
            continue
        try:
            t = data[:n].decode(enc)
        except UnicodeDecodeError:
            continue
        sample = t[:20_000]
        printable = sum(1 for ch in sample if ch.isprintable() or ch in "\n\r\t\f\u3000")
        if printable >= 0.95 * len(sample):
            return enc
    return None


def _max_stray_nuls(size: int) -> int:
    """NUL bytes a text file may hold (stripped, with a warning) before it counts as binary."""
    return max(16, size // 1000)


def _binary_reason(data: bytes) -> str | None:
    """Why ``data`` is not text in any supported encoding, or None when it is text."""
    head = data[:8192]
    if not head:
        return None
    if head.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF", b"\xd0\xcf\x11\xe0")):
        return "binary data, not a text report (supported: .txt .html .docx .pdf)"
    if any(head.startswith(b) for b, _ in _BOMS):
        return None
    if _looks_utf32(data):
        return None
    if b"\x00" in data:
        if b"\x00" in data[:4096] and _looks_utf16(data):
            return None
        # The same rule wherever the NULs are: a few stray ones (and NUL padding at either end, as a
        # crashed or preallocated write leaves) are removed with a warning; many mean binary data.
        stray = data.strip(b"\x00").count(0)
        if stray > _max_stray_nuls(len(data)):
            return (f"binary data, not a text report: {stray} NUL bytes in {len(data)} "
                    "(supported: .txt .html .docx .pdf)")
    ctrl = sum(1 for b in head if b < 32 and b not in (0, 9, 10, 12, 13, 27))
    if ctrl > len(head) * 0.1:
        return "binary data, not a text report (supported: .txt .html .docx .pdf)"
    return None


def is_binary(data: bytes) -> bool:
    """True for data that is not text in any supported encoding (images, archives, executables).

    A text file with a few stray NUL bytes, wherever they are, is text: :func:`read_bytes`
    removes them and says so in ``Document.warnings``.
    """
    return _binary_reason(data) is not None


def _remove_nuls(text: str) -> tuple[str, str | None]:
    """``text`` without NUL characters, and the warning that says how many were removed."""
    if "\x00" not in text:
        return text, None
    core = text.strip("\x00")
    padding = len(text) - len(core)
    stray = core.count("\x00")
    what = []
    if padding:
        what.append(f"{padding} NUL padding character(s) at the start or end")
    if stray:
        first = len(text) - len(text.lstrip("\x00")) + core.index("\x00")
        what.append(f"{stray} stray NUL character(s) (the first at character {first})")
    return core.replace("\x00", ""), ("removed " + " and ".join(what) +
                                       "; the file may be damaged, the rest of its text is kept")


def decode_bytes(data: bytes, encoding: str | None = None, path: str | None = None) -> Decoded:
    """Decode report bytes, detecting the encoding: BOM, UTF-32, UTF-8, UTF-16, GB18030, Big5.

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
    enc32 = _looks_utf32(data)
    if enc32:  # before UTF-8 (ASCII in UTF-32 is valid UTF-8 full of NULs) and before UTF-16
        cut = len(data) % 4
        t = data[: len(data) - cut].decode(enc32)
        return Decoded(t + "\ufffd", enc32, 0.9, 1) if cut else Decoded(t, enc32, 0.95)
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
        if score > 0.5 or not HAN_RE.search(t):
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
    return _document(text, path, format=format, encoding=encoding, strip_chrome=strip_chrome)


def _cell_like(c: Span) -> bool:
    """Chrome a short or numeric table cell is mistaken for: a bare number, a short nav item."""
    return c.kind == "nav" or (c.kind == "page-number" and chrome_kind(c.text) is None)


def _document(text: str, path: str | None, *, format: str, encoding: str | None = None, strip_chrome: bool = True,
              warnings: list[str] | None = None, table_lines: list[tuple[int, int]] = (),
              page_lines: list[tuple[int, int]] = ()) -> Document:
    """The :class:`Document` for extracted ``text``.

    ``table_lines``: spans of lines that are table rows (never taken for page numbers or
    navigation); ``page_lines``: spans of lines the reader knows are page numbers (a PDF page's
    number line). Both are offsets into ``text``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
        table_lines = [(max(a - 1, 0), b - 1) for a, b in table_lines]
        page_lines = [(max(a - 1, 0), b - 1) for a, b in page_lines]
    if not text.strip():
        raise ReadError(path, "no text in the document (it is empty or only white space)")
    chrome: list[Span] = []
    if strip_chrome:
        chrome = find_chrome(text, paged=format != "html")
        if table_lines:
            starts = [a for a, _ in table_lines]

            def in_table(c: Span) -> bool:
                k = bisect.bisect_right(starts, c.start) - 1
                return k >= 0 and c.start < table_lines[k][1]

            chrome = [c for c in chrome if not (_cell_like(c) and in_table(c))]
        if page_lines:
            have = {c.start for c in chrome}
            chrome += [Span(a, b, "page-number", text[a:b]) for a, b in page_lines if a not in have]
            chrome.sort(key=lambda c: (c.start, c.end))
    doc = Document(text=text, path=path, format=format, encoding=encoding, script=detect_script(text),
                   chrome=chrome, suspicious=find_mojibake(text), warnings=list(warnings or []))
    if doc.suspicious:
        doc.warnings.append(f"{len(doc.suspicious)} span(s) of garbled characters (mojibake); see Document.suspicious")
    if chrome:
        doc.warnings.append(f"{len(chrome)} line(s) of page chrome left out of the sentences")
        pages = [c for c in chrome if c.kind == "page-number"]
        if pages:
            shown = ", ".join(f"{c.text.strip()!r} (line {text.count(chr(10), 0, c.start) + 1})" for c in pages[:8])
            more = f" and {len(pages) - 8} more" if len(pages) > 8 else ""
            doc.warnings.append(f"{len(pages)} page-number line(s) left out of the sentences: {shown}{more}; "
                                "see Document.chrome")
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
        text, tables, warnings = _docx_text(data, where)
        return _document(text, path, format="docx", table_lines=tables, warnings=warnings)
    if fmt == "pdf":
        text, pages = _pdf_text(data, where)
        return _document(text, path, format="pdf", page_lines=pages)
    if fmt == "doc":
        raise ReadError(where, "old binary Word (.doc) is not supported; save it as .docx or .txt and try again")
    if not data.strip(b"\x00"):
        raise ReadError(where, f"the file holds only NUL bytes ({len(data)}); it is damaged or was never written")
    why = _binary_reason(data)
    if why:
        raise ReadError(where, why)
    dec = decode_bytes(data, encoding, path)
    text, nul_warning = _remove_nuls(dec.text)
    warnings = [nul_warning] if nul_warning else []
    if fmt == "html":
        text, html_warnings, page_title = _html_text(text)
        doc = _document(text, path, format="html", encoding=dec.encoding, warnings=warnings + html_warnings)
        doc.page_title = page_title
    else:
        doc = _document(text, path, format="text", encoding=dec.encoding, warnings=warnings)
    if dec.replaced:
        doc.warnings.append(f"{dec.replaced} undecodable byte sequence(s) replaced by U+FFFD")
    return doc


_FILE_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
    return (f"is {kind}, not a regular file; only regular files are read "
            "(a pipe or a device may block or never end)")


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}".removesuffix(".0")


def _over_limit(size: int | None, limit: int) -> str:
    what = f"file is {size / 1e6:.1f} MB, over" if size is not None else "file holds more than"
    return (f"{what} the {_mb(limit)} MB limit for one report; "
            "split it, or raise the limit (max_bytes= / --max-mb / LAWGOV_MAX_BYTES)")


def read_file(path: str | os.PathLike, *, encoding: str | None = None,
              max_bytes: int | None = None) -> Document:
    """Read one report file of any supported format (see module docstring).

    Only regular files are read (a FIFO, a device or a socket is refused before it is opened),
    and never more than ``max_bytes`` (default 20 MB, ``LAWGOV_MAX_BYTES``) of them.
    """
    p = Path(path)
    where = str(p)
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ReadError(where, "no such file") from None
    except OSError as e:
        raise ReadError(where, f"cannot access the file ({e.strerror or e})") from e
    if stat.S_ISDIR(st.st_mode):
        raise ReadError(where, "is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(where, _not_regular(st.st_mode))
    if st.st_size > limit:
        raise ReadError(where, _over_limit(st.st_size, limit))
    data = _read_regular(p, where, limit)
    return read_bytes(data, where, format=_format_from_suffix(p.suffix.lower()), encoding=encoding)


def _read_regular(p: Path, where: str, limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file ``p``; over that is a :class:`ReadError`.

    Opened without blocking and checked again once open, so a file swapped for a FIFO after
    the first check cannot hang the read; read in bounded chunks, so a file whose size is not
    what ``stat`` said (growing, or a pseudo-file reporting 0) cannot exhaust memory.
    """
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, name, 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise ReadError(where, f"cannot read the file ({e.strerror or e})") from e
    try:
        with open(fd, "rb", closefd=True) as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ReadError(where, _not_regular(st.st_mode))
            chunks: list[bytes] = []
            total = 0
            while total <= limit:
                chunk = fh.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
    except OSError as e:
        if isinstance(e, ReadError):
            raise
        raise ReadError(where, f"cannot read the file ({e.strerror or e})") from e
    if total > limit:
        raise ReadError(where, _over_limit(None, limit))
    return b"".join(chunks)


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


_DROP_SET = frozenset(_DROP_TAGS)
_CANDIDATE_TAGS = frozenset({"div", "td", "article", "section", "main"})


def html_to_text(html: str) -> str:
    """Main text of a government web page: chrome removed, entities decoded, one paragraph a line."""
    return _html_text(html)[0]


def _html_text(html: str) -> tuple[str, list[str], str]:
    """:func:`html_to_text`, the warnings about it and the page's ``<title>``.

    Every walk over the tree is iterative (no recursion limit, any nesting depth) and the
    whole extraction is linear in the size of the page: character counts are computed once
    per node, bottom-up, instead of a ``get_text`` per node; the tree is never modified.
    """
    from bs4 import BeautifulSoup

    Tag = _bs4()[0]
    soup = BeautifulSoup(html, "lxml")
    warnings: list[str] = []
    raw, parsed = _han_in_markup(html), _han_parsed(soup)
    if raw - parsed > max(20, raw // 100):
        warnings.append(f"the HTML parser kept {parsed} of the page's {raw} Chinese characters; "
                        f"{raw - parsed} were lost to broken or too deeply nested markup")
    body = soup.body or soup
    title = ""
    for node in _iter_tags(soup):
        if node.name in ("h1", "h2"):
            title = " ".join(t.strip() for t in _iter_strings(node) if t.strip())
            break
    # remove containers whose id/class says they are chrome (but never a container holding most of the text)
    han, _, _ = _tree_counts(body)
    total = han.get(id(body), 0)
    removed: set[int] = set()
    stack = [c for c in reversed(body.contents) if isinstance(c, Tag)]
    while stack:
        tag = stack.pop()
        if tag.name in _DROP_SET:
            continue
        attrs = _attr_words(tag)
        if attrs.strip() and _CHROME_ATTR.search(attrs) and not _CONTENT_ATTR.search(attrs) \
                and han[id(tag)] < 0.3 * max(total, 1):
            removed.add(id(tag))
            continue
        stack.extend(c for c in reversed(tag.contents) if isinstance(c, Tag))
    main = _main_container(body, removed)
    text = _block_text(main, removed)
    if title and title not in text[: len(title) + 200]:
        text = title + "\n" + text
    page_title = " ".join(soup.title.get_text(" ").split()) if soup.title is not None else ""
    return text, warnings, page_title


@lru_cache(maxsize=1)
def _bs4():
    """(Tag, the string types that are page text, the string types that are not), imported once."""
    from bs4 import NavigableString, Tag
    from bs4.element import CData, PreformattedString

    return Tag, NavigableString, PreformattedString, CData


def _text_test():
    _, text, pre, cdata = _bs4()
    return lambda n: isinstance(n, text) and (not isinstance(n, pre) or isinstance(n, cdata))


def _attr_words(tag) -> str:
    cls = tag.get("class") or []
    if isinstance(cls, str):
        cls = [cls]
    return " ".join([str(tag.get("id") or ""), " ".join(str(c) for c in cls)])


def _iter_tags(root, removed=frozenset()):
    """Tags under ``root`` in document order, leaving out dropped and removed subtrees."""
    Tag = _bs4()[0]
    stack = [c for c in reversed(root.contents) if isinstance(c, Tag)]
    while stack:
        tag = stack.pop()
        if tag.name in _DROP_SET or id(tag) in removed:
            continue
        yield tag
        stack.extend(c for c in reversed(tag.contents) if isinstance(c, Tag))


def _iter_strings(root, removed=frozenset()):
    """Text strings under ``root`` in document order, leaving out dropped and removed subtrees."""
    Tag, is_text = _bs4()[0], _text_test()
    stack = list(reversed(root.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if node.name not in _DROP_SET and id(node) not in removed:
                stack.extend(reversed(node.contents))
        elif is_text(node):
            yield str(node)


def _tree_counts(root, removed=frozenset()) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per tag (by ``id``), bottom-up in one pass: Chinese characters, those inside links, descendant tags."""
    Tag, is_text = _bs4()[0], _text_test()
    han: dict[int, int] = {}
    links: dict[int, int] = {}
    tags: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in node.contents
                         if isinstance(c, Tag) and c.name not in _DROP_SET and id(c) not in removed)
            continue
        h = ln = t = 0
        for c in node.contents:
            if isinstance(c, Tag):
                k = id(c)
                if k in han:
                    h += han[k]
                    t += 1 + tags[k]
                    ln += links[k] + (han[k] if c.name == "a" else 0)
            elif is_text(c):
                h += count_han(c)
        han[id(node)], links[id(node)], tags[id(node)] = h, ln, t
    return han, links, tags


def _han_in_markup(html: str) -> int:
    """Chinese characters in the page source outside tags and comments: what a parser should keep.

    A linear scan (no regular expression that could backtrack over hostile markup).
    """
    n = i = 0
    while True:
        j = html.find("<", i)
        if j < 0:
            return n + count_han(html[i:])
        n += count_han(html[i:j])
        if html.startswith("<!--", j):
            k = html.find("-->", j + 4)
            if k < 0:  # an unclosed comment: whatever follows is text the parser may have swallowed
                return n + count_han(html[j + 4:])
            i = k + 3
        else:
            k = html.find(">", j + 1)
            if k < 0:
                return n + count_han(html[j:])
            i = k + 1


def _han_parsed(soup) -> int:
    from bs4 import NavigableString
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    skip = (Comment, Declaration, Doctype, ProcessingInstruction)
    return sum(count_han(s) for s in soup.descendants if isinstance(s, NavigableString) and not isinstance(s, skip))


def _main_container(body, removed=frozenset()):
    """The element holding the article: the densest block of Chinese prose."""
    han, links, tags = _tree_counts(body, removed)
    best, best_score = body, 0.0
    total = han.get(id(body), 0)
    if total == 0:
        return body
    for tag in _iter_tags(body, removed):
        if tag.name not in _CANDIDATE_TAGS:
            continue
        n = han[id(tag)]
        if n < 0.5 * total:
            continue
        bonus = 1.2 if _CONTENT_ATTR.search(_attr_words(tag)) else 1.0
        # prefer the smallest element that still holds most of the prose and few link words
        score = bonus * (n - 2 * links[id(tag)]) / (1 + 0.1 * tags[id(tag)] ** 0.5)
        if score > best_score:
            best, best_score = tag, score
    return best


def _block_text(node, removed=frozenset()) -> str:
    Tag, is_text = _bs4()[0], _text_test()
    parts: list[str] = []
    # an explicit stack of (node, entering) instead of recursion: any nesting depth
    stack: list[tuple[object, bool]] = [(c, True) for c in reversed(node.contents)]
    while stack:
        child, entering = stack.pop()
        if not entering:
            parts.append("\n")  # leaving a block element
            continue
        if isinstance(child, Tag):
            name = child.name.lower()
            if name in _DROP_SET or id(child) in removed:
                continue
            if name == "br":
                parts.append("\n")
                continue
            if name in _BLOCK_TAGS:
                parts.append("\n")
                stack.append((child, False))
            stack.extend((c, True) for c in reversed(child.contents))
        elif is_text(child):
            parts.append(str(child))
    raw = "".join(parts).replace("\u00a0", " ").replace("\u3000", " ")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in raw.split("\n")]
    return "\n".join(ln for ln in lines if ln)


# --------------------------------------------------------------------------- DOCX / PDF
def _check_zip(data: bytes, where: str) -> None:
    """Refuse a .docx whose parts would unpack to too much (a zip bomb), before anything is unpacked.

    The sizes are the archive's own (central directory); :mod:`zipfile` never inflates a part
    past its recorded size (a part that claims less than it holds fails its CRC check), so the
    recorded sizes bound what parsing can unpack.
    """
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise ReadError(where, f"not a readable .docx file ({type(e).__name__}: {e})") from e
    if len(infos) > DOCX_MAX_PARTS:
        raise ReadError(where, f"the .docx has {len(infos)} parts, over the limit of {DOCX_MAX_PARTS}; "
                               "not a document Word writes")
    total = sum(i.file_size for i in infos)
    if total > DOCX_MAX_UNPACKED:
        raise ReadError(where, f"the .docx unpacks to {total / 1e6:.0f} MB, over the {DOCX_MAX_UNPACKED / 1e6:.0f} MB "
                               "limit for its parts (a zip bomb?); refused before unpacking "
                               "(raise the limit with LAWGOV_MAX_UNPACKED_BYTES)")
    for i in infos:
        if i.file_size > _RATIO_FLOOR and i.file_size > DOCX_MAX_RATIO * max(i.compress_size, 1):
            raise ReadError(where, f"the .docx part {i.filename!r} is compressed "
                                   f"{i.file_size / max(i.compress_size, 1):.0f}:1 ({i.compress_size} bytes unpack to "
                                   f"{i.file_size}), over the {DOCX_MAX_RATIO}:1 limit (a zip bomb?); "
                                   "refused before unpacking")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_WRAPPERS = {"sdt", "sdtContent", "customXml", "smartTag", "ins", "moveTo"}  # hold blocks, rows or cells
_DOCX_END = "。！？；!?;…"


def _children(el, wanted: set[str]):
    """Children of ``el`` named in ``wanted``, in order, looking through content controls and
    custom XML wrappers (iteratively)."""
    stack = [iter(el)]
    while stack:
        for c in stack[-1]:
            name = _local(c.tag)
            if name in wanted:
                yield name, c
            elif name in _WRAPPERS:
                stack.append(iter(c))
                break
        else:
            stack.pop()


def _wint(el, path: str, default: int) -> int:
    """An integer ``w:val`` under ``el`` (``path`` like ``w:tcPr/w:gridSpan``); bad values give ``default``."""
    node = el.find(path.replace("w:", _W))
    if node is None:
        return default
    try:
        return int(node.get(_W + "val", default))
    except ValueError:
        return default


def _on(el, path: str) -> bool:
    """Whether the on/off property at ``path`` is present and not switched off."""
    node = el.find(path.replace("w:", _W))
    return node is not None and node.get(_W + "val", "true").lower() not in ("0", "false", "off")


def _join_cells(parts: list[str]) -> str:
    """Cells of one row as one line: joined with "；", except after a cell that ends a sentence."""
    out = ""
    for part in parts:
        if out and out[-1] not in _DOCX_END:
            out += "；"
        out += part
    return out


_LABEL_STOP = re.compile(r"[。；;！!？?：:，,]")
_NUMBERISH = re.compile(r"[\d\s.,%％+\-－—~～/]+")


def _is_label(text: str) -> bool:
    """A column header: short, no sentence punctuation, not a number."""
    return len(text) <= 20 and not _LABEL_STOP.search(text) and not _NUMBERISH.fullmatch(text)


_LAYOUT_CELL_LINES = 8     # a cell with more paragraphs than this, or more characters than
_LAYOUT_CELL_CHARS = 1000  # this, holds running text: its table is page layout, not data


def _table_lines(tbl, d, depth: int = 0) -> list[str]:
    """A Word table as lines, one per row.

    With a header row (marked "repeat as header row" in Word, or a first row of short labels
    over rows holding numbers or prose) each cell is written ``header：value``; otherwise the
    cells are joined with "；". A cell spanning the whole row is written alone; a cell merged
    down from the row above is written once, in its first row. A table used for page layout
    (one column, or cells holding running text) keeps its paragraphs as lines. Nested tables
    become part of their cell (their depth is bounded by the XML parser's 256 levels).
    """
    from docx.text.paragraph import Paragraph

    def cell_lines(tc) -> list[str]:
        out: list[str] = []
        for name, el in _children(tc, {"p", "tbl"}):
            if name == "p":
                t = Paragraph(el, d).text
                if t.strip():
                    out.append(t)
            elif depth < 32:
                out.extend(_table_lines(el, d, depth + 1))
        return out

    rows: list[tuple[bool, list[tuple[int, int, list[str], bool]]]] = []
    ncols = 0
    for _, tr in _children(tbl, {"tr"}):
        col = max(0, _wint(tr, "w:trPr/w:gridBefore", 0))
        cells = []
        for _, tc in _children(tr, {"tc"}):
            span = max(1, _wint(tc, "w:tcPr/w:gridSpan", 1))
            vm = tc.find(f"{_W}tcPr/{_W}vMerge")
            below = vm is not None and vm.get(_W + "val", "continue") == "continue"
            cells.append((col, span, [] if below else cell_lines(tc), below))
            col += span
        ncols = max(ncols, col)
        rows.append((_on(tr, "w:trPr/w:tblHeader"), cells))
    full = [c for _, cells in rows for c in cells if c[2]]
    if all(sum(1 for c in cells if c[2]) <= 1 for _, cells in rows) or any(
            len(c[2]) > _LAYOUT_CELL_LINES or sum(map(len, c[2])) > _LAYOUT_CELL_CHARS for c in full):
        return [ln for c in full for ln in c[2]]
    text = {id(c): " ".join(" ".join(ln.split()) for ln in c[2]) for c in full}
    n_head = 0
    while n_head < len(rows) and rows[n_head][0]:
        n_head += 1
    if n_head == len(rows):  # every row marked as a header: no header
        n_head = 0
    if n_head == 0 and len(rows) >= 2:
        first = [text[id(c)] for c in rows[0][1] if c[2]]
        rest = [text[id(c)] for _, cells in rows[1:] for c in cells if c[2]]
        if len(first) >= 2 and all(_is_label(t) for t in first) and len(set(first)) == len(first) \
                and any(not _is_label(t) or re.search(r"\d", t) for t in rest):
            n_head = 1
    keys: dict[int, str] = {}
    for _, cells in rows[:n_head]:
        for c in cells:
            label = text[id(c)].rstrip("：: ") if c[2] else ""
            for k in range(c[0], c[0] + min(c[1], 64)):
                if label and label != keys.get(k, "").rsplit("·", 1)[-1]:
                    keys[k] = f"{keys[k]}·{label}" if k in keys else label
    lines = []
    for _, cells in rows[n_head:]:
        parts = []
        for c in cells:
            if not c[2]:
                continue
            col, span = c[0], c[1]
            key = keys.get(col) if not (span > 1 and col == 0 and col + span >= ncols) else None
            value = text[id(c)]
            parts.append(f"{key}：{value}" if key and key != value else value)
        if parts:
            lines.append(_join_cells(parts))
    if n_head and not lines:  # a header and nothing under it
        lines = [_join_cells([text[id(c)] for _, cells in rows[:n_head] for c in cells if c[2]])]
    return lines


def _docx_text(data: bytes, where: str) -> tuple[str, list[tuple[int, int]], list[str]]:
    """The text of a .docx (paragraphs, and table rows as lines), the spans of the table lines,
    and warnings."""
    import io

    try:
        import docx
        from docx.text.paragraph import Paragraph
    except ImportError as e:  # pragma: no cover - dependency is declared
        raise ReadError(where, f"python-docx is needed to read .docx ({e})") from e
    _check_zip(data, where)
    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad file
        raise ReadError(where, f"not a readable .docx file ({type(e).__name__}: {e})") from e
    lines: list[tuple[str, bool]] = []
    skipped = 0
    try:
        for name, child in _children(d.element.body, {"p", "tbl", "altChunk"}):
            if name == "p":
                lines.append((Paragraph(child, d).text, False))
            elif name == "tbl":
                lines.extend((ln, True) for ln in _table_lines(child, d))
            else:
                skipped += 1
    except Exception as e:  # noqa: BLE001 - malformed XML python-docx accepted but cannot read
        raise ReadError(where, f"not a readable .docx file ({type(e).__name__}: {e})") from e
    out: list[str] = []
    tables: list[tuple[int, int]] = []
    pos = 0
    for ln, is_table in lines:
        if not ln.strip():
            continue
        if is_table:
            tables.append((pos, pos + len(ln)))
        out.append(ln)
        pos += len(ln) + 1
    warnings = []
    if skipped:
        warnings.append(f"{skipped} embedded document part(s) (altChunk: pasted HTML or RTF) not read; "
                        "open the file in Word and save it again to make them ordinary text")
    return "\n".join(out), tables, warnings


_PDF_END = re.compile(r"[。！？；：:;!?…”\"）)]$")
_PDF_BARE_NUMBER = re.compile(r"^[-—–－]?\s*(\d{1,3})\s*[-—–－]?$")


def _pdf_text(data: bytes, where: str) -> tuple[str, list[tuple[int, int]]]:
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
    return _reflow_pages(pages)


def _pdf_page_numbers(pages: list[list[str]]) -> set[tuple[int, int]]:
    """(page, line) of the lines that are page numbers: decorated ones (``- 3 -``) anywhere, bare
    ones (``3``) as the first or last line of a page when they count the pages consistently."""
    found: set[tuple[int, int]] = set()
    bare: list[tuple[int, int, int]] = []  # (page, line, number - page index)
    for k, lines in enumerate(pages):
        for i, ln in enumerate(lines):
            if chrome_kind(ln) == "page-number":
                found.add((k, i))
        for i in {0, len(lines) - 1} if lines else ():
            m = _PDF_BARE_NUMBER.match(lines[i])
            if m:
                bare.append((k, i, int(m.group(1)) - k))
    if bare:
        offsets: dict[int, int] = {}
        for _, _, off in bare:
            offsets[off] = offsets.get(off, 0) + 1
        best, support = max(offsets.items(), key=lambda kv: (kv[1], -abs(kv[0] - 1)))
        if support >= 2 or -2 <= best <= 2:
            found.update((k, i) for k, i, off in bare if off == best)
    return found


def _reflow_pages(pages: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Reflowed PDF text and the spans of its page-number lines."""
    split = [[ln.strip() for ln in p.split("\n") if ln.strip()] for p in pages]
    numbers = _pdf_page_numbers(split)
    flat = [(ln, (k, i) in numbers) for k, lines in enumerate(split) for i, ln in enumerate(lines)]
    return _reflow(flat)


def _reflow(lines: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    """Join layout lines that break a paragraph mid-sentence; page-number lines (flagged) never
    join, and a paragraph that runs on across a page break is joined with its page number
    written after it."""
    from .segment import heading_level

    if not lines:
        return "", []
    lengths = sorted(len(ln) for ln, is_num in lines if not is_num) or [0]
    full = lengths[int(len(lengths) * 0.75)]
    out: list[tuple[str, bool]] = []
    pending: list[str] = []  # page numbers met inside a paragraph, written when it ends
    for ln, is_num in lines:
        if is_num:
            pending.append(ln)
            continue
        last = out[-1][0] if out else None
        if last is not None and not _PDF_END.search(last) and len(last) >= 0.8 * full and heading_level(ln) is None:
            out[-1] = (last + ln, False)
        else:
            out.extend((n, True) for n in pending)
            pending = []
            out.append((ln, False))
    out.extend((n, True) for n in pending)
    spans, pos = [], 0
    for ln, is_num in out:
        if is_num:
            spans.append((pos, pos + len(ln)))
        pos += len(ln) + 1
    return "\n".join(ln for ln, _ in out), spans


def reflow_pdf_lines(text: str) -> str:
    """Join PDF layout lines that break a paragraph mid-sentence (page numbers such as ``- 3 -``
    stay lines of their own)."""
    lines = [ln.strip() for ln in text.split("\n")]
    return _reflow([(ln, chrome_kind(ln) == "page-number") for ln in lines if ln])[0]
