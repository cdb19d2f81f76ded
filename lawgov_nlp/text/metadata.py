"""Who wrote a report, about which year, of which kind: metadata read from its title and opening.

Pure functions on ``str``. :func:`extract_metadata` reads the first lines (title, 文号, date,
opening sentence), the headings, the last lines (落款: office and date), a 来源/发布机构 line
and, for a web page, the HTML ``<title>``. Fields:

* ``title``: the report's title line (two lines when a title wraps);
* ``office``: who issued it (荥阳市人民政府, 宜阳县司法局, or a bare place such as 宜阳县 when
  the title names only the place);
* ``level``: 省 / 市 / 县 / 区 / 乡镇 / 街道 / 部门, from the office's name (部门: a department
  such as a 司法局, not the government of a place);
* ``year``: the year reported on (``2023年度``, a title's ``2023年``, an opening ``2023年，我市…``
  or a heading ``一、2023年度…``), never the publication date;
* ``genre``: one of :data:`GENRES` (annual_report, rectification, work_plan, news, inspection,
  other), from the title's words or, without them, the structure (``存在问题1：`` +
  ``工作举措：`` lines; the headings of an annual report);
* ``date``: the publication date (``2024-12-16``) from a date line, a 落款 or 发布时间.

Nothing is guessed: each field is a :class:`MetaField` with its evidence -- the exact span
``source_text[start:end]`` it was read from and the rule that read it -- or ``None`` when no
rule found it. ``source`` is ``"text"`` (offsets into the document text) or ``"page_title"``
(offsets into the HTML ``<title>``). Traditional script is matched through a same-length
simplified copy (:func:`~lawgov_nlp.text.chars.to_simplified_chars`), so offsets stay exact and
values keep the document's own script.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from .chars import to_simplified_chars
from .segment import heading_level

#: Genre codes and their Chinese names, in the order the rules try them.
GENRES: dict[str, str] = {
    "rectification": "整改方案/问题清单",
    "inspection": "督察通报",
    "work_plan": "工作要点",
    "annual_report": "年度报告",
    "news": "新闻报道",
    "other": "其他",
}
#: The levels an office can have.
LEVELS = ("省", "市", "县", "区", "乡镇", "街道", "部门")
FIELDS = ("title", "office", "level", "year", "genre", "date")

HEAD_LINES = 14     # the first non-empty lines searched for a title, 文号, date, opening sentence
TAIL_LINES = 6      # the last non-empty lines searched for a 落款 (office, date)

_H = "\u4e00-\u9fff"
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_YEAR = r"(?:(?:19|20)\d{2}|[二][〇零○Ｏ一二三四五六七八九]{3})"
_MD = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_DATE_RE = re.compile(rf"({_YEAR})\s*年\s*({_MD})\s*月\s*({_MD})\s*日")
_ISO_DATE_RE = re.compile(r"((?:19|20)\d{2})[-/.年]\s*(\d{1,2})[-/.月]\s*(\d{1,2})日?")

# A place: one to three named units (河南省郑州市荥阳市, 洛阳市宜阳县, 某某县某某镇).
_SUFFIX = r"(?:特别行政区|自治区|自治州|自治县|自治旗|地区|街道|省|市|州|盟|县|旗|区|镇|乡)"
# a unit's name never holds 关于 / 人民 / 政府 / 的, and 我市, 本县, 全区 … are no names
_UNIT = rf"(?!(?:我|本|全|该|各|其)(?:{_SUFFIX}))(?:(?!关于|关於|人民|政府|的)[{_H}]){{1,8}}?{_SUFFIX}"
_PLACE = rf"(?:{_UNIT}){{1,3}}"
_GOV = r"人民政府(?:办公室|办公厅)?|街道办事处|办事处"
_DEPT = rf"[{_H}]{{1,12}}?(?:局|厅|委员会|办公室|管委会|中心)|依法治[省市县区]办"
_OFFICE_RE = re.compile(rf"(?:中共)?(?P<place>{_PLACE})(?:(?P<gov>{_GOV})|(?P<dept>{_DEPT})|(?P<party>委))")
_PLACE_RE = re.compile(rf"(?P<place>{_PLACE})")

# Title lines name what the document is; a line without one of these words is not taken for a title.
_TITLE_WORDS = re.compile(r"报告|方案|要点|通报|清单|举措|措施|意见|通知|计划|总结|情况|决定|办法|规定|安排|"
                          r"召开|举行|举办|开展|启动|推进会|获评|入选|荣获|走进")
_DOC_NUMBER = re.compile(r"^[^\s，。]{1,12}[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*\d+\s*号$")
_LABEL_LINE = re.compile(r"^(?:来源|信息来源|发布机构|发文机关|发布单位|发布时间|发布日期|成文日期|索引号|"
                         r"主题分类|文号|作者|编辑|责任编辑|浏览次数|字号)\s*[:：]")
# Web page chrome among the first lines: breadcrumbs, print/close links (never a title or a source)
_NAV_LINE = re.compile(r"^(?:当前位置|您当前所在的位置|您的位置|所在位置)|首页\s*[>＞»]|\s[>＞»]\s|【(?:打印|关闭|字体)")
_SOURCE_RE = re.compile(r"(?:来源|信息来源|发布机构|发文机关|发布单位)\s*[:：]\s*")
_PUBLISHED_RE = re.compile(r"(?:发布时间|发布日期|成文日期|印发日期|时间)\s*[:：]\s*")
_OPENING_RE = re.compile(rf"^({_YEAR})\s*年(?:度|以来)?\s*[，,]")
_HEADING_YEAR = re.compile(rf"({_YEAR})\s*年度")
_TITLE_YEAR = re.compile(rf"({_YEAR})\s*年")

# Genre by the title's words (simplified script), tried in order.
_GENRE_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("rectification", re.compile(r"整改|问题清单|问题台账|问题.{0,4}(?:举措|措施)清单")),
    ("inspection", re.compile(r"督察.{0,12}(?:通报|反馈)|(?:通报|反馈).{0,12}督察|督查.{0,6}通报")),
    ("work_plan", re.compile(r"工作要点|工作计划|工作安排|任务清单|重点任务")),
    ("annual_report", re.compile(r"年度报告|(?:情况|工作)的?报告|工作总结|年度.{0,20}报告|报告$")),
    ("news", re.compile(r"^(?!关[于於]).*?(?:召开|举行|举办|启动|开展|部署|推进会|培训班|获评|荣获|入选|走进|调研)")),
]
# Genre by structure: problem→measure fields; the headings of an annual report (主要举措和成效,
# 存在的不足, 下一年度安排), of which two must be there.
_PROBLEM_FIELD = re.compile(r"(?:存在问题|问题表现|主要问题)\s*(?:[0-9]{1,3}|[一二三四五六七八九十]{1,3})?\s*[:：]")
_MEASURE_FIELD = re.compile(r"(?:工作举措|整改措施|工作措施|具体措施|主要举措)\s*[:：]")
_ANNUAL_HEADINGS = (
    re.compile(r"(?:举措|做法|工作)和?成效|工作开展情况|主要工作(?:情况)?|工作情况"),
    re.compile(r"存在的?(?:主要)?(?:问题|不足)|(?:问题|不足)和原因|主要存在问题"),
    re.compile(r"下一步|下一年度|(?:19|20)\d{2}年.{0,16}(?:安排|打算|计划|思路)|工作(?:安排|打算|计划|思路)"),
)


@dataclass(frozen=True)
class MetaField:
    """One metadata value and where it was read: ``source_text[start:end] == evidence``."""

    value: Any
    start: int
    end: int
    evidence: str
    source: str = "text"   # "text": offsets into the document text; "page_title": into the HTML <title>
    rule: str = ""         # which rule read it (title, opening, heading, signature, source-line …)

    def to_dict(self) -> dict:
        return {"value": self.value, "start": self.start, "end": self.end, "evidence": self.evidence,
                "source": self.source, "rule": self.rule}

    @classmethod
    def from_dict(cls, d: dict) -> "MetaField":
        return cls(d["value"], int(d["start"]), int(d["end"]), str(d.get("evidence", "")),
                   str(d.get("source", "text")), str(d.get("rule", "")))


@dataclass(frozen=True)
class DocumentMetadata:
    """Title, office, level, year, genre and publication date of a report; ``None`` = not found."""

    title: MetaField | None = None
    office: MetaField | None = None
    level: MetaField | None = None
    year: MetaField | None = None
    genre: MetaField | None = None
    date: MetaField | None = None
    page_title: str = field(default="", compare=False)

    def value(self, name: str) -> Any:
        f = getattr(self, name)
        return f.value if f is not None else None

    def values(self) -> dict[str, Any]:
        """``{field: value or None}`` for every field."""
        return {k: self.value(k) for k in FIELDS}

    @property
    def genre_name(self) -> str:
        g = self.value("genre")
        return GENRES.get(g, g or "")

    @property
    def office_key(self) -> str:
        """The office for matching reports across years: simplified, 人民政府 dropped (荥阳市人民政府 =
        荥阳市), white space removed; "" when no office was found."""
        o = self.value("office")
        if not o:
            return ""
        s = re.sub(r"\s+", "", to_simplified_chars(str(o)))
        s = re.sub(r"^中共", "", s)
        return re.sub(r"人民政府$", "", s) or s

    def to_dict(self) -> dict:
        return {k: (getattr(self, k).to_dict() if getattr(self, k) is not None else None) for k in FIELDS}

    @classmethod
    def from_dict(cls, d: dict | None) -> "DocumentMetadata":
        d = d or {}
        return cls(**{k: (MetaField.from_dict(d[k]) if isinstance(d.get(k), dict) else None) for k in FIELDS})

    def columns(self, prefix: str = "doc_") -> dict[str, Any]:
        """Flat columns for a row (``doc_title`` … ``doc_date``; "" where not found)."""
        out = {}
        for k in FIELDS:
            v = self.value(k)
            out[f"{prefix}{k}"] = "" if v is None else v
        return out

    def format(self) -> str:
        return "；".join(f"{k}={self.value(k)}" for k in FIELDS if self.value(k) not in (None, ""))


# --------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str      # the original slice
    simp: str      # its same-length simplified copy


def _lines(text: str, simp: str) -> list[_Line]:
    """Non-empty lines with white space (also U+3000) trimmed, as exact spans."""
    out = []
    for m in re.finditer(r"[^\n\r]+", text):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace() or a < b and text[a] in "\u200b\ufeff":
            a += 1
        while b > a and (text[b - 1].isspace() or text[b - 1] in "\u200b\ufeff"):
            b -= 1
        if a < b:
            out.append(_Line(a, b, text[a:b], simp[a:b]))
    return out


def _field(text: str, a: int, b: int, value: Any, rule: str, source: str = "text") -> MetaField:
    return MetaField(value, a, b, text[a:b], source, rule)


def _cn_number(s: str) -> int | None:
    """一 … 三十一, 〇/零 digits (二〇二三) or Arabic digits as an int."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if all(c in _CN_DIGITS for c in s) and len(s) >= 2:  # digit by digit: 二〇二三
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else 10 * t + o
    return _CN_DIGITS.get(s)


