"""Character-level helpers: script detection and conversion, mojibake spans, page chrome lines.

All pure functions on ``str``; OpenCC tables load on first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

# --------------------------------------------------------------------------- Chinese characters
#: What lawgov-nlp counts as a Chinese character, everywhere (reading, chrome and mojibake
#: patterns, script detection): the CJK ideographs of Unicode -- the unified block, every
#: extension (A to I) and both compatibility blocks -- plus 〇 (U+3007, the ideographic zero of
#: dates such as 二〇二三年). Radicals, strokes and CJK punctuation are not characters of text.
HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3007, 0x3007),    # 〇 ideographic number zero
    (0x3400, 0x4DBF),    # Extension A
    (0x4E00, 0x9FFF),    # CJK Unified Ideographs
    (0xF900, 0xFAFF),    # CJK Compatibility Ideographs
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2EE5F),  # Extensions C, D, E, F, I
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
    (0x30000, 0x323AF),  # Extensions G, H
)
#: The same set as the body of a regular-expression character class (``f"[{HAN}]"``).
HAN = "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in HAN_RANGES)
#: One Chinese character.
HAN_RE = re.compile(f"[{HAN}]")


def is_han(ch: str) -> bool:
    """Whether the single character ``ch`` is a Chinese character (see :data:`HAN_RANGES`)."""
    o = ord(ch)
    return any(a <= o <= b for a, b in HAN_RANGES)


def count_han(text: str) -> int:
    """How many Chinese characters ``text`` holds."""
    return len(HAN_RE.findall(text))



# --------------------------------------------------------------------------- script
@lru_cache(maxsize=1)
def _script_tables() -> tuple[frozenset[str], frozenset[str]]:
    """(traditional-only characters, simplified-only characters) from OpenCC's character tables."""
    import os

    import opencc

    base = os.path.join(os.path.dirname(opencc.__file__), "dictionary")

    def read(name: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with open(os.path.join(base, name), encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2 and len(parts[0]) == 1:
                    out[parts[0]] = parts[1].split()
        return out

    t2s = read("TSCharacters.txt")
    s2t = read("STCharacters.txt")
    trad = frozenset(t for t, ss in t2s.items() if t not in ss and t not in s2t)
    simp = frozenset(s for s, ts in s2t.items() if s not in ts and s not in t2s)
    # one simplified character per traditional one (OpenCC's first choice): for to_simplified_chars
    _T2S_CHARS.update({t: ss[0] for t, ss in t2s.items() if t in trad and ss and len(ss[0]) == 1})
    return trad, simp


_T2S_CHARS: dict[str, str] = {}


def detect_script(text: str, sample: int = 200_000) -> str:
    """'traditional', 'simplified', 'mixed' or 'none' (no Chinese characters)."""
    trad, simp = _script_tables()
    t = s = 0
    for ch in text[:sample]:
        if ch in trad:
            t += 1
        elif ch in simp:
            s += 1
    if t == 0 and s == 0:
        return "none" if not HAN_RE.search(text[:sample]) else "simplified"
    if t >= 4 * s:
        return "traditional"
    if s >= 4 * t:
        return "simplified"
    return "mixed"


@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Simplified-script copy of ``text`` (OpenCC t2s). The original is never modified."""
    trad, _ = _script_tables()
    if not any(ch in trad for ch in text):
        return text
    return _converter("t2s").convert(text)


def to_simplified_chars(text: str) -> str:
    """Simplified-script copy of ``text`` of the same length, character by character.

    Every character ``text[i]`` becomes ``result[i]`` (OpenCC's first single-character choice;
    no phrase conversion), so an offset found in the copy is the same offset in ``text``.
    For matching patterns across scripts; :func:`to_simplified` is the better copy to read.
    """
    trad, _ = _script_tables()
    if not any(ch in trad for ch in text):
        return text
    return "".join(_T2S_CHARS.get(ch, ch) for ch in text)


def to_traditional(text: str, config: str = "s2tw") -> str:
    """Traditional-script copy of ``text`` (OpenCC, Taiwan standard characters by default)."""
    return _converter(config).convert(text)


# --------------------------------------------------------------------------- mojibake
@dataclass(frozen=True)
class Span:
    """A flagged span of the text: ``text[start:end]``, what kind and a short reason."""

    start: int
    end: int
    kind: str
    text: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "kind": self.kind, "text": self.text}


_MOJIBAKE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("replacement-char", re.compile("\ufffd+")),
    ("kunkao", re.compile("(?:锟斤拷|锟|斤拷)+")),
    ("debug-fill", re.compile("(?:烫){2,}|(?:屯){3,}")),
    ("private-use", re.compile("[\ue000-\uf8ff]+")),
    ("c1-control", re.compile("[\x80-\x9f]+")),
    # UTF-8 read as Latin-1 / cp1252: Ã© æ³• ...
    ("latin1-utf8", re.compile("(?:[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2026\u2030\u2039\u203a\u20ac\u2122]{1,2}){2,}")),
    # "?" eaten-character marks between Chinese characters: 法?,F將, 政?府
    ("question-mark", re.compile(rf"(?<=[{HAN}])\?[\x21-\x7e]{{0,3}}(?=[{HAN}])")),
]


def find_mojibake(text: str) -> list[Span]:
    """Suspicious spans (garbled characters) with offsets; never raises."""
    spans: list[Span] = []
    for kind, pat in _MOJIBAKE_PATTERNS:
        for m in pat.finditer(text):
            spans.append(Span(m.start(), m.end(), kind, m.group()))
    spans.sort(key=lambda s: (s.start, s.end))
    return spans


# --------------------------------------------------------------------------- page chrome
_CHROME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("breadcrumb", re.compile(r"^(?:您)?(?:当前|现在)?(?:所在|所处)?(?:的)?位置\s*[:：]|^当前位置|^首页\s*(?:[>＞»/\\|]|-&gt;|->)")),
    ("breadcrumb", re.compile(r"^[^。，,；;]{1,12}(?:\s*(?:>|＞|»|->|→)\s*[^。，,；;>＞»→]{1,16}){2,}$")),
    ("meta", re.compile(r"(?:^|\s)(?:信息)?来源\s*[:：]|发布(?:时间|日期)\s*[:：]|(?:^|\s)时间\s*[:：]\s*\d{4}|(?:浏览|阅读|访问|点击)(?:次数|量|数)\s*[:：]|(?:^|\s)作者\s*[:：]|(?:^|\s)编辑\s*[:：]|(?:^|\s)责任编辑\s*[:：]|(?:^|\s)索引号\s*[:：]|(?:^|\s)发文机关\s*[:：]|(?:^|\s)主题分类\s*[:：]|(?:^|\s)成文日期\s*[:：]|(?:^|\s)公开方式\s*[:：]")),
    ("tools", re.compile(r"字体\s*[:：]?\s*[【\[]?\s*大\s*中\s*小|【\s*(?:大|中|小)\s*】|打印本页|【?\s*打印\s*】?\s*【?\s*关闭\s*】?$|关闭(?:窗口|本页)|返回顶部|分享到|扫一扫|在手机上查看|收藏本页|加入收藏|【\s*(?:打印|关闭|收藏|返回)\s*】|^(?:打印|关闭|返回|分享|收藏)(?:\s+(?:打印|关闭|返回|分享|收藏))*$")),
    ("footer", re.compile(r"网站标识码|(?:ICP|icp)\s*备|备案号|公网安备|主办单位\s*[:：]|承办单位\s*[:：]|技术支持\s*[:：]|维护单位\s*[:：]|版权所有|Copyright|©|网站地图|联系我们|建议使用.{0,20}浏览器|最佳分辨率|^(?:联系电话|地址|邮编)\s*[:：]")),
    ("marker", re.compile(r"^(?:头部|底部|footer底部|footer|header|页头|页脚|页尾|导航|顶部)$", re.IGNORECASE)),
    # "- 3 -", "第3页", "第3页 共12页": always a page number. A bare "3" is one only where the text
    # shows pages (see find_chrome): alone it may be a table cell or a count.
    ("page-number", re.compile(r"^(?:[-—–－]+\s*\d{1,4}\s*[-—–－]+|第\s*\d{1,4}\s*页\s*(?:[，,/]?\s*共\s*\d{1,4}\s*页)?"
                               r"|共\s*\d{1,4}\s*页\s*[，,/]?\s*第\s*\d{1,4}\s*页)$")),
    ("nav", re.compile(rf"^(?:[{HAN}]{{2,6}}(?:\s*[|｜丨/]\s*|\s{{2,}})){{3,}}[{HAN}]{{2,6}}$")),
]
_ORG_END = re.compile(r"(?:政府|局|委员会|委|办公室|办事处|中心|院|厅|部|队|所|站|会)$")
_SHORT_NAV = re.compile(rf"^[{HAN}A-Za-z\s]{{1,6}}$")


def chrome_kind(line: str) -> str | None:
    """The kind of page chrome a single line is, or None for report text.

    A line that is only a number ("12") is not chrome by itself; :func:`find_chrome` decides
    from the lines around it whether it is a page number.
    """
    s = line.strip()
    if not s:
        return None
    # a real sentence that merely mentions 来源 or 版权 is long and punctuated like prose
    long_prose = len(s) > 60 and sum(s.count(c) for c in "，,。；") >= 2
    for kind, pat in _CHROME_PATTERNS:
        if pat.search(s):
            if long_prose and kind in ("meta", "footer", "tools"):
                continue
            return kind
    return None


_BARE_NUMBER = re.compile(r"^[-—–－]?\s*(\d{1,3})\s*[-—–－]?$")
_DECORATED_NUMBER = re.compile(r"(\d{1,4})")
#: Non-empty lines that must stand between two bare numbers for them to be page numbers of a sequence.
PAGE_GAP_LINES = 3
_TABLE_GAP_LINES = 8  # numbers always this few lines apart are a table's rows, not pages


def page_number_lines(bodies: Sequence[str], page_breaks_after: Iterable[int] = ()) -> set[int]:
    """Indices of the lines that are page numbers, from the lines' context.

    ``bodies`` are the lines without their line ends; ``page_breaks_after`` the indices of lines
    followed by a page break (a form feed in text extracted from a PDF). A decorated number
    (``- 3 -``, ``第3页``) is always a page number. A bare one (``3``, ``3 -``; at most three
    digits) is one when it is the nearest non-empty line to a page break, or when it belongs to
    a sequence of page numbers (each one more than the last, with at least
    :data:`PAGE_GAP_LINES` non-empty lines between them, and not always the same few lines, as
    the serial numbers of a table pasted as text are). Any other line that is only a number is
    report text (a table cell, a count).
    """
    return _page_numbers(bodies, page_breaks_after, [chrome_kind(b) for b in bodies])


def _page_numbers(bodies: Sequence[str], page_breaks_after: Iterable[int], kinds: Sequence[str | None]) -> set[int]:
    out: set[int] = set()
    cands: list[tuple[int, int, bool]] = []  # (line, value, decorated)
    for i, b in enumerate(bodies):
        s = b.strip()
        if not s or len(s) > 24:
            continue
        if kinds[i] == "page-number":
            m = _DECORATED_NUMBER.search(s)
            out.add(i)
            if m:
                cands.append((i, int(m.group(1)), True))
            continue
        m = _BARE_NUMBER.match(s)
        if m:
            cands.append((i, int(m.group(1)), False))
    if not cands:
        return out
    bare = {i for i, _, dec in cands if not dec}
    nonempty = [0]
    for i, b in enumerate(bodies):
        nonempty.append(nonempty[-1] + (1 if b.strip() and i not in bare else 0))
    # next to a page break
    for brk in page_breaks_after:
        j = brk
        while j >= 0 and not bodies[j].strip():
            j -= 1
        if j in bare:
            out.add(j)
        j = brk + 1
        while j < len(bodies) and not bodies[j].strip():
            j += 1
        if j in bare:
            out.add(j)
    # sequences: n, n+1, n+2 ... each separated by a page's worth of lines
    open_chains: dict[int, list[int]] = {}
    chains: list[list[int]] = []
    for i, v, _ in cands:
        chain = open_chains.pop(v, None)
        if chain is not None and nonempty[i] - nonempty[chain[-1] + 1] >= PAGE_GAP_LINES:
            chain.append(i)
        else:
            if chain is not None:
                open_chains[v] = chain
            chain = [i]
            chains.append(chain)
        open_chains[v + 1] = chain
    for chain in chains:
        if len(chain) < 2:
            continue
        gaps = {nonempty[b] - nonempty[a + 1] for a, b in zip(chain, chain[1:])}
        if len(gaps) == 1 and min(gaps) < _TABLE_GAP_LINES:
            continue  # 1, 2, 3 at a short, fixed distance: the serial-number column of a table
        out.update(i for i in chain if i in bare)
    return out


def find_chrome(text: str, max_edge_lines: int = 40, *, paged: bool = True) -> list[Span]:
    """Page-chrome lines (navigation, 来源/发布时间, print/close links, footers, page numbers) as spans.

    A line is chrome when it matches a chrome pattern anywhere in the text, or
    when it is a short navigation item (``首页``, ``政务公开``) standing among
    chrome lines at the top or bottom of the page. Page numbers are found by
    :func:`page_number_lines` when the text may come from pages (``paged``:
    plain text, PDF, Word); a web page (``paged=False``) has no pages, so a line
    that is only a number there is never taken for one.
    """
    lines: list[tuple[int, int, str]] = []
    breaks: list[int] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        if raw.endswith("\x0c"):
            breaks.append(len(lines))
        lines.append((pos, pos + len(body), body))
        pos += len(raw)
    kinds = [chrome_kind(b) for _, _, b in lines]
    if paged:
        for i in _page_numbers([b for _, _, b in lines], breaks, kinds):
            kinds[i] = "page-number"

    def is_short_nav(body: str) -> bool:
        s = body.strip()
        return bool(_SHORT_NAV.match(s)) and not _ORG_END.search(s) and not re.search(r"\d", s)

    # top block: short navigation items before the first chrome-free prose line, if web chrome is
    # there (a page number is not: it says nothing about the short lines above it)
    top = [i for i in range(min(len(lines), max_edge_lines)) if kinds[i] not in (None, "page-number")]
    if top:
        last_top = max(top)
        for i in range(0, last_top):
            if kinds[i] is None and lines[i][2].strip() and is_short_nav(lines[i][2]):
                kinds[i] = "nav"
    # bottom block: short items among the footer lines
    bottom = [i for i in range(max(0, len(lines) - max_edge_lines), len(lines)) if kinds[i] == "footer"]
    if bottom:
        first_footer = min(bottom)
        for i in range(first_footer, len(lines)):
            if kinds[i] is None and lines[i][2].strip() and is_short_nav(lines[i][2]):
                kinds[i] = "nav"
    spans = []
    for (a, b, body), k in zip(lines, kinds):
        if k is not None:
            spans.append(Span(a, b, k, body))
    return spans
