from __future__ import annotations



import pytest

from lawgov_nlp import ReadError, read_bytes, read_file, read_text
from lawgov_nlp.text.chars import detect_script, find_chrome, find_mojibake, to_simplified, to_traditional

from pathlib import Path

DATA = Path(__file__).parent / "data"

TRAD_PARAGRAPH = ("梧桐縣人民政府關於2023年度法治政府建設情況的報告\n"
                  "一、主要舉措和成效\n"
                  "（一）深化行政執法體制改革。全年辦理行政處罰案件一千二百餘件，行政復議糾錯率為百分之八。\n"
                  "二、存在問題\n"
                  "部分鄉鎮執法人員力量薄弱，案卷製作不夠規範。\n")


# ----------------------------------------------------------------- encodings
@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"),
    ("utf-16", None), ("utf-16-le", "utf-16-le"),
])
def test_simplified_text_in_many_encodings(tmp_path, sample_texts, encoding, expected):
    text = sample_texts["000_24fa52f216146201"]
    p = tmp_path / "report.txt"
    p.write_bytes(text.encode(encoding))
    doc = read_file(p)
    assert doc.text == text
    if expected:
        assert doc.encoding == expected
    else:
        assert doc.encoding.startswith("utf-16")
    assert len(doc.sentences) == 93


def test_same_traditional_text_in_big5_and_gb18030(tmp_path):
    docs = {}
    for enc in ("big5", "gb18030", "utf-8"):
        p = tmp_path / f"trad-{enc}.txt"
        p.write_bytes(TRAD_PARAGRAPH.encode(enc))
        docs[enc] = read_file(p)
        assert docs[enc].encoding == enc
        assert docs[enc].text == TRAD_PARAGRAPH
        assert docs[enc].script == "traditional"
    assert [s.text for s in docs["big5"].sentences] == [s.text for s in docs["gb18030"].sentences]


def test_forced_wrong_encoding_is_a_clear_error(tmp_path):
    p = tmp_path / "r.txt"
    p.write_bytes(TRAD_PARAGRAPH.encode("big5"))
    with pytest.raises(ReadError) as ei:
        read_file(p, encoding="utf-8")
    assert str(p) in str(ei.value) and "utf-8" in str(ei.value)


# ----------------------------------------------------------------- script
def test_traditional_report_is_detected_and_kept(tmp_path, sample_texts):
    simp = sample_texts["002_80094dffa8bc5a12"]
    trad = to_traditional(simp)
    assert detect_script(simp) == "simplified" and detect_script(trad) == "traditional"
    p = tmp_path / "trad.txt"
    p.write_text(trad, encoding="utf-8")
    doc = read_file(p)
    assert doc.script == "traditional"
    assert doc.text == trad  # the original is what the user gets back
    assert doc.simplified_text() == to_simplified(trad)
    assert sum(a != b for a, b in zip(doc.simplified_text(), simp)) < 0.01 * len(simp)
    # same structure as the simplified original
    from lawgov_nlp import segment
    assert len(doc.sentences) == len(segment(simp))
    assert [h.level for h in doc.headings] == [h.level for h in read_text(simp).headings]


# ----------------------------------------------------------------- HTML and chrome
def test_html_page_with_site_chrome():
    doc = read_file(DATA / "chrome_page.html")
    assert doc.format == "html" and doc.encoding == "utf-8"
    joined = "\n".join(s.text for s in doc.sentences)
    for chrome in ["首页", "您当前所在的位置", "来源", "发布时间", "浏览次数", "字体", "打印本页", "关闭窗口",
                   "分享到", "网站标识码", "备案号", "主办单位", "技术支持", "_hmt", "font-size"]:
        assert chrome not in joined, chrome
    assert doc.sentences[0].text == "梧桐县2023年法治政府建设情况报告"
    assert "梳理公布承诺事项86项·涉企事项32项。" in joined  # &middot; decoded
    assert "二是政务服务事项网上可办率达到99.19%，较上年提高3.3个百分点。" in joined
    assert [h.text for h in doc.headings if h.level == 1] == ["一、主要举措和成效", "二、存在的问题", "三、下一步工作"]
    assert "\xa0" not in doc.text
    assert len(doc.sentences) == 13


def test_chrome_in_plain_text_is_counted_not_sentenced():
    text = ("头部\n首页\n政务公开\n您当前所在的位置：首页 > 政务公开 > 法治政府建设\n"
            "来源：青川市司法局    发布时间：2023-03-28 09:15    浏览次数：1024\n【字体：大 中 小】\n"
            "青川市2022年法治政府建设情况报告\n一、主要成效\n全年审查规范性文件42件。\n"
            "青川市人民政府\n2023年3月20日\n【打印本页】 【关闭窗口】\n"
            "主办单位：青川市人民政府办公室\n网站标识码：5100000001 备案号：蜀ICP备00000000号\n联系我们\nfooter底部\n")
    doc = read_text(text)
    assert [s.text for s in doc.sentences] == ["青川市2022年法治政府建设情况报告", "一、主要成效",
                                                "全年审查规范性文件42件。", "青川市人民政府", "2023年3月20日"]
    assert len(doc.chrome) == 11
    assert {c.kind for c in doc.chrome} >= {"marker", "breadcrumb", "meta", "tools", "footer"}
    assert "11 line(s) of page chrome" in " ".join(doc.warnings)