def _year(s: str) -> int | None:
    y = _cn_number(s)
    return y if y is not None and 1990 <= y <= 2100 else None


def _date_value(y: str, m: str, d: str) -> str | None:
    import datetime as _dt

    yy, mm, dd = _year(y), _cn_number(m), _cn_number(d)
    if yy is None or mm is None or dd is None:
        return None
    try:
        return _dt.date(yy, mm, dd).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- the rules
def _is_title_line(ln: _Line) -> bool:
    s = ln.simp
    return (4 <= len(s) <= 80 and not re.search(r"[。；;！？!?]", s) and not s.endswith(("：", ":", "，", ","))
            and heading_level(s) is None and not _DOC_NUMBER.match(s) and not _LABEL_LINE.match(s)
            and not _DATE_RE.fullmatch(s) and not _OPENING_RE.match(s) and bool(_TITLE_WORDS.search(s)))


def _title(lines: list[_Line], text: str) -> MetaField | None:
    """The first title-like line among the first lines; a title that wraps onto a second short line
    (``…法治政府`` / ``建设情况的报告``) is both lines."""
    head = lines[:HEAD_LINES]
    for i, ln in enumerate(head):
        if heading_level(ln.simp) is not None and heading_level(ln.simp) <= 2:
            break  # the body has begun
        nxt = head[i + 1] if i + 1 < len(head) else None
        joinable = (nxt is not None and len(nxt.simp) <= 30 and not re.search(r"[。；;，,：:！？]", nxt.simp)
                    and heading_level(nxt.simp) is None and not _DATE_RE.fullmatch(nxt.simp)
                    and not _LABEL_LINE.match(nxt.simp))
        if _is_title_line(ln):
            if joinable and not _ends_like_title(ln.simp) and _ends_like_title(nxt.simp) \
                    and text[ln.end:nxt.start].count("\n") <= 1:
                return MetaField(ln.text + nxt.text, ln.start, nxt.end, text[ln.start:nxt.end], "text", "title")
            return _field(text, ln.start, ln.end, ln.text, "title")
        if joinable and not re.search(r"[。；;，,：:]", ln.simp) and len(ln.simp) <= 40 and _ends_like_title(nxt.simp) \
                and not _DOC_NUMBER.match(ln.simp) and not _LABEL_LINE.match(ln.simp) \
                and not _DATE_RE.fullmatch(ln.simp) and _OFFICE_RE.search(ln.simp) \
                and text[ln.end:nxt.start].count("\n") <= 1:
            return MetaField(ln.text + nxt.text, ln.start, nxt.end, text[ln.start:nxt.end], "text", "title")
    return None


