from __future__ import annotations

from collections import Counter

from hypothesis import example, given, settings, strategies as st

from lawgov_nlp.text.segment import (MAX_SENTENCE_CHARS, gaps, heading_level, is_invisible, rebuild, segment,
                                     segment_document)


def texts(doc):
    return [s.text for s in doc]


# ----------------------------------------------------------------- the three real reports
def test_sample_headings_by_level(sample_texts):
    # counted by hand in the files: 000 has 一~三 and (一)~(八); 002 has 一~四 and 7+2+6 (x) headings;
    # 004 has 一~六 and 16 problems x 5 titled lines (存在问题N, 工作举措, 牵头单位, 责任单位, 完成时限)
    expected = {
        "000_24fa52f216146201": {1: 3, 2: 8},
        "002_80094dffa8bc5a12": {1: 4, 2: 15},
        "004_1539ae420c6a8cf0": {1: 6, 5: 80},
    }
    for stem, text in sample_texts.items():
        seg = segment_document(text)
        assert dict(Counter(h.level for h in seg.headings)) == expected[stem], stem


def test_sample_000_spot_checks(sample_texts):
    sents = segment(sample_texts["000_24fa52f216146201"])
    t = texts(sents)
    assert t[1] == "现将工作情况报告如下:"
    assert t[2] == "一、工作开展情况" and sents[2].is_heading and sents[2].heading_level == 1
    assert t[3] == "(一)统筹推进法治政府建设,确保高质量发展。" and sents[3].heading_level == 2
    assert sents[4].text.startswith("一是始终坚持高位推动") and sents[4].section == ("一、工作开展情况", t[3])
    # semicolons end sentences; numbers with a decimal point never split
    assert "2023年,组织防汛综合应急演练等市级应急演练15次,参加人数共1553人次;" in t
    assert "乡镇应急演练86次,参加人数共4251人次;" in t
    assert any(s.startswith("截至目前,通过手机办理事项累计3万余件") for s in t)
    problems = [s for s in sents if s.section == ("二、主要存在问题",)]
    # three numbered problems, two of them with a second clause after ";"
    assert [s.text[:4] for s in problems] == ["一是部分", "二是部分", "普法宣传", "三是部分", "府院联动"]
    # headings never fire on body lines that start with a number
    assert not any(s.is_heading for s in sents if s.text.startswith(("2023年", "截至")))


def test_sample_004_titled_lines(sample_texts):
    sents = segment(sample_texts["004_1539ae420c6a8cf0"])
    t = texts(sents)
    assert t[0] == "宜政办〔2024〕22号"
    assert t[3] == "2024年12月16日"
    i = t.index("完成时限:长期坚持")
    assert sents[i].section == ("一、提升领导干部对法治政府建设重视程度方面", "完成时限")
    p2 = [s for s in sents if s.section[-1:] == ("存在问题2",)]
    assert [s.text for s in p2] == [
        "存在问题2:部分领导干部对法治政府建设工作推动力度不够,存在未按照要求落实领导干部学法等制度情况;",
        "县乡两级领导干部对法治建设重视程度“冷热不均”。",
    ]
    # the book-title mark with its own parenthesis does not split
    assert any("《关于印发洛阳市提升法治政府建设工作水平若干举措的通知》(洛政办〔2024〕39号)" in s for s in t)


def test_sample_sentence_counts(sample_texts):
    counts = {k: len(segment(v)) for k, v in sample_texts.items()}
    assert counts == {"000_24fa52f216146201": 93, "002_80094dffa8bc5a12": 99, "004_1539ae420c6a8cf0": 116}


# ----------------------------------------------------------------- rules on made inputs
def test_heading_levels():
    assert heading_level("一、总体情况") == 1
    assert heading_level("十二、其他") == 1
    assert heading_level("（三）规范行政执法") == 2
    assert heading_level("(三)规范行政执法") == 2
    assert heading_level("1.严格落实重大行政决策程序") == 3
    assert heading_level("2、全面推行权责清单") == 3
    assert heading_level("（1）完善裁量基准") == 4
    assert heading_level("(2)完善裁量基准") == 4
    assert heading_level("存在问题1：执法不规范") == 5
    assert heading_level("工作举措:加强培训") == 5
    assert heading_level("牵头单位：县司法局") == 5
    assert heading_level("完成时限：2024年12月底前") == 5
    for body in ["2023年，我县坚持……", "3.3万余件案件办结", "99.19%的事项网上可办", "12345热线受理诉求",
                 "2016-2020年规划", "一是加强领导", "1.5万人次参加培训"]:
        assert heading_level(body) is None, body
    assert heading_level("一、") is None  # a bare marker is not a heading