def test_prose_mentioning_sources_is_not_chrome():
    line = "推动各单位将来源：群众投诉、媒体曝光、上级交办等渠道的线索统一登记，建立台账，逐件办理，确保件件有回音，事事有着落，全年共办结线索326件。"
    assert find_chrome(line) == []


# ----------------------------------------------------------------- mojibake
def test_mojibake_is_reported_with_offsets_and_never_crashes():
    text = "全年受理行政复议案件?,F將件，锟斤拷锟斤拷办结率\ufffd\ufffd达到98%。æ³•æ²»建设。"
    doc = read_text(text)
    kinds = {s.kind for s in doc.suspicious}
    assert {"question-mark", "kunkao", "replacement-char", "latin1-utf8"} <= kinds
    for s in doc.suspicious:
        assert text[s.start:s.end] == s.text
    assert doc.sentences  # still segmented
    assert find_mojibake("正常的文本，没有乱码。") == []


def test_invalid_bytes_are_replaced_and_reported(tmp_path, sample_texts):
    data = sample_texts["000_24fa52f216146201"].encode("utf-8")
    data = data[:3000] + b"\xff\xfe\xfa" + data[3000:]
    doc = read_bytes(data, "broken.txt")
    assert doc.encoding == "utf-8"
    assert any("U+FFFD" in w for w in doc.warnings)
    assert any(s.kind == "replacement-char" for s in doc.suspicious)


# ----------------------------------------------------------------- DOCX and PDF
def test_docx_paragraphs_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.add_paragraph("梧桐县提升法治政府建设水平若干举措")
    d.add_paragraph("一、行政执法方面")
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "存在问题1：执法证件管理不规范。"
    table.cell(0, 1).text = "工作举措：开展证件清理。"
    table.cell(0, 2).text = "牵头单位：县司法局"
    table.cell(1, 0).merge(table.cell(1, 2)).text = "完成时限：长期坚持"
    d.add_paragraph("二、附则")
    p = tmp_path / "measures.docx"
    d.save(p)
    doc = read_file(p)
    assert doc.format == "docx"
    assert [s.text for s in doc.sentences] == [
        "梧桐县提升法治政府建设水平若干举措", "一、行政执法方面", "存在问题1：执法证件管理不规范。",
        "工作举措：开展证件清理。", "牵头单位：县司法局", "完成时限：长期坚持", "二、附则"]
    # a table row is one line (one record): its fields fall under the row's first field
    assert "存在问题1：执法证件管理不规范。工作举措：开展证件清理。牵头单位：县司法局\n" in doc.text
    assert doc.sentences[4].section == ("一、行政执法方面", "存在问题1")


def _pdf(path, lines):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 12)
    y = 800
    for line in lines:
        c.drawString(50, y, line)
        y -= 20
    c.save()


def test_pdf_text_layer_and_reflow(tmp_path):
    p = tmp_path / "report.pdf"
    _pdf(p, ["梧桐县2023年法治政府建设情况报告", "一、主要举措和成效",
             "（一）深化“放管服”改革。一是全面推行证明事项告知承诺制，梳理公布承诺",
             "事项86项。二是网上可办率达到99.19%。", "- 1 -"])
    doc = read_file(p)
    assert doc.format == "pdf"
    assert [s.text for s in doc.sentences] == [
        "梧桐县2023年法治政府建设情况报告", "一、主要举措和成效", "（一）深化“放管服”改革。",
        "一是全面推行证明事项告知承诺制，梳理公布承诺事项86项。", "二是网上可办率达到99.19%。"]
    assert any(c.kind == "page-number" for c in doc.chrome)


def test_pdf_without_text_layer_says_so(tmp_path):
    from reportlab.pdfgen import canvas

    p = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(p))
    c.rect(50, 50, 400, 600, fill=1)
    c.save()
    with pytest.raises(ReadError, match="no text layer"):
        read_file(p)


# ----------------------------------------------------------------- bad files
def test_empty_binary_missing_and_huge_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        read_file(empty)
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n\u3000\n", encoding="utf-8")
    with pytest.raises(ReadError, match="no text"):
        read_file(blank)
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(ReadError, match="binary") as ei:
        read_file(binary)
    assert str(binary) in str(ei.value)
    noise = tmp_path / "noise.dat.txt"
    noise.write_bytes(bytes(range(0, 32)) * 100)
    with pytest.raises(ReadError, match="binary"):
        read_file(noise)
    with pytest.raises(ReadError, match="no such file"):
        read_file(tmp_path / "missing.txt")
    with pytest.raises(ReadError, match="old binary Word"):
        read_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600, "old.doc", format="doc")
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:  # 50 MB: refused before it is read, in bounded memory
        fh.seek(50 * 1024 * 1024 - 1)
        fh.write(b"\n")
    with pytest.raises(ReadError, match=r"52\.4 MB, over the 20 MB limit"):
        read_file(huge)


def test_corrupt_docx_is_a_read_error(tmp_path):
    p = tmp_path / "bad.docx"
    p.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(ReadError, match="not a readable .docx"):
        read_file(p)


def test_read_bytes_sniffs_html_saved_as_txt():
    html = "<html><body><div class='content'><p>一、总体情况</p><p>全年办理复议案件12件。</p></div></body></html>"
    doc = read_bytes(html.encode("gb18030"), "page.txt")
    assert doc.format == "html" and doc.encoding == "gb18030"
    assert [s.text for s in doc.sentences] == ["一、总体情况", "全年办理复议案件12件。"]