def _ends_like_title(s: str) -> bool:
    return bool(re.search(r"(?:报告|方案|要点|通报|清单|举措|措施|意见|通知|计划|总结|情况|安排)$", s))


def _offices_at(simp: str, pos: int) -> Iterator[re.Match]:
    """Office names listed from ``pos`` on (``中共姚安县委、姚安县人民政府``), in order."""
    while True:
        m = _OFFICE_RE.match(simp, pos)
        if not m:
            return
        yield m
        pos = m.end()
        if pos < len(simp) and simp[pos] in "、和及与":
            pos += 1
            continue
        return


def _office_field(m: re.Match, base: int, text: str, rule: str, source: str = "text") -> tuple[MetaField, MetaField]:
    """(office, level) from an office match at offset ``base`` of ``text``."""
    a, b = base + m.start(), base + m.end()
    office = _field(text, a, b, text[a:b], rule, source)
    if m.group("gov") and m.group("gov").startswith("人民政府") and not m.group("gov").endswith(("办公室", "办公厅")) \
            or m.group("gov") and "办事处" in m.group("gov") or m.group("party"):
        level = _place_level(m.group("place"))
        if m.group("gov") and "办事处" in m.group("gov") and level != "街道":
            level = "街道" if "街道" in m.group("gov") else level
    else:
        level = "部门"
    return office, _field(text, a, b, level, rule, source)


