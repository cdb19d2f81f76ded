"""Document metadata: title, office, level, year, genre, date, each with exact evidence or empty."""
from __future__ import annotations

import pytest

import lawgov_nlp as lg
from lawgov_nlp.text.chars import to_simplified_chars, to_traditional
from lawgov_nlp.text.metadata import FIELDS, GENRES, LEVELS, DocumentMetadata, extract_metadata


def _check_evidence(m: DocumentMetadata, text: str, page_title: str = "") -> None:
    for k in FIELDS:
        f = getattr(m, k)
        if f is None:
            continue
        src = text if f.source == "text" else page_title
        assert src[f.start:f.end] == f.evidence, (k, f)
        assert f.rule


def _both_scripts(text: str):
    yield "simplified", text
    yield "traditional", to_traditional(text)


# --------------------------------------------------------------------------- the three real samples
def test_sample_reports(sample_texts):
    got = {k: extract_metadata(t) for k, t in sample_texts.items()}
    for k, m in got.items():
        _check_evidence(m, sample_texts[k])
    m = got["000_24fa52f216146201"]      # "2023年,我市坚持……": the year, but no office named
    assert m.values() == {"title": None, "office": None, "level": None, "year": 2023, "genre": "annual_report",
                          "date": None}
    assert m.year.rule == "opening" and m.genre.rule == "annual-report headings"
    m = got["002_80094dffa8bc5a12"]      # "2021年,中共姚安县委、姚安县人民政府坚持……"
    assert m.values() == {"title": None, "office": "姚安县人民政府", "level": "县", "year": 2021,
                          "genre": "annual_report", "date": None}
    m = got["004_1539ae420c6a8cf0"]      # a 若干举措 list with 存在问题N：/工作举措： fields, dated, no 年度
    assert m.values() == {"title": "宜阳县提升法治政府建设工作水平若干举措", "office": "宜阳县", "level": "县",
                          "year": None, "genre": "rectification", "date": "2024-12-16"}
    assert m.office.rule == "title-place" and m.genre.rule == "problem-measure fields"


# --------------------------------------------------------------------------- made-up titles, every level
LEVEL_CASES = [
    ("河东省人民政府关于2022年度法治政府建设情况的报告", "河东省人民政府", "省"),
    ("北川自治区人民政府关于2022年度法治政府建设情况的报告", "北川自治区人民政府", "省"),
    ("云溪市人民政府2022年法治政府建设年度报告", "云溪市人民政府", "市"),
    ("青禾县人民政府关于2022年法治政府建设工作情况的报告", "青禾县人民政府", "县"),
    ("白沙区人民政府2022年度法治政府建设工作报告", "白沙区人民政府", "区"),
    ("石门镇人民政府关于2022年度法治政府建设情况的报告", "石门镇人民政府", "乡镇"),
    ("松岭乡人民政府2022年法治政府建设年度报告", "松岭乡人民政府", "乡镇"),
    ("东湖街道办事处2022年度法治政府建设情况报告", "东湖街道办事处", "街道"),
    ("青禾县司法局2022年度法治政府建设情况的报告", "青禾县司法局", "部门"),
    ("云溪市市场监督管理局关于2022年法治政府建设情况的报告", "云溪市市场监督管理局", "部门"),
    ("云溪市人民政府办公室2022年度法治政府建设工作报告", "云溪市人民政府办公室", "部门"),
]


@pytest.mark.parametrize("script", ["simplified", "traditional"])
@pytest.mark.parametrize("title,office,level", LEVEL_CASES)
def test_levels_from_made_up_titles(title, office, level, script):
    body = f"{title}\n2022年，全县上下协同推进依法行政。\n一、主要举措和成效\n（一）完善制度。\n"
    text = body if script == "simplified" else to_traditional(body)
    m = extract_metadata(text)
    _check_evidence(m, text)
    assert m.title.value == text.splitlines()[0]
    assert to_simplified_chars(m.office.value) == to_simplified_chars(office if script == "simplified"
                                                                      else to_traditional(office))
    assert m.level.value == level and level in LEVELS
    assert m.year.value == 2022 and m.year.rule == "title"
    assert m.genre.value == "annual_report"
    assert m.date is None


# --------------------------------------------------------------------------- every genre
GENRE_CASES = [
    ("青禾县人民政府关于2023年度法治政府建设情况的报告", "annual_report", 2023),
    ("关于青禾县2023年法治督察反馈问题的整改方案", "rectification", 2023),
    ("云溪市法治政府建设突出问题清单", "rectification", None),
    ("云溪市2024年法治政府建设工作要点", "work_plan", 2024),
    ("青禾县召开2023年法治政府建设推进会", "news", 2023),
    ("河东省司法厅关于法治督察工作情况的通报", "inspection", None),
    ("青禾县行政执法协调监督实施办法", "other", None),
]


@pytest.mark.parametrize("script", ["simplified", "traditional"])
@pytest.mark.parametrize("title,genre,year", GENRE_CASES)
def test_genres_from_made_up_titles(title, genre, year, script):
    text = title + "\n为深入推进依法行政，结合实际，制定本文件。\n"
    if script == "traditional":
        text = to_traditional(text)
    m = extract_metadata(text)
    _check_evidence(m, text)
    assert m.genre.value == genre and genre in GENRES
    assert m.value("year") == year
    assert m.genre_name == GENRES[genre]


