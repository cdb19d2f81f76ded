"""Hostile input files at the reading layer (issue 11 points 1, 9, 10, 11; issue 10 point 7).

Every test here failed on the reader before it was hardened; each is fast and works in
``tmp_path`` only (FIFOs are made there; the one device, /dev/zero, is only stat-ed, in a
child process with a memory and time limit, so a regression cannot hang or exhaust this one).
"""
from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import threading
import time
import zipfile

import pytest

from lawgov_nlp import ReadError, read_bytes, read_file, read_text
from lawgov_nlp.text import reading
from lawgov_nlp.text.chars import find_chrome

REPORT = ("梧桐县2023年法治政府建设情况报告\n一、主要举措和成效\n"
          "全年办理行政复议案件128件，纠错率为百分之八。\n二、存在问题\n部分乡镇执法人员力量薄弱。\n")


# ----------------------------------------------------------------- 1. deeply nested HTML
def test_html_nested_1200_levels_keeps_every_line():
    # text at every level: the old recursive walk raised RecursionError here
    n = 1200
    html = "<html><body>" + "<div><span>法治建设</span>" * n + "</div>" * n + "</body></html>"
    doc = read_bytes(html.encode("utf-8"), "deep.html")
    assert doc.text.split("\n") == ["法治建设"] * n
    assert not any("lost" in w for w in doc.warnings)


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_html_nested_divs_is_linear(n):
    # the case: 10,000 nested <div>s took 42-96 s (a get_text per node); now well under a second
    html = ("<html><body>" + "<div>" * n + "<p>一、总体情况</p><p>全年办理行政复议案件一百二十件。</p>"
            + "</div>" * n + "</body></html>")
    t = time.perf_counter()
    text = reading.html_to_text(html)
    elapsed = time.perf_counter() - t
    assert text == "一、总体情况\n全年办理行政复议案件一百二十件。"
    assert elapsed < (10 if n == 10_000 else 40), f"{n} nested divs took {elapsed:.1f} s"


def test_html_chrome_and_main_container_unchanged_by_iterative_walk():
    # chrome containers go, the article stays, the title is kept: the same decisions as before
    html = ("<html><body><div id='nav'><a>首页</a><a>政务公开</a></div><h1>梧桐县法治政府建设报告</h1>"
            "<div class='main'><div class='content'><p>一、主要举措</p><p>全年审查规范性文件42件。</p>"
            "<p>二、存在问题</p><p>执法人员力量薄弱，案卷制作不够规范，需要加强。</p></div></div>"
            "<div class='footer'>版权所有：梧桐县人民政府</div></body></html>")
    assert reading.html_to_text(html) == ("梧桐县法治政府建设报告\n一、主要举措\n全年审查规范性文件42件。\n"
                                          "二、存在问题\n执法人员力量薄弱，案卷制作不够规范，需要加强。")


def test_html_text_lost_by_the_parser_is_reported():
    # an unclosed comment swallows the rest of the page: the reader says so instead of staying silent
    html = ("<html><body><p>全年办理行政复议案件128件。</p><!-- 注释 --><p>其余内容"
            "<!-- 没有结束的注释" + "后面的正文都被吞掉了" * 5 + "</p></body></html>")
    doc = read_bytes(html.encode("utf-8"), "broken.html")
    assert "全年办理行政复议案件128件。" in doc.text
    assert any("Chinese characters" in w and "lost" in w for w in doc.warnings), doc.warnings