def _place_level(place: str) -> str:
    if place.endswith(("特别行政区", "自治区", "省")):
        return "省"
    if place.endswith("街道"):
        return "街道"
    if place.endswith(("镇", "乡")):
        return "乡镇"
    if place.endswith(("县", "旗")):
        return "县"
    if place.endswith("区") and not place.endswith("地区"):
        return "区"
    return "市"  # 市, 州, 盟, 地区


def _office_in(ln: _Line, text: str, rule: str, *, whole: bool = False, source: str = "text"):
    """An office named in a line: the best of those listed at its start (a government before a party
    committee), or with ``whole`` only a line that is nothing but an office name."""
    ms = list(_offices_at(ln.simp, 0))
    if whole:
        ms = [m for m in ms if m.end() == len(ln.simp)]
    if not ms:
        return None
    best = next((m for m in ms if not m.group("party")), ms[0])
    return _office_field(best, ln.start, text, rule, source)


def _title_office(title: MetaField, text: str, source: str = "text"):
    """(office, level) from a title: an office at its start, else the place it starts with."""
    simp = to_simplified_chars(title.evidence)
    lead = re.match(rf"{_YEAR}\s*年度?", simp)  # 2023年XX市法治政府建设年度报告
    ms = list(_offices_at(simp, lead.end() if lead else 0))
    if ms:
        best = next((m for m in ms if not m.group("party")), ms[0])
        return _office_field(best, title.start, text, "title", source)
    m = _PLACE_RE.match(simp, lead.end() if lead else 0)
    if m and not re.match(r"(?:关[于於]|印发|全[省市县区])", simp):
        a, b = title.start + m.start(), title.start + m.end()
        return _field(text, a, b, text[a:b], "title-place", source), \
            _field(text, a, b, _place_level(m.group("place")), "title-place", source)
    return None


