"""Split a report's text into headings and sentences, keeping offsets and section paths.

Pure functions, str in, records out. Nothing is lost: every sentence is an
exact slice ``text[start:end]`` of the input, sentences are in order and never
overlap, and what lies between them (white space, line breaks, invisible
characters, skipped page chrome) is the gap. Joining sentences and gaps gives
back the input. No sentence is empty or only white space and invisible
characters (see :func:`is_invisible`): every sentence starts with a visible
character, and none is longer than :data:`MAX_SENTENCE_CHARS`.

Rules (see ``../shared/annotation-guidelines.md``, "Sentence boundaries"):

* a sentence ends at 。！？；… (and the ASCII ``! ? ;``) and at a line break;
* it also ends before an enumeration marker that opens a new item inside a
  paragraph (``一是`` ``二是`` …, ``1.`` ``2、``, ``（1）``) when the marker
  follows punctuation;
* it never ends inside quotation marks, book-title marks or brackets, and
  never inside a number (``99.19%``, ``2016-2020``, ``3.3万``);
* a line that starts with a heading marker (after any white space or invisible
  characters such as U+2003, U+3000 or U+200B) is a heading; when a heading and
  body share one line (``（一）统筹推进……。一是……``) the first sentence is the
  heading and the rest is body under it;
* a sentence longer than :data:`MAX_SENTENCE_CHARS` (no real report sentence
  comes near it) is split after the last clause mark (，、；：) or at the last
  white space within the limit, failing those into fixed windows that keep
  characters with their combining marks and, where they can, numbers whole; the
  pieces keep the section path and none is a heading;
* no split falls between a character and its combining marks, variation
  selectors, skin-tone modifier or zero-width joiner, nor inside a flag (only a
  run of more than 32 combining marks on one letter may be cut).

Everything runs in time linear in the text (up to a log factor), so a
200,000-character line without punctuation is segmented in milliseconds.

Heading levels: 1 ``一、``; 2 ``（一）``/``(一)``; 3 ``1.``/``1、``; 4 ``（1）``/``(1)``;
5 titled field lines such as ``存在问题1：`` ``工作举措：`` ``牵头单位：`` ``完成时限：``.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
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
    # (one optional group that starts with the number, so a long run of spaces is not backtracked over twice)
    r"\s*(?:(?:[0-9０-９]{1,3}|[" + CN_NUM + r"]{1,3})\s*)?[:：]"
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
_WS = " \t\r\f\v\u3000\u00a0\ufeff"  # common white space; the full set is is_invisible()

# The longest sentence of the annotated corpus (training/data/*.jsonl, 7,056 sentences) and of
# the sample reports is 267 characters; a sentence over this limit is split (see module docstring).
MAX_SENTENCE_CHARS = 500
# Clause boundaries an over-long sentence is split at: after these marks (an ASCII comma or colon
# not inside a number such as 1,234 or 12:30), or at white space.
_CLAUSE_RE = re.compile(r"[，、；：;]+|(?<!\d)[,:](?!\d)|[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Characters that may make up a number or a Latin word, which a fixed window avoids cutting.
_WORD_CHARS = frozenset("0123456789０１２３４５６７８９.．,%％abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# --------------------------------------------------------------------------- invisible characters
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
# Default_Ignorable_Code_Point characters outside those categories, and the braille blank
_IGNORABLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2065\u2800\u3164\uffa0")
_ZWNJ, _ZWJ = "\u200c", "\u200d"


def is_invisible(ch: str) -> bool:
    """True for a character that shows nothing by itself.

    White space of every kind (category Zs, such as U+3000, U+2003, U+00A0, U+202F; the line
    and paragraph separators Zl, Zp), control characters (Cc: ``\\x1f``, ``\\x0b``, ``\\x85`` …),
    format characters (Cf: U+200B, U+00AD, U+FEFF, U+2060, the bidirectional marks and
    overrides, U+200C/U+200D joiners, tag characters), variation selectors and the other
    default-ignorable code points (U+034F, U+3164, U+FFA0 …), and U+2800 BRAILLE PATTERN BLANK.
    """
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch in _IGNORABLE:
        return True
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0000 <= cp <= 0xE0FFF or 0xFFF0 <= cp <= 0xFFF8


def _extends(ch: str) -> bool:
    """True for a character that belongs to the one before it: combining marks (including
    variation selectors), the zero-width (non-)joiner, emoji skin-tone modifiers and tags."""
    cp = ord(ch)
    return (unicodedata.category(ch)[0] == "M" or ch == _ZWJ or ch == _ZWNJ
            or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F)


def _starts_sentence(ch: str) -> bool:
    """A sentence starts with a visible character that is not a combining mark."""
    return not is_invisible(ch) and unicodedata.category(ch)[0] != "M"


def _trailing_blank(ch: str) -> bool:
    """Invisible characters trimmed off the end of a sentence: those that do not belong to
    the character before them (a trailing variation selector, joiner or tag stays)."""
    return is_invisible(ch) and not _extends(ch) and ch != "\u1160"


def _glued(before: str, after: str) -> bool:
    """True where a cut between these two characters would split one visible character."""
    if _extends(after) or before == _ZWJ:
        return True
    if unicodedata.category(before) == "Cf" and not is_invisible(after):  # prepended marks (U+0600 …)
        return 0x600 <= ord(before) <= 0x605 or before in "\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
    return False


def _regional(ch: str) -> bool:
    """A regional indicator letter; two of them make one flag (🇨🇳)."""
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


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
    """Heading level of a line by its leading marker, or None for a body line.

    White space and invisible characters around the line (U+2003, U+3000, U+200B, U+FEFF …)
    are ignored: ``heading_level("\\u2003\\u2003一、总体情况") == 1``.
    """
    a, b = _trim(line, 0, len(line))
    s = line[a:b]
    for level, pat in _HEADING_PATTERNS:
        m = pat.match(s)
        if m and m.end() < len(s):  # a marker alone is not a heading
            return level
    m = _FIELD_RE.match(s)
    if m and m.end() < len(s):
        return 5
    return None


def _protected_spans(line: str, base: int) -> list[tuple[int, int]]:
    """Spans (absolute offsets) inside matched quotes/brackets where no split may happen."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    open_count = dict.fromkeys(_OPEN_CLOSE, 0)  # openers on the stack, so a stray closer costs O(1)
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
            open_count[ch] += 1
        elif ch in _CLOSERS and open_count[_CLOSERS[ch]]:
            opener = _CLOSERS[ch]
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == opener:
                    j = stack[k][1]
                    for o, _ in stack[k:]:
                        open_count[o] -= 1
                    del stack[k:]
                    if i - j <= _MAX_PROTECTED:
                        spans.append((base + j + 1, base + i))
                    break
    return spans


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint union of half-open spans."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _cut_points(line: str, base: int) -> list[int]:
    """Absolute offsets where a sentence ends inside one line (exclusive ends)."""
    protected = _protected_spans(line, base)
    covered = _merge(protected)
    covered_starts = [a for a, _ in covered]

    def inside(pos: int) -> bool:
        k = bisect_right(covered_starts, pos) - 1
        return k >= 0 and pos < covered[k][1]

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
    out = set()
    for c in cuts:
        while c < base + n and _extends(line[c - base]):  # "。" keeps its combining marks
            c += 1
        if base < c < base + n:
            out.add(c)
    return sorted(out)


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """[a, b) without leading characters that cannot start a sentence (white space, invisible
    characters, lone combining marks) and without trailing white space and invisible characters."""
    while a < b and not _starts_sentence(text[a]):
        a += 1
    while b > a and _trailing_blank(text[b - 1]):
        b -= 1
    return a, b