def test_structure_gives_the_genre_without_a_title():
    rect = ("为补齐短板，制定如下举措。\n一、行政执法方面\n存在问题1：执法程序不规范。\n工作举措：开展案卷评查。\n"
            "存在问题2：执法人员培训不足。\n工作举措：组织集中轮训。\n")
    for _, t in _both_scripts(rect):
        m = extract_metadata(t)
        _check_evidence(m, t)
        assert m.genre.value == "rectification" and m.title is None and m.office is None
    annual = ("2022年，全区坚持依法行政。\n一、2022年度主要工作和成效\n（一）完善制度。\n二、存在的不足和原因\n"
              "一是短板仍在。\n三、下一步工作安排\n一是加强督察。\n")
    for _, t in _both_scripts(annual):
        m = extract_metadata(t)
        _check_evidence(m, t)
        assert m.genre.value == "annual_report" and m.year.value == 2022 and m.year.rule == "opening"
        assert m.office is None  # "全区" names no office: never guessed


def test_nothing_found_is_left_empty():
    m = extract_metadata("我们继续做好各项工作。\n要加强学习。\n")
    assert m.values() == dict.fromkeys(FIELDS)
    assert m.office_key == "" and m.columns()["doc_year"] == ""


def test_year_reported_on_is_not_the_publication_date_nor_a_document_number():
    text = ("某政办〔2024〕5号\n云溪市人民政府办公室关于印发云溪市法治政府建设实施办法的通知\n2024年3月1日\n"
            "各乡镇人民政府：\n现印发给你们。\n")
    m = extract_metadata(text)
    _check_evidence(m, text)
    assert m.year is None and m.date.value == "2024-03-01"
    assert m.office.value == "云溪市人民政府办公室" and m.level.value == "部门"


def test_signature_date_and_office_chinese_numerals():
    text = ("关于二〇二三年度法治政府建设情况的报告\n二〇二三年，我镇坚持依法行政。\n一、主要举措和成效\n"
            "（一）健全制度。\n石门镇人民政府\n二〇二四年一月十五日\n")
    for _, t in _both_scripts(text):
        m = extract_metadata(t)
        _check_evidence(m, t)
        assert m.year.value == 2023 and m.date.value == "2024-01-15" and m.date.rule == "signature"
        assert to_simplified_chars(m.office.value) == "石门镇人民政府" and m.level.value == "乡镇"
        assert m.office.rule == "signature"


def test_wrapped_title_and_source_line():
    text = "云溪市人民政府关于2023年度法治政府\n建设情况的报告\n来源：云溪市司法局\n2023年，我市坚持依法行政。\n"
    m = extract_metadata(text)
    _check_evidence(m, text)
    assert m.title.value == "云溪市人民政府关于2023年度法治政府建设情况的报告"
    assert m.title.evidence == "云溪市人民政府关于2023年度法治政府\n建设情况的报告"
    assert m.office.value == "云溪市人民政府" and m.office.rule == "title"


def test_html_page_title_is_a_source(tmp_path):
    page = ("<html><head><title>青禾县2023年法治政府建设年度报告_青禾县人民政府网</title></head><body>"
            "<div><p>2023年，我县坚持依法行政，推进法治政府建设。</p><p>一、主要举措和成效</p>"
            "<p>（一）完善制度体系。</p><p>来源：青禾县司法局</p></div></body></html>")
    p = tmp_path / "page.html"
    p.write_text(page, encoding="utf-8")
    doc = lg.read_file(p)
    assert doc.page_title.startswith("青禾县2023年")
    m = doc.metadata
    _check_evidence(m, doc.text, doc.page_title)
    assert m.title.source == "page_title" and m.title.value == "青禾县2023年法治政府建设年度报告"
    assert m.office.value == "青禾县司法局" and m.office.source == "text"   # the 来源 line
    assert m.year.value == 2023 and m.genre.value == "annual_report"
    info = doc.info()
    assert info["metadata"]["office"]["value"] == "青禾县司法局"
    assert DocumentMetadata.from_dict(info["metadata"]) == m


def test_office_key_matches_across_scripts_and_forms():
    a = extract_metadata("青禾县人民政府关于2021年度法治政府建设情况的报告\n")
    b = extract_metadata(to_traditional("青禾县2022年法治政府建设年度报告\n"))
    assert a.office_key == b.office_key == "青禾县"


def test_web_page_chrome_is_not_a_title():
    text = ("首页 > 政务公开 > 法治政府建设 > 年度报告\n云溪市人民政府关于2022年度法治政府建设情况的报告\n"
            "来源：云溪市司法局  发布时间：2023-02-10 09:30\n【打印】【关闭】\n2022年，我市坚持依法行政。\n")
    for _, t in _both_scripts(text):
        m = extract_metadata(t)
        _check_evidence(m, t)
        assert m.title.value == t.splitlines()[1]
        assert to_simplified_chars(m.office.value) == "云溪市人民政府"      # the title's office, not the 来源
        assert m.date.value == "2023-02-10" and m.date.rule == "published-line"
    news = "当前位置：首页 > 工作动态\n青禾县开展2023年度行政执法案卷评查\n来源：青禾县司法局\n近日，县司法局组织评查。\n"
    m = extract_metadata(news)
    assert m.genre.value == "news" and m.office.value == "青禾县司法局" and m.year.value == 2023
    assert extract_metadata("关于开展2023年度行政执法案卷评查的通知\n").genre.value == "other"
    # a report whose title names only its place: the place, not the web page's 来源 (the publisher)
    page = "来源：白沙区司法局  发布时间：2024-02-01\n云溪市白沙区2023年法治政府建设年度报告\n一、主要举措和成效\n"
    for _, t in _both_scripts(page):
        m = extract_metadata(t)
        assert to_simplified_chars(m.office.value) == "云溪市白沙区" and m.level.value == "区"
        assert m.office.rule == "title-place"