def _year_in(span_simp: str, base: int, text: str, pattern: re.Pattern[str], rule: str,
             source: str = "text") -> MetaField | None:
    for m in pattern.finditer(span_simp):
        before = span_simp[max(0, m.start() - 1):m.start()]
        if before in "〔[［【(（":
            continue  # a document number's year (宜政办〔2024〕22号) is not the year reported on
        y = _year(m.group(1))
        if y is not None:
            return _field(text, base + m.start(), base + m.end(), y, rule, source)
    return None


def _genre_from_title(title: MetaField, text: str) -> MetaField | None:
    simp = to_simplified_chars(title.evidence)
    for code, pat in _GENRE_WORDS:
        m = pat.search(simp)
        if m:
            a, b = title.start + m.start(), title.start + m.end()
            return _field(text, a, b, code, "title", title.source)
    return None


def _genre_from_structure(lines: list[_Line], text: str) -> MetaField | None:
    probs = [ln for ln in lines if _PROBLEM_FIELD.match(ln.simp)]
    measures = [ln for ln in lines if _MEASURE_FIELD.match(ln.simp)]
    if len(probs) >= 2 and measures:
        m = _PROBLEM_FIELD.match(probs[0].simp)
        return _field(text, probs[0].start, probs[0].start + m.end(), "rectification", "problem-measure fields")
    heads = [ln for ln in lines if heading_level(ln.simp) == 1]
    found: list[tuple[int, int]] = []
    for pat in _ANNUAL_HEADINGS:
        for ln in heads:
            m = pat.search(ln.simp)
            if m:
                found.append((ln.start + m.start(), ln.start + m.end()))
                break
    if len(found) >= 2:
        a, b = min(found)
        return _field(text, a, b, "annual_report", "annual-report headings")
    return None


def _published(lines: list[_Line], text: str) -> MetaField | None:
    head, tail = lines[:HEAD_LINES], lines[-TAIL_LINES:]
    for ln in head + tail:  # 发布时间：2024-03-20
        m = _PUBLISHED_RE.search(ln.simp)
        if m:
            d = _DATE_RE.match(ln.simp, m.end()) or _ISO_DATE_RE.match(ln.simp, m.end())
            if d:
                v = _date_value(*d.groups())
                if v:
                    return _field(text, ln.start + d.start(), ln.start + d.end(), v, "published-line")
    for rule, group in (("signature", reversed(tail)), ("date-line", head)):
        for ln in group:  # a line that is only a date: the 落款 date, or one under the title
            d = _DATE_RE.fullmatch(ln.simp) or _ISO_DATE_RE.fullmatch(ln.simp)
            if d:
                v = _date_value(*d.groups())
                if v:
                    return _field(text, ln.start, ln.end, v, rule)
    return None


def _signature_office(lines: list[_Line], text: str):
    """The 落款: an office alone on one of the last lines, next to a date line."""
    tail = lines[-TAIL_LINES:]
    for i in range(len(tail) - 1, -1, -1):
        ln = tail[i]
        near = tail[max(0, i - 1):i + 2]
        if any(_DATE_RE.fullmatch(x.simp) or _ISO_DATE_RE.fullmatch(x.simp) for x in near if x is not ln):
            got = _office_in(ln, text, "signature", whole=True)
            if got:
                return got
    return None


def _source_office(lines: list[_Line], text: str):
    for ln in lines[:HEAD_LINES] + lines[-TAIL_LINES:]:
        m = _SOURCE_RE.search(ln.simp)
        if m:
            sub = _Line(ln.start + m.end(), ln.end, text[ln.start + m.end():ln.end], ln.simp[m.end():])
            got = _office_in(sub, text, "source-line")
            if got:
                return got
    return None


