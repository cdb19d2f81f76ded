"""Split a report's text into headings and sentences, keeping offsets and section paths.

Pure functions, str in, records out. Nothing is lost: every sentence is an
exact slice ``text[start:end]`` of the input, sentences are in order and never
overlap, and what lies between them (white space, line breaks, skipped page
chrome) is the gap. Joining sentences and gaps gives back the input.

Rules (see ``../shared/annotation-guidelines.md``, "Sentence boundaries"):

* a sentence ends at 。！？；… (and the ASCII ``! ? ;``) and at a line break;
* it also ends before an enumeration marker that opens a new item inside a
  paragraph (``一是`` ``二是`` …, ``1.`` ``2、``, ``（1）``) when the marker
  follows punctuation;
* it never ends inside quotation marks, book-title marks or brackets, and
  never inside a number (``99.19%``, ``2016-2020``, ``3.3万``);
* a line that starts with a heading marker is a heading; when a heading and
  body share one line (``（一）统筹推进……。一是……``) the first sentence is the
  heading and the rest is body under it.

Heading levels: 1 ``一、``; 2 ``（一）``/``(一)``; 3 ``1.``/``1、``; 4 ``（1）``/``(1)``;
5 titled field lines such as ``存在问题1：`` ``工作举措：`` ``牵头单位：`` ``完成时限：``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

CN_NUM = "一二三四五六七八九十百零〇"

# Heading markers at the start of a line (after leading white space).
_HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"第[{CN_NUM}]+(?:部分|章|节)[、，,：:\s]?")),
    (1, re.compile(rf"[{CN_NUM}]+[、．.]")),
    (2, re.compile(rf"[（(][{CN_NUM}]+[）)]")),
    # 1. / 1、 / 1． but not 3.3万, 2023年, 1.5% ; "2.2021年" (item 2 starting with a year) is allowed.
    (3, re.compile(r"\d{1,2}(?:[、．]|\.(?!\d)|\.(?=\d{4}年))")),
    (4, re.compile(r"[（(]\d{1,2}[）)]")),
]

# Titled field lines of problem→measure documents. Level 5: scope is the line itself.
DEFAULT_FIELD_TITLES = (
    "存在问题", "问题表现", "主要问题", "问题", "工作举措", "整改措施", "整改目标", "主要举措", "工作措施",
    "具体措施", "工作目标", "牵头单位", "责任单位", "配合单位", "协办单位", "责任领导", "责任人",
    "完成时限", "整改时限", "时间节点", "完成时间", "整改情况", "整改进展", "整改成效", "工作任务",
)
_FIELD_RE = re.compile(
    r"(?:" + "|".join(sorted((re.escape(t) for t in DEFAULT_FIELD_TITLES), key=len, reverse=True)) + r")"
    r"\s*(?:[0-9０-９]{1,3}|[" + CN_NUM + r"]{1,3})?\s*[:：]"
)

TERMINATORS = "。！？；!?;…"
_OPEN_CLOSE = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈": "〉", "（": "）", "(": ")",
               "【": "】", "[": "]", "〔": "〕", "｛": "｝"}
_CLOSERS = {v: k for k, v in _OPEN_CLOSE.items()}
_SYMMETRIC = {'"'}
# Closing marks that belong to the sentence they follow ("……。”").
_TRAILING = set("”’」』》〉）)】]〕\"'")
_QUOTE_CLOSERS = set("”’」』\"")
_SPECIAL_RE = re.compile(r"[" + re.escape("".join(_OPEN_CLOSE) + "".join(_CLOSERS) + '"' + TERMINATORS) + r"]")
# Enumeration markers that open a new item inside a paragraph, when they follow punctuation.
_ENUM_RE = re.compile(
    rf"(?<=[，,：:；;。！？!?、\s])(?:[{CN_NUM}]是(?![否非])|其[{CN_NUM}][，,、是]|\d{{1,2}}(?:[、．]|\.(?!\d))(?!\d)|[（(]\d{{1,2}}[）)])"
)
_MAX_PROTECTED = 400  # a bracket or quote left open for longer than this does not protect anything
_WS = " \t\r\f\v\u3000\u00a0\ufeff"


@dataclass(frozen=True)
class Section:
    """A heading: its text, level (1 = 一、 … 5 = titled field line) and offsets."""

    text: str
    level: int
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """One sentence of a report: an exact slice ``text[start:end]`` of the original text."""

    text: str
    start: int
    end: int
    index: int
    section: tuple[str, ...] = ()
    is_heading: bool = False
    heading_level: int | None = None
    paragraph: int = 0

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "section": list(self.section),
            "is_heading": self.is_heading,
            "heading_level": self.heading_level,
            "paragraph": self.paragraph,
        }


def heading_level(line: str) -> int | None:
    """Heading level of a line by its leading marker, or None for a body line."""
    s = line.lstrip(_WS)
    for level, pat in _HEADING_PATTERNS:
        m = pat.match(s)
        if m and m.end() < len(s.rstrip(_WS)):  # a marker alone is not a heading
            return level
    m = _FIELD_RE.match(s)
    if m and m.end() < len(s.rstrip(_WS)):
        return 5
    return None


def _protected_spans(line: str, base: int) -> list[tuple[int, int]]:
    """Spans (absolute offsets) inside matched quotes/brackets where no split may happen."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    sym_open: int | None = None
    for m in _SPECIAL_RE.finditer(line):
        ch, i = m.group(), m.start()
        if ch in _SYMMETRIC:
            if sym_open is None:
                sym_open = i
            else:
                if i - sym_open <= _MAX_PROTECTED:
                    spans.append((base + sym_open + 1, base + i))
                sym_open = None
        elif ch in _OPEN_CLOSE:
            stack.append((ch, i))
        elif ch in _CLOSERS:
            opener = _CLOSERS[ch]
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == opener:
                    j = stack[k][1]
                    del stack[k:]
                    if i - j <= _MAX_PROTECTED:
                        spans.append((base + j + 1, base + i))
                    break
    return spans