def test_sentence_boundaries():
    text = "他强调：“要依法行政。要公开透明！”会议要求各部门抓好落实；全年办结率达到99.19%。" \
           "印发《关于加强行政执法（试行）的意见。》后开展培训……下一步将持续推进？是的"
    assert texts(segment(text)) == [
        "他强调：“要依法行政。要公开透明！”",
        "会议要求各部门抓好落实；",
        "全年办结率达到99.19%。",
        "印发《关于加强行政执法（试行）的意见。》后开展培训……",
        "下一步将持续推进？",
        "是的",
    ]


def test_enumeration_markers_split_items():
    text = "主要存在以下问题：一是执法力量薄弱，二是案卷不规范；三是培训不足。"
    assert texts(segment(text)) == ["主要存在以下问题：", "一是执法力量薄弱，", "二是案卷不规范；", "三是培训不足。"]
    text = "重点做好：1.完善清单；2.规范流程。（1）细化标准，（2）加强考核。"
    assert texts(segment(text)) == ["重点做好：", "1.完善清单；", "2.规范流程。", "（1）细化标准，", "（2）加强考核。"]
    # not an enumeration: 统一是, numbers
    assert len(segment("标准统一是关键，共3.3万件。")) == 1


def test_heading_and_body_on_one_line_and_sections():
    text = "一、主要成效\n（一）依法履职。一是甲。二是乙。\n1.细项标题\n（1）更细\n内容句。\n二、问题\n问题句。"
    seg = segment_document(text)
    by_text = {s.text: s for s in seg.sentences}
    assert by_text["（一）依法履职。"].is_heading
    assert by_text["一是甲。"].section == ("一、主要成效", "（一）依法履职。")
    assert by_text["内容句。"].section == ("一、主要成效", "（一）依法履职。", "1.细项标题", "（1）更细")
    assert by_text["问题句。"].section == ("二、问题",)
    assert [h.level for h in seg.headings] == [1, 2, 3, 4, 1]


def test_skip_spans_and_whitespace():
    text = "来源：司法局\n  正文第一句。正文第二句。 \r\n\u3000\u3000第三句\n"
    sents = segment(text, skip=[(0, 6)])
    assert texts(sents) == ["正文第一句。", "正文第二句。", "第三句"]
    assert rebuild(gaps(text, sents), sents) == text


def test_unbalanced_quote_does_not_swallow_the_paragraph():
    text = "他说“开始。" + "正文。" * 200
    assert len(segment(text)) > 100


# ----------------------------------------------------------------- properties
_ALPHABET = st.sampled_from(list("法治政府建设执法复议一二三是年月日0123456789.%，,。；;！？!?…：:“”‘’《》（）()【】\"' \t\n\r\u3000、")
                            + ["一、", "（一）", "1.", "（1）", "存在问题1：", "牵头单位：", "一是", "二是"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_properties(text):
    sents = segment(text)
    # offsets slice the original exactly, no sentence is empty, order and no overlap
    prev = 0
    for i, s in enumerate(sents):
        assert s.index == i
        assert text[s.start:s.end] == s.text
        assert s.text.strip()
        assert s.start >= prev
        prev = s.end
    # sentences plus gaps rebuild the input; gaps hold only white space
    g = gaps(text, sents)
    assert rebuild(g, sents) == text
    assert all(not x.strip() for x in g)
    # deterministic
    assert segment(text) == sents


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=200))  # every category, surrogates too
@example("\x1f")
@example("\u2003\u200b\u00ad\ufeff")
def test_properties_on_any_unicode(text):
    sents = segment(text)
    assert rebuild(gaps(text, sents), sents) == text
    prev = 0
    for i, s in enumerate(sents):
        assert s.index == i and text[s.start:s.end] == s.text and prev <= s.start < s.end
        prev = s.end
        assert s.text.strip() and not is_invisible(s.text[0]) and not s.text[-1].isspace()
        assert any(not is_invisible(c) for c in s.text)
        assert len(s.text) <= MAX_SENTENCE_CHARS
    # (tests/test_hostile_text.py checks this and more on nasty strings and report-like mixtures)