def _opening(lines: list[_Line], text: str, title: MetaField | None) -> tuple[Any, Any]:
    """(year, (office, level)) from an opening ``2023年，XX县人民政府坚持……`` among the first lines."""
    for ln in lines[:HEAD_LINES]:
        if title is not None and ln.start < title.end:
            continue
        lvl = heading_level(ln.simp)
        if lvl is not None and lvl <= 2:
            break
        m = _OPENING_RE.match(ln.simp)
        if m:
            y = _year(m.group(1))
            year = _field(text, ln.start + m.start(1), ln.start + m.end(), y, "opening") if y else None
            ms = list(_offices_at(ln.simp, m.end()))
            office = None
            if ms:
                best = next((x for x in ms if not x.group("party")), ms[0])
                office = _office_field(best, ln.start, text, "opening")
            return year, office
    return None, None


def _clean_page_title(page_title: str) -> tuple[int, int] | None:
    """The part of an HTML <title> before the site name (``…报告_XX人民政府网``, ``… - 门户网站``)."""
    s = page_title
    a = len(s) - len(s.lstrip())
    cut = re.search(r"\s*(?:[_|｜]|\s[-—–]\s)", s[a:])
    b = a + cut.start() if cut else len(s.rstrip())
    return (a, b) if b > a else None


def extract_metadata(text: str, page_title: str = "") -> DocumentMetadata:
    """Title, office, level, year, genre and publication date of a report (see the module docstring).

    ``page_title`` is an HTML page's ``<title>``; it is used only for what the text itself does not
    give (its fields have ``source="page_title"``).
    """
    simp = to_simplified_chars(text)
    lines = [ln for ln in _lines(text, simp) if not _NAV_LINE.search(ln.simp)]
    got: dict[str, MetaField | None] = dict.fromkeys(FIELDS)
    title = _title(lines, text)
    pt = None
    if page_title:
        span = _clean_page_title(page_title)
        if span:
            ln = _Line(span[0], span[1], page_title[span[0]:span[1]], to_simplified_chars(page_title[span[0]:span[1]]))
            if _TITLE_WORDS.search(ln.simp):
                pt = _field(page_title, ln.start, ln.end, ln.text, "page-title", "page_title")
    got["title"] = title or pt

    # genre: the title's words > the structure > "other" for a title that says none of them
    g = _genre_from_title(got["title"], page_title if got["title"] is pt else text) if got["title"] else None
    g = g or _genre_from_structure(lines, text)
    if g is None and title is not None:
        g = _field(text, title.start, title.end, "other", "title")
    got["genre"] = g

    # office and level: an office in the title > 落款 > the opening's subject > the place the title
    # starts with > a 来源/发布机构 line (the web publisher); for news the publisher comes second
    from_title = _title_office(title, text) if title else None
    o_year, o_office = _opening(lines, text, title)
    source = _source_office(lines, text)
    title_office = from_title if from_title and from_title[1].rule == "title" else None
    title_place = from_title if from_title and from_title[1].rule == "title-place" else None
    order = [title_office, _signature_office(lines, text), o_office, title_place, source]
    if g is not None and g.value == "news":
        order = [title_office, source] + order[1:4]
    candidates = [x for x in order if x]
    if not candidates and pt is not None:
        from_pt = _title_office(pt, page_title, "page_title")
        if from_pt:
            candidates.append(from_pt)
    if candidates:
        got["office"], got["level"] = candidates[0]

    # year reported on: title > opening sentence > a heading's 年度 (never a date line)
    year = None
    if title:
        year = _year_in(to_simplified_chars(title.evidence), title.start, text, _TITLE_YEAR, "title")
    year = year or o_year
    if year is None:
        for ln in lines:
            if heading_level(ln.simp) is not None:
                year = _year_in(ln.simp, ln.start, text, _HEADING_YEAR, "heading")
                if year:
                    break
    if year is None and pt is not None and title is None:
        year = _year_in(to_simplified_chars(pt.evidence), pt.start, page_title, _TITLE_YEAR, "page-title",
                        "page_title")
    got["year"] = year

    got["date"] = _published(lines, text)
    return DocumentMetadata(**got, page_title=page_title)