# ----------------------------------------------------------------- 9. zip bombs
def _docx_bytes(*paragraphs: str) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _with_part(data: bytes, name: str, size: int) -> bytes:
    """``data`` (a .docx) with one more part of ``size`` zero bytes, streamed (bounded memory)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(info, "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                fh.write(chunk)
    return out.getvalue()


def test_docx_zip_bomb_is_refused_before_unpacking(tmp_path):
    bomb = _with_part(_docx_bytes("一、总体情况", "全年办理复议案件12件。"), "customXml/item9.xml", 80 << 20)
    assert len(bomb) < 200_000  # 80 MB of XML in under 200 KB
    p = tmp_path / "bomb.docx"
    p.write_bytes(bomb)
    t = time.perf_counter()
    with pytest.raises(ReadError, match=r"unpacks to 8\d MB, over the 50 MB limit") as ei:
        read_file(p)
    assert str(p) in str(ei.value) and "zip bomb" in str(ei.value)
    assert time.perf_counter() - t < 2


def test_docx_part_compressed_beyond_100_to_1_is_refused():
    bomb = _with_part(_docx_bytes("全年办理复议案件12件。"), "word/media/fill.bin", 8 << 20)
    with pytest.raises(ReadError, match=r"part 'word/media/fill.bin' is compressed \d+:1 .* over the 100:1 limit"):
        read_bytes(bomb, "fill.docx")


def test_ordinary_docx_and_entity_bomb():
    assert read_bytes(_docx_bytes("一、总体情况", "全年办理复议案件12件。"), "ok.docx").text == \
        "一、总体情况\n全年办理复议案件12件。"
    # a "billion laughs" entity bomb inside document.xml is refused by the XML parser at once
    data = _docx_bytes("正文。")
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    xml = parts["word/document.xml"].decode("utf-8")
    ents = '<!ENTITY a "法治法治法治法治法治">' + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefg", "bcdefgh"))
    head = xml.index("?>") + 2
    parts["word/document.xml"] = (xml[:head] + f"<!DOCTYPE w:document [{ents}]>" + xml[head:]
                                  ).replace("正文。", "正文。&h;").encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in parts.items():
            z.writestr(name, blob)
    t = time.perf_counter()
    with pytest.raises(ReadError, match="not a readable .docx"):
        read_bytes(out.getvalue(), "laughs.docx")
    assert time.perf_counter() - t < 2


# ----------------------------------------------------------------- 10. FIFOs and devices
class _Unblocker:
    """If a reader blocks opening ``fifo`` (the old behaviour), open it for writing after a while
    so the test fails instead of hanging."""

    def __init__(self, fifo, after: float = 5.0):
        self.fifo, self.after, self.done = fifo, after, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        if self.done.wait(self.after):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.done.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet
                time.sleep(0.05)
                continue
            os.close(fd)
            return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    link = tmp_path / "link.txt"
    link.symlink_to(fifo)
    for path in (fifo, link):
        t = time.perf_counter()
        with _Unblocker(fifo), pytest.raises(ReadError, match="is a FIFO .*not a regular file") as ei:
            read_file(path)
        assert time.perf_counter() - t < 2
        assert str(path) in str(ei.value)


def test_character_device_is_refused_before_reading():
    if not (os.path.exists("/dev/zero") and stat.S_ISCHR(os.stat("/dev/zero").st_mode)):
        pytest.skip("no /dev/zero character device")
    # /dev/zero is only stat-ed by a correct reader; run it in a child with 2 GB of address space
    # and 60 s so that a reader that does read it fails quickly instead of eating this machine
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from lawgov_nlp.text.reading import read_file\nfrom lawgov_nlp import ReadError\n"
            "try:\n    read_file('/dev/zero')\nexcept ReadError as e:\n    print('REFUSED', e)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "REFUSED /dev/zero: is a character device, not a regular file" in res.stdout


def test_bytes_read_are_bounded_when_the_size_is_not_known(tmp_path, monkeypatch):
    # a regular file whose size stat cannot tell (pseudo-files report 0; a log may grow): reading
    # stops after limit+1 bytes with a clear error instead of reading it all
    p = tmp_path / "growing.txt"
    p.write_bytes(REPORT.encode("utf-8") * 2000)  # ~260 KB
    real_fstat, real_stat = os.fstat, os.stat

    def size_zero(st):
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 0,
                               st.st_atime, st.st_mtime, st.st_ctime))

    def fake_stat(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        return size_zero(st) if os.fspath(path) == str(p) else st

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "fstat", lambda fd: size_zero(real_fstat(fd)))
    with pytest.raises(ReadError, match="holds more than the 0.1 MB limit"):
        read_file(p, max_bytes=100_000)
    assert read_file(p, max_bytes=1_000_000).text.startswith("梧桐县")


# ----------------------------------------------------------------- 11a. UTF-32 without a BOM
@pytest.mark.parametrize("enc", ["utf-32-le", "utf-32-be"])
def test_utf32_without_bom_is_read_as_utf32(tmp_path, enc):
    p = tmp_path / "r.txt"
    p.write_bytes(REPORT.encode(enc))
    doc = read_file(p)
    assert doc.encoding == enc
    assert doc.text == REPORT and "\x00" not in doc.text
    ascii_only = tmp_path / "a.txt"
    ascii_only.write_bytes("Annual report 2023\nCases: 128\n".encode(enc))
    assert read_file(ascii_only).text == "Annual report 2023\nCases: 128\n"
    truncated = tmp_path / "t.txt"  # a last character cut short: marked, not a reason to misread it all
    truncated.write_bytes(REPORT.encode(enc)[:-2])
    doc = read_file(truncated)
    assert doc.encoding == enc and doc.text == REPORT[:-1] + "\ufffd"
    assert any("replaced by U+FFFD" in w for w in doc.warnings)


# ----------------------------------------------------------------- 11b. NUL bytes
def test_stray_nul_is_removed_and_reported_wherever_it_is(tmp_path):
    raw = (REPORT * 200).encode("utf-8")  # ~26 KB: one NUL early (in the first 8 KB) and one late
    for where in (raw.index(b"\n", 100) + 1, raw.rindex(b"\n", 0, len(raw) - 50) + 1):
        p = tmp_path / f"nul{where}.txt"
        p.write_bytes(raw[:where] + b"\x00" + raw[where:])
        doc = read_file(p)  # was: "binary data" for the early NUL, the NUL kept for the late one
        assert "\x00" not in doc.text, f"NUL kept (at {where})"
        assert doc.text == REPORT * 200, "text changed"
        assert any("1 stray NUL" in w for w in doc.warnings), doc.warnings


def test_nul_padding_is_removed_and_many_nuls_are_binary(tmp_path):
    padded = tmp_path / "padded.txt"
    padded.write_bytes((REPORT * 100).encode("gb18030") + b"\x00" * 20_000)  # a crashed, preallocated write
    doc = read_file(padded)
    assert doc.encoding == "gb18030" and doc.text == REPORT * 100, "text changed"
    assert any("20000 NUL padding" in w for w in doc.warnings)
    binary = tmp_path / "mixed.txt"  # text, then data full of NULs: refused wherever the NULs start
    binary.write_bytes((REPORT * 100).encode("utf-8") + bytes(range(256)) * 100)
    with pytest.raises(ReadError, match="binary data.*NUL bytes"):
        read_file(binary)
    only = tmp_path / "zeros.txt"
    only.write_bytes(b"\x00" * 5000)
    with pytest.raises(ReadError, match="only NUL bytes"):
        read_file(only)


# ----------------------------------------------------------------- 11c. lines that are only a number
def test_a_number_line_in_the_text_is_kept():
    text = "一、收案情况\n全年行政复议收案数为：\n1234\n其中纠错案件较上年下降。\n"
    doc = read_text(text)
    assert "1234" in [s.text for s in doc.sentences]
    assert doc.chrome == []


def test_page_numbers_in_sequence_are_dropped_and_reported():
    text = "".join("本页的一段正文内容。\n" * size + f"{n}\n" for n, size in [(1, 4), (2, 6), (3, 3)]) + "附件\n"
    doc = read_text(text)
    assert [c.text for c in doc.chrome if c.kind == "page-number"] == ["1", "2", "3"]
    assert all(s.text not in ("1", "2", "3") for s in doc.sentences)
    assert any(w.startswith("3 page-number line(s) left out") and "'2' (line 12)" in w for w in doc.warnings)
    # the serial numbers of a table pasted as text (always the same few lines apart) are not pages
    rows = "".join(f"{n}\n第{n}项事项名称\n128\n已办结\n" for n in range(1, 6))
    assert [s.text for s in read_text("一、办理情况\n" + rows).sentences][1::4] == ["1", "2", "3", "4", "5"]
    # a page break (form feed, as pdftotext writes) marks the number next to it
    assert [c.text for c in find_chrome("正文第一页。\n7\x0c正文第二页。\n")] == ["7"]
    # a web page has no pages: a number alone there is a table cell or a count
    assert find_chrome(text, paged=False) == []
    doc = read_bytes(("<html><body><div class='content'><p>行政复议收案</p><p>128</p>"
                      "<p>较上年增长百分之五。</p></div></body></html>").encode("utf-8"), "t.html")
    assert "128" in [s.text for s in doc.sentences]


def _pdf(path, pages):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("STSong-Light", 12)
        y = 800
        for line in lines:
            c.drawString(50, y, line)
            y -= 20
        c.showPage()
    c.save()


def test_pdf_bare_page_numbers_leave_sentences_whole(tmp_path):
    p = tmp_path / "two-pages.pdf"
    _pdf(p, [["一、主要举措和成效", "全面推行证明事项告知承诺制，梳理公布承诺事项八十六项，涉企事项",
              "三十二项，网上可办率达到百分之九十九，较上年提高三个百分点以上", "1"],
             ["继续保持稳定增长。", "二、存在问题", "部分乡镇执法人员力量薄弱。", "2"]])
    doc = read_file(p)
    assert ("全面推行证明事项告知承诺制，梳理公布承诺事项八十六项，涉企事项三十二项，网上可办率达到百分之九十九，"
            "较上年提高三个百分点以上继续保持稳定增长。") in [s.text for s in doc.sentences]
    assert [c.text for c in doc.chrome if c.kind == "page-number"] == ["1", "2"]
    assert any("2 page-number line(s)" in w for w in doc.warnings)


# ----------------------------------------------------------------- issue 10 point 7: .docx tables
def _docx_with_table(rows, *, header_flag=False, before="一、主要数据", after="二、附则"):
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    d.add_paragraph(before)
    table = d.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    if header_flag:
        table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    d.add_paragraph(after)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue(), table, d


def test_docx_table_rows_become_lines_keyed_by_the_header():
    data, _, _ = _docx_with_table([["指标", "数值", "单位"], ["行政复议收案", "128", "件"],
                                   ["纠错率", "8%", ""], ["", "", ""]])
    doc = read_bytes(data, "stats.docx")
    assert doc.text == "一、主要数据\n指标：行政复议收案；数值：128；单位：件\n指标：纠错率；数值：8%\n二、附则"
    # (the segmenter ends a sentence at "；", so each header：value pair is a sentence; no bare "128")
    assert "128" not in [s.text for s in doc.sentences]
    assert doc.chrome == []


def test_docx_table_without_header_joins_cells_and_keeps_numbers():
    data, _, _ = _docx_with_table([["收案数", "128"], ["办结数", "120"]])
    doc = read_bytes(data, "kv.docx")
    assert doc.text == "一、主要数据\n收案数；128\n办结数；120\n二、附则"
    # a one-column table of numbers: each cell is report text, not a page number
    data, _, _ = _docx_with_table([["12"], ["13"], ["14"]])
    doc = read_bytes(data, "numbers.docx")
    assert [s.text for s in doc.sentences] == ["一、主要数据", "12", "13", "14", "二、附则"]
    assert doc.chrome == []


def test_docx_table_header_flag_merged_cells_and_spanning_rows():
    data, table, d = _docx_with_table([["类别", "事项", "件数"], ["行政复议", "收案", "128"],
                                       ["", "纠错", "8"], ["合计", "", ""]], header_flag=True)
    # "行政复议" merged down over two rows, "合计" spanning the whole row: rebuild and save
    table.cell(1, 0).merge(table.cell(2, 0))
    table.cell(3, 0).merge(table.cell(3, 2))
    buf = io.BytesIO()
    d.save(buf)
    doc = read_bytes(buf.getvalue(), "merged.docx")
    lines = doc.text.split("\n")
    assert lines[1:4] == ["类别：行政复议；事项：收案；件数：128", "事项：纠错；件数：8", "合计"]
    assert doc.text.count("行政复议") == 1  # a merged cell is written once, not once per row


# ----------------------------------------------------------------- "Chinese character", defined once
def test_one_definition_of_chinese_character():
    from lawgov_nlp.text.chars import HAN, HAN_RE, count_han, is_han

    for ch in "法〇\u3400\u9fa5\uf900\U00020000\U0002a700\U0002f800\U00030000\U00031350":
        assert is_han(ch) and HAN_RE.fullmatch(ch), hex(ord(ch))
    for ch in "a1。，\u3000\u2f00\u31c0\uff21":  # letters, punctuation, a Kangxi radical, a stroke
        assert not is_han(ch) and not HAN_RE.fullmatch(ch), hex(ord(ch))
    assert count_han("二〇二三年𠀀丽，OK") == 7
    assert reading.HAN_RE is HAN_RE and HAN in HAN_RE.pattern
    # the readers use it: a page written in extension-B characters is still "Chinese prose"
    rare = "\U00020000\U00020001\U00020002" * 40
    assert reading._han_in_markup(f"<p>{rare}</p>") == 120


def test_docx_layout_table_keeps_its_paragraphs_as_lines():
    # Word reports are often typeset inside a one-cell table: its paragraphs stay lines (headings too)
    import docx

    d = docx.Document()
    cell = d.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "梧桐县2023年法治政府建设情况报告"
    for line in ("一、主要举措和成效", "全年办理行政复议案件128件。", "- 1 -", "二、存在问题", "执法力量薄弱。"):
        cell.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    doc = read_bytes(buf.getvalue(), "layout.docx")
    assert [h.text for h in doc.headings] == ["一、主要举措和成效", "二、存在问题"]
    assert [c.text for c in doc.chrome] == ["- 1 -"]  # a decorated page number is chrome even in a table