def _cut_points(line: str, base: int) -> list[int]:
    """Absolute offsets where a sentence ends inside one line (exclusive ends)."""
    protected = _protected_spans(line, base)

    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in protected)

    cuts: list[int] = []
    n = len(line)
    for m in re.finditer(r"[" + re.escape(TERMINATORS) + r"]+", line):
        if inside(base + m.start()):
            continue
        end = m.end()
        while end < n and line[end] in _TRAILING:
            end += 1
        cuts.append(base + end)
    for m in _ENUM_RE.finditer(line):
        if m.start() > 0 and not inside(base + m.start()):
            cuts.append(base + m.start())
    # a closing quote/bracket that ends with a terminator just inside it: "……。”然后"
    for a, b in protected:
        if line[b - base] not in _QUOTE_CLOSERS:
            continue
        if b - 1 >= base and line[b - 1 - base] in TERMINATORS and b + 1 < base + n:
            if not inside(b):
                cuts.append(b + 1)
    return sorted(set(c for c in cuts if base < c < base + n))


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in _WS:
        a += 1
    while b > a and text[b - 1] in _WS:
        b -= 1
    return a, b


def _iter_lines(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each line without its line break; \r\n, \r, \n, U+2028/9 and form feed break lines."""
    start = 0
    for m in re.finditer(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85]", text):
        yield start, m.start()
        start = m.end()
    yield start, len(text)


def _subtract(a: int, b: int, skips: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of [a, b) not covered by the (sorted) skip spans."""
    parts, cur = [], a
    for s, e in skips:
        if e <= cur or s >= b:
            continue
        if s > cur:
            parts.append((cur, s))
        cur = max(cur, e)
    if cur < b:
        parts.append((cur, b))
    return parts


@dataclass
class Segmentation:
    """Result of :func:`segment_document`: sentences and the headings found."""

    sentences: list[Sentence] = field(default_factory=list)
    headings: list[Section] = field(default_factory=list)


def segment_document(text: str, skip: Sequence[tuple[int, int]] = ()) -> Segmentation:
    """Segment ``text`` into sentences; spans in ``skip`` (e.g. page chrome) are left out as gaps."""
    skips = sorted((int(s), int(e)) for s, e in skip if e > s)
    out = Segmentation()
    stack: list[Section] = []
    paragraph = -1
    for la, lb in _iter_lines(text):
        for pa, pb in _subtract(la, lb, skips):
            pa, pb = _trim(text, pa, pb)
            if pa >= pb:
                continue
            paragraph += 1
            line = text[pa:pb]
            level = heading_level(line)
            cuts = _cut_points(line, pa)
            bounds = [pa, *cuts, pb]
            pieces = [_trim(text, x, y) for x, y in zip(bounds, bounds[1:])]
            pieces = [(x, y) for x, y in pieces if x < y]
            if level == 5:
                # a titled field line: the title scopes the sentences of this line, none is a heading
                m = _FIELD_RE.match(line)
                title = line[:m.end()].rstrip("：: ")
                while stack and stack[-1].level >= 5:
                    stack.pop()
                sec = Section(title, 5, pa, pa + len(title))
                stack.append(sec)
                out.headings.append(sec)
                level = None
            for k, (x, y) in enumerate(pieces):
                is_head = level is not None and k == 0
                if is_head:
                    title = text[x:y]
                    sec = Section(title, level, x, y)
                    while stack and stack[-1].level >= level:
                        stack.pop()
                    # the heading's own path: the headings above it
                    path = tuple(h.text for h in stack)
                    stack.append(sec)
                    out.headings.append(sec)
                else:
                    path = tuple(h.text for h in stack)
                out.sentences.append(Sentence(text[x:y], x, y, len(out.sentences), path, is_head,
                                              level if is_head else None, paragraph))
            # a titled field line (level 5) scopes only its own paragraph
            while stack and stack[-1].level == 5:
                stack.pop()
    return out


def segment(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[Sentence]:
    """Split ``text`` into :class:`Sentence` records with offsets and section paths."""
    return segment_document(text, skip).sentences


def gaps(text: str, sentences: Sequence[Sentence]) -> list[str]:
    """The text between consecutive sentences (len(sentences) + 1 strings)."""
    out, cur = [], 0
    for s in sentences:
        out.append(text[cur:s.start])
        cur = s.end
    out.append(text[cur:])
    return out


def rebuild(text_gaps: Sequence[str], sentences: Sequence[Sentence]) -> str:
    """Inverse of splitting: interleave gaps and sentences."""
    parts = [text_gaps[0]]
    for s, g in zip(sentences, text_gaps[1:]):
        parts.append(s.text)
        parts.append(g)
    return "".join(parts)