def _window_cut(text: str, lo: int, hi: int) -> int:
    """A cut in (lo, hi] for a window without clause boundaries: at hi, moved back by at most 32
    characters so as not to split a visible character or, where it can, a number or Latin word."""
    if _regional(text[hi - 1]) and _regional(text[hi]):  # between two flags, not inside one
        run = hi - 1
        while run > lo and _regional(text[run - 1]):
            run -= 1
        if (hi - run) % 2 and hi - 1 > lo:
            hi -= 1
    floor = max(lo + 1, hi - 32)
    for keep_words in (True, False):
        cut = hi
        while cut > floor and (_glued(text[cut - 1], text[cut])
                               or (keep_words and text[cut - 1] in _WORD_CHARS and text[cut] in _WORD_CHARS)):
            cut -= 1
        if cut > floor:
            return cut
    return hi  # one "character" of more than 32 code points (say, a letter with 40 accents)


def _split_long(text: str, a: int, b: int, limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Split a trimmed piece [a, b) longer than ``limit`` into trimmed pieces of at most ``limit``
    characters: after the last clause mark (，、；：) or at the last white space in each window,
    else a fixed window (:func:`_window_cut`)."""
    bounds: list[int] = []
    for m in _CLAUSE_RE.finditer(text, a, b):
        if text[m.start()] in "，、；：,;:":
            bounds.append(m.end())
        else:
            bounds.extend((m.start(), m.end()))
    out: list[tuple[int, int]] = []
    cur = a
    while b - cur > limit:
        hi = cur + limit
        k = bisect_right(bounds, hi) - 1
        cut = bounds[k] if k >= 0 and bounds[k] > cur else None
        if cut is not None:
            while cut < b and _extends(text[cut]):  # a clause mark keeps its combining marks
                cut += 1
            if cut > hi:
                cut = None
        if cut is None:
            cut = _window_cut(text, cur, hi)
        x, y = _trim(text, cur, cut)
        if x < y:
            out.append((x, y))
        cur, _ = _trim(text, cut, b)
    if cur < b:
        out.append((cur, b))
    return out


def _iter_lines(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each line without its line break; \r\n, \r, \n, U+2028/9 and form feed break lines."""
    start = 0
    for m in re.finditer(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85]", text):
        yield start, m.start()
        start = m.end()
    yield start, len(text)


def _uncovered(lines: Iterable[tuple[int, int]], skips: Sequence[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    """Parts of each line [a, b) not covered by the skip spans (sorted and disjoint), in order.

    One pass over lines and spans together: a span is looked at only by the lines it touches.
    """
    j = 0
    for a, b in lines:
        while j < len(skips) and skips[j][1] <= a:
            j += 1
        cur, k = a, j
        while k < len(skips) and skips[k][0] < b:
            s, e = skips[k]
            if s > cur:
                yield cur, s
            cur = max(cur, e)
            k += 1
        if cur < b:
            yield cur, b


@dataclass
class Segmentation:
    """Result of :func:`segment_document`: sentences and the headings found."""

    sentences: list[Sentence] = field(default_factory=list)
    headings: list[Section] = field(default_factory=list)


def segment_document(text: str, skip: Sequence[tuple[int, int]] = ()) -> Segmentation:
    """Segment ``text`` into sentences; spans in ``skip`` (e.g. page chrome) are left out as gaps."""
    skips = _merge((int(s), int(e)) for s, e in skip if e > s)
    out = Segmentation()
    stack: list[Section] = []
    paragraph = -1
    for pa, pb in _uncovered(_iter_lines(text), skips):
        pa, pb = _trim(text, pa, pb)
        if pa >= pb:
            continue
        paragraph += 1
        line = text[pa:pb]
        level = heading_level(line)
        cuts = _cut_points(line, pa)
        bounds = [pa, *cuts, pb]
        pieces: list[tuple[int, int, bool]] = []  # (start, end, split from an over-long sentence)
        for x, y in zip(bounds, bounds[1:]):
            x, y = _trim(text, x, y)
            if y - x > MAX_SENTENCE_CHARS:
                pieces.extend((px, py, True) for px, py in _split_long(text, x, y))
            elif x < y:
                pieces.append((x, y, False))
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
        for k, (x, y, split) in enumerate(pieces):
            is_head = level is not None and k == 0 and not split
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
