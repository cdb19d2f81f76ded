"""The HTML coverage report: one self-contained page (inline CSS, JS and SVG; no network).

The stylesheet and script are package files (``report/static/report.css``, ``report.js``).
"""
from __future__ import annotations

import datetime as _dt
import html
import os
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from .summary import (COUNT_DEFINITION, DEFAULT_PLAN_ROLE, CoverageReport, _Labels, _labels, _unique_ids,
                      least_covered, summarize, totals, unique_labels)
from .trend import Trend, trend


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- colours
# Categorical colours by position in the scheme (no red: red marks problems); the fallback is grey.
_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#d4a017", "#76b7b2", "#ff9da7", "#9c755f",
            "#3b8686", "#8cd17d", "#a0cbe8", "#d4a6c8", "#86bcb6", "#f1ce63", "#79706e", "#ffbe7d"]
_FALLBACK_COLOUR = "#a5a5a5"
_PROBLEM = "#d62728"


def dimension_colours(dimensions: Sequence[str], fallback: str | None) -> dict[str, str]:
    out, k = {}, 0
    for d in dimensions:
        if d == fallback:
            out[d] = _FALLBACK_COLOUR
        else:
            out[d] = _PALETTE[k % len(_PALETTE)]
            k += 1
    return out


# --------------------------------------------------------------------------- HTML
_CSS = _static("report.css")

_JS = _static("report.js")


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _hex_rgba(hexc: str, a: float) -> str:
    h = hexc.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"rgba({r},{g},{b},{a:.3f})"


def _coverage_svg(rep: CoverageReport, colours: dict[str, str], scale_max: int) -> str:
    """Horizontal bars: body sentences per dimension, the problem part in red, missing ones flagged."""
    label_w, bar_w, row_h, top = 190, 300, 26, 8
    width = label_w + bar_w + 150
    height = top + row_h * len(rep.dimensions) + 6
    scale = bar_w / max(1, scale_max)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-label="{_e(rep.doc_id)} 各维度覆盖">']
    out.append('<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="5" height="5" fill="#f6c7c7"/>'
               f'<line x1="0" y1="0" x2="0" y2="5" stroke="{_PROBLEM}" stroke-width="3"/></pattern></defs>')
    for i, d in enumerate(rep.dimensions):
        y = top + i * row_h
        n, p = rep.counts[d], len(rep.problems[d])
        name = rep.name(d)
        colour = "#9aa0a6" if d == rep.fallback else "#1f2328"
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="{colour}">'
                   f'{_e(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#f1f3f5"/>')
        w = n * scale
        if n:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colours[d]}">'
                       f'<title>{_e(name)}: {n} 句 ({_pct(rep.shares[d])})</title></rect>')
        if p:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{p * scale:.1f}" height="{row_h - 8}" '
                       f'fill="url(#hatch)"><title>{_e(name)}: {p} 条问题句</title></rect>')
        tx = label_w + max(w, 0) + 6
        if d in rep.missing:
            out.append(f'<text x="{label_w + 6}" y="{y + 16}" font-size="13" fill="#b42318" font-weight="700">'
                       '未覆盖</text>')
        else:
            label = f"{n} 句 · {_pct(rep.shares[d])}"
            out.append(f'<text x="{tx:.1f}" y="{y + 16}" font-size="12" fill="#444">{_e(label)}</text>')
            if p:
                px = tx + 8 + 7.2 * len(label)
                out.append(f'<text x="{px:.1f}" y="{y + 16}" font-size="12" fill="{_PROBLEM}" font-weight="700">'
                           f'⚠ {p} 问题</text>')
    out.append("</svg>")
    return "".join(out)


def _heat(share: float, vmax: float) -> tuple[str, str]:
    a = 0.0 if vmax <= 0 else min(1.0, share / vmax)
    bg = f"rgba(31,105,180,{0.08 + 0.82 * a:.3f})" if share > 0 else "#ffffff"
    return bg, ("#fff" if a > 0.55 else "#1f2328")


def _doc_link(key: str, label: str, path: str | None) -> str:
    """A report's name (title, office) linking to its section; the file name on hover."""
    tip = str(path or key)
    return f'<a href="#doc-{_e(_anchor(key))}" title="{_e(tip)}">{_e(label)}</a>'


def _comparison_html(reps: list[CoverageReport], colours: dict[str, str], ids: list[str], labels: list[str]) -> str:
    r0 = reps[0]
    dims = r0.dimensions
    real_max = max([r.shares[d] for r in reps for d in r.real_dimensions] + [0.0])
    h = ['<table class="heat"><thead><tr><th class="doc">报告</th><th>正文句</th><th>覆盖维度</th><th>问题句</th>']
    for d in dims:
        h.append(f'<th class="dim" title="{_e(r0.name(d))}"><span class="sw" style="background:{colours[d]}"></span>'
                 f'{_e(r0.short(d))}</th>')
    h.append("</tr></thead><tbody>")
    for r, i, lab in zip(reps, ids, labels):
        h.append(f'<tr><td class="doc">{_doc_link(i, lab, r.path)}</td><td>{r.n_body}</td>'
                 f'<td>{len(r.covered)}/{len(r.real_dimensions)}</td>'
                 f'<td>{"<span class=pill>" + str(r.n_problems) + "</span>" if r.n_problems else "0"}</td>')
        for d in dims:
            n, s, p = r.counts[d], r.shares[d], len(r.problems[d])
            tip = f"{r.name(d)}：{n} 句（{_pct(s)}）" + (f"，{p} 条问题句" if p else "")
            pb = f'<span class="pb">⚠{p}</span>' if p else ""
            if d in r.missing:
                h.append(f'<td class="miss" title="{_e(tip)}，未覆盖">0{pb}</td>')
            else:
                bg, fg = _heat(s, real_max if d != r.fallback else max(real_max, s))
                if d == r.fallback:
                    bg, fg = "#f1f1f1", "#666"
                h.append(f'<td style="background:{bg};color:{fg}" title="{_e(tip)}">{n}'
                         f'<br><small>{_pct(s)}</small>{pb}</td>')
        h.append("</tr>")
    h.append("</tbody></table>")
    return "".join(h)


def _least_html(df, n_docs: int) -> str:
    h = ['<table class="least"><thead><tr><th>#</th><th class="doc">维度</th>'
         '<th title="至少有一句正文属于该维度的报告数">覆盖该维度的报告</th>'
         '<th title="各报告中该维度正文句所占比例的平均值">平均句子占比</th>'
         '<th>未覆盖的报告</th><th>正文句合计</th><th>问题句</th></tr></thead><tbody>']
    for rank, r in df.iterrows():
        miss = ' class="miss"' if r["missing_in"] else ""
        h.append(f'<tr><td>{rank}</td><td class="doc">{_e(r["name"])}</td>'
                 f'<td>{int(r["documents"])}/{n_docs}（{_pct(r["coverage_rate"])}）</td>'
                 f'<td>{_pct(r["mean_share"])}</td><td{miss}>{int(r["missing_in"])}</td><td>{int(r["sentences"])}</td>'
                 f'<td>{int(r["problems"])}</td></tr>')
    h.append("</tbody></table>")
    return "".join(h)


_META_NAMES = (("title", "标题"), ("office", "发文单位"), ("level", "层级"), ("year", "报告年度"),
               ("genre", "类型"), ("date", "发布日期"))


def metadata_rows(meta: "Any") -> list[tuple[str, str, str]]:
    """(field name in Chinese, value, evidence) for the fields found; a field not found is not listed."""
    out = []
    if meta is None:
        return out
    for k, zh in _META_NAMES:
        f = getattr(meta, k)
        if f is None:
            continue
        v = meta.genre_name if k == "genre" else (f"{f.value}年" if k == "year" else str(f.value))
        out.append((zh, v, f.evidence))
    return out


def _meta_html(meta: "Any") -> str:
    rows = metadata_rows(meta)
    if not rows:
        return '<div class="meta">未能从标题和开头识别出发文单位、年度等信息。</div>'
    return ('<dl class="docmeta">' + "".join(f'<dt>{_e(k)}</dt><dd title="依据：{_e(ev)}">{_e(v)}</dd>'
                                              for k, v, ev in rows) + "</dl>")


def _trend_svg(t: Trend, colours: dict[str, str]) -> str:
    """A small line chart: each dimension's share of body sentences per year."""
    w, h, left, right, top, bottom = 560, 220, 44, 130, 12, 28
    left_pad = 16  # room for the first and last year labels
    pw, ph = w - left - right, h - top - bottom
    vmax = max([t.share(y, d) for y in t.years for d in t.dimensions] + [0.05])
    n = len(t.years)

    def x(i):
        return left + left_pad + ((pw - 2 * left_pad) * i / (n - 1) if n > 1 else pw / 2)

    def y(v):
        return top + ph * (1 - v / vmax)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'aria-label="{_e(t.office)} 各维度占比的年度变化">']
    for frac in (0, 0.5, 1):
        yy = y(vmax * frac)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + pw}" y2="{yy:.1f}" stroke="#e5e7eb"/>'
                   f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" fill="#666">'
                   f'{_pct(vmax * frac)}</text>')
    for i, yr in enumerate(t.years):
        out.append(f'<text x="{x(i):.1f}" y="{h - 8}" text-anchor="middle" font-size="12" fill="#444">{yr}</text>')
    ends = []
    drawn = [d for d in t.dimensions if any(t.counts[yr][d] for yr in t.years)]  # lines at 0 % all along hide the rest
    for d in drawn:
        pts = " ".join(f"{x(i):.1f},{y(t.share(yr, d)):.1f}" for i, yr in enumerate(t.years))
        tip = "；".join(f"{yr}年 {_pct(t.share(yr, d))}（问题 {t.problems[yr][d]}）" for yr in t.years)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colours[d]}" stroke-width="2">'
                   f'<title>{_e(t.name(d))}：{_e(tip)}</title></polyline>')
        for i, yr in enumerate(t.years):
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(t.share(yr, d)):.1f}" r="3" fill="{colours[d]}"/>')
        ends.append([y(t.share(t.years[-1], d)), d])
    ends.sort()
    last = -1e9
    for e in ends:  # end labels, pushed apart so that they never overlap
        e[0] = max(e[0], last + 12)
        last = e[0]
        out.append(f'<text x="{left + pw + 22}" y="{e[0] + 4:.1f}" font-size="11" fill="{colours[e[1]]}">'
                   f'{_e(t.short(e[1]))}</text>')
    out.append("</svg>")
    never = [d for d in t.dimensions if d not in drawn]
    if never:
        out.append('<div class="note">各年均未涉及：' + "、".join(_e(t.name(d)) for d in never) + "</div>")
    return "".join(out)


def _trend_html(trends: list[Trend], colours: dict[str, str]) -> str:
    h = ['<section id="trends"><h2>年度趋势（同一发文单位的多年报告）</h2>',
         '<p class="note">按识别出的发文单位与层级匹配；占比＝该维度正文句 / 当年正文句；⚠＝问题句数；'
         '同一单位同一年有多份报告时合并计算。</p>']
    for t in trends:
        h.append(f"<h3>{_e(t.title)}</h3>")
        h.append('<div class="grid trend"><div>' + _trend_svg(t, colours) + "</div><div>")
        h.append('<table class="heat"><thead><tr><th class="doc">年度</th><th>报告</th><th>正文句</th>')
        for d in t.dimensions:
            h.append(f'<th class="dim" title="{_e(t.name(d))}">{_e(t.short(d))}</th>')
        h.append("</tr></thead><tbody>")
        for yr in t.years:
            h.append(f'<tr><td class="doc">{yr}</td><td>{len(t.reports[yr])}</td><td>{t.n_body[yr]}</td>')
            for d in t.dimensions:
                n, p = t.counts[yr][d], t.problems[yr][d]
                pb = f'<span class="pb">⚠{p}</span>' if p else ""
                cls = ' class="miss"' if n == 0 else ""
                h.append(f'<td{cls} title="{_e(t.name(d))}：{n} 句">{_pct(t.share(yr, d))}{pb}</td>')
            h.append("</tr>")
        h.append("</tbody></table>")
        items = []
        for ch in t.changes:
            parts = []
            if ch["appeared"]:
                parts.append("新出现 " + "".join(f'<span class="badge new">{_e(t.name(d))}</span>' for d in ch["appeared"]))
            if ch["disappeared"]:
                parts.append("不再涉及 " + "".join(f'<span class="badge miss">{_e(t.name(d))}</span>'
                                                  for d in ch["disappeared"]))
            items.append(f"<li>{ch['from']}→{ch['to']}：" + ("；".join(parts) or "覆盖的维度没有变化") + "</li>")
        h.append('<ul class="findings">' + "".join(items) + "</ul></div></div>")
    h.append("</section>")
    return "".join(h)


def _anchor(doc_key: str) -> str:
    import re

    return re.sub(r"[^0-9A-Za-z_-]+", "_", doc_key) or "doc"


def _findings(reps: list[CoverageReport], ids: list[str], labels: list[str]) -> str:
    items = []
    for r, i, lab in zip(reps, ids, labels):
        probs = sorted(((len(v), d) for d, v in r.problems.items() if v), reverse=True)
        top = max(r.real_dimensions, key=lambda d: r.counts[d]) if r.real_dimensions else None
        parts = [f'<b>{_doc_link(i, lab, r.path)}</b>：覆盖 {len(r.covered)}/{len(r.real_dimensions)} 个维度']
        if top and r.counts[top]:
            parts.append(f"最多为「{_e(r.name(top))}」（{_pct(r.shares[top])}）")
        if r.missing:
            parts.append("未覆盖 " + "".join(f'<span class="badge miss">{_e(r.name(d))}</span>' for d in r.missing))
        if probs:
            parts.append(f'问题句 <span class="pill">{r.n_problems}</span>（'
                         + "、".join(f"{_e(r.name(d))} {n}" for n, d in probs) + "）")
        else:
            parts.append("未陈述问题")
        items.append("<li>" + "；".join(parts) + "</li>")
    return '<ul class="findings">' + "".join(items) + "</ul>"


def _doc_text_html(doc: "Any", lab: _Labels, dim_index: dict[str, int], key: str) -> str:
    out = ['<div class="text">']
    para: list[str] = []
    last_section: tuple | None = None

    def flush():
        if para:
            out.append("<p>" + "".join(para) + "</p>")
            para.clear()

    for s in doc.sentences:
        k = dim_index.get(s.dimension, 0)
        tip = (f"{lab.names.get(s.dimension, s.dimension)}（{s.scores.get(s.dimension, 0.0):.2f}）"
               f" · {lab.role_names.get(s.role, s.role)}"
               + (f" · 问题概率 {s.problem_probability:.2f}" if s.is_problem else "")
               + (f" · 次要：{'、'.join(lab.names.get(x, x) for x in s.secondary)}" if s.secondary else "")
               + (f"\n{' > '.join(s.section)}" if s.section else ""))
        cls = f"s d{k}" + (" prob" if s.is_problem else "") + \
              (" plan" if lab.plan_role and s.role == lab.plan_role and not s.is_problem else "")
        span = (f'<span id="{_e(_anchor(key))}-s{s.index}" class="{cls}" data-d="{_e(s.dimension)}" '
                f'data-r="{_e(s.role)}" data-p="{1 if s.is_problem else 0}" title="{_e(tip)}">{_e(s.text)}</span>')
        if s.is_heading:
            flush()
            lvl = min(int(s.heading_level or 3), 3)
            out.append(f'<div class="h h{lvl}">{span}</div>')
            last_section = None
            continue
        if last_section is not None and tuple(s.section) != last_section:
            flush()
        last_section = tuple(s.section)
        para.append(span)
    flush()
    out.append("</div>")
    return "".join(out)


def render_html(docs: Sequence["Any"], *, scheme: "Any" = None, title: str | None = None,
                model: str | None = None, skipped: Sequence[tuple[str, str]] = (),
                plan_role: str | None = DEFAULT_PLAN_ROLE) -> str:
    """The report page as a string (see :func:`write_html`)."""
    docs = list(docs)
    lab = _labels(docs, scheme, plan_role)
    reps = [summarize(d, scheme, plan_role=plan_role, _labels_cache=lab) for d in docs]
    ids = _unique_ids(reps)
    labels = unique_labels(reps)
    tot = totals(reps)
    dims = list(lab.dimensions)
    colours = dimension_colours(dims, lab.fallback)
    dim_index = {d: i for i, d in enumerate(dims)}
    dimcss = "\n".join(f".d{i}{{background:{_hex_rgba(colours[d], 0.16)};border-bottom-color:{colours[d]}}}"
                       for i, d in enumerate(dims))
    title = title or "法治政府建设报告：维度覆盖与问题分析"
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    h: list[str] = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", "<style>", _CSS % {"prob": _PROBLEM, "dimcss": dimcss}, "</style></head><body>",
        f"<header><h1>{_e(title)}</h1><div class=\"meta\" id=\"totals\">"
        f"<span data-n=\"documents\">{tot['documents']}</span> 份报告 · "
        f"<span data-n=\"sentences\">{tot['sentences']}</span> 句"
        f"（正文 <span data-n=\"body\">{tot['body']}</span>，标题 <span data-n=\"headings\">{tot['headings']}</span>）"
        f" · 问题句 <span data-n=\"problems\">{tot['problems']}</span>"
        f" · 计划句 <span data-n=\"plans\">{tot['plans']}</span> · 生成于 {_e(now)}"
        + (f" · 模型 {_e(model)}" if model else "") + "</div>",
        f'<div class="note">维度与“问题/计划”由模型自动标注，仅供参考。{_e(COUNT_DEFINITION)}'
        + (f"「{_e(lab.names[lab.fallback])}」（套话、落款等）计入句数但不算作覆盖。" if lab.fallback else "")
        + "</div>",
    ]
    if skipped:
        h.append('<div class="warn"><b>未能读取、已跳过的文件：</b>'
                 + "；".join(f"{_e(p)}（{_e(why)}）" for p, why in skipped) + "</div>")
    h.append("</header><main>")
    if not reps:
        h.append("<p>没有可分析的报告。</p></main></body></html>")
        return "\n".join(h)

    # overview -----------------------------------------------------------
    h.append('<section id="overview"><h2>概览</h2>')
    h.append(_findings(reps, ids, labels))
    h.append("<h3>各报告 × 维度：正文句数与占比（颜色越深占比越高；红底＝未覆盖；⚠＝问题句数；悬停看维度全称）</h3>")
    h.append(_comparison_html(reps, colours, ids, labels))
    h.append("<h3>覆盖最少的维度</h3><p class=\"note\">排序依据：先按“覆盖该维度的报告”所占比例（至少有一句正文属于该维度）"
             "升序，再按“平均句子占比”（各报告中该维度正文句占比的平均值）升序；第 1 名是最少报告涉及的维度。</p>")
    h.append(_least_html(least_covered(reps), len(reps)))
    h.append("</section>")
    trends = trend(docs, scheme, reports=reps)
    if trends:
        h.append(_trend_html(trends, colours))

    # toolbar ------------------------------------------------------------
    h.append('<div class="toolbar" id="filters"><div class="row"><b>维度：</b>')
    for i, d in enumerate(dims):
        h.append(f'<label><input type="checkbox" class="fd" value="{_e(d)}" checked>'
                 f'<span class="sw" style="background:{colours[d]}"></span>{_e(lab.names[d])}</label>')
    h.append('<button type="button" id="dimall">全选</button><button type="button" id="dimnone">全不选</button></div>')
    h.append('<div class="row"><b>作用：</b><label><input type="radio" name="role" value="*" checked>全部</label>')
    for r in lab.roles:
        h.append(f'<label><input type="radio" name="role" value="{_e(r)}">{_e(lab.role_names[r])}</label>')
    h.append('<label><input type="checkbox" id="onlyprob"> 只看问题句</label>'
             '<label><input type="checkbox" id="hideoff"> 隐藏不符合的句子</label>'
             '<span class="meta">显示 <b id="shown">–</b> 句 · 图例：底色＝维度；'
             f'<span style="outline:2px solid {_PROBLEM}">⚠ 红框</span>＝问题句；虚下划线＝下一步计划</span></div></div>')

    # documents ----------------------------------------------------------
    scale_max = max([max(r.counts.values()) for r in reps] + [1])
    for doc, r, key, label in zip(docs, reps, ids, labels):
        a = _anchor(key)
        h.append(f'<section class="doc" id="doc-{_e(a)}"><h2 title="{_e(doc.path or key)}">{_e(label)}</h2>')
        h.append(_meta_html(r.metadata))
        info = [f"{r.n_sentences} 句（正文 {r.n_body}，标题 {r.n_headings}）",
                f"覆盖 {len(r.covered)}/{len(r.real_dimensions)} 个维度",
                f"问题句 {r.n_problems}", f"计划句 {r.n_plans}"]
        if doc.path:
            info.insert(0, str(doc.path))
        h.append(f'<div class="meta">{_e(" · ".join(info))}</div>')
        warn = (doc.info or {}).get("suspicious_spans") if isinstance(doc.info, dict) else None
        if warn:
            h.append(f'<div class="warn">该文件有 {len(warn)} 处疑似乱码，相关句子的标注可能不可靠。</div>')
        h.append('<div class="grid"><div><h3>各维度正文句数（红色斜纹＝问题句）</h3>')
        h.append(_coverage_svg(r, colours, scale_max))
        if r.missing:
            h.append('<div>未覆盖：' + "".join(f'<span class="badge miss">{_e(r.name(d))}</span>' for d in r.missing)
                     + "</div>")
        h.append("</div><div>")
        h.append(f"<h3>存在的问题（{r.n_problems}）</h3>")
        if r.n_problems:
            h.append('<ul class="probs">')
            for d in r.dimensions:
                for s in r.problems[d]:
                    h.append(f'<li><span class="dn" style="color:{colours[d]}">{_e(r.name(d))}</span>'
                             f'<a href="#{_e(a)}-s{s.index}">{_e(s.text)}</a></li>')
            h.append("</ul>")
        else:
            h.append('<p class="note">模型未在本报告中识别出问题句。</p>')
        h.append("</div></div>")
        h.append(f'<details open><summary>全文（{r.n_sentences} 句，按维度着色；悬停查看标注与概率）</summary>')
        h.append(_doc_text_html(doc, lab, dim_index, key))
        h.append("</details></section>")
    h.append("</main><script>" + _JS + "</script></body></html>")
    return "\n".join(h)


def write_html(docs: Sequence["Any"], path: str | os.PathLike, **kwargs) -> Path:
    """Write one self-contained HTML report (inline CSS, JS and SVG; no external URL), atomically.

    Shows: findings per document, the documents × dimensions heat-map, the least
    covered dimensions, per-document coverage charts with problem counts, the problem
    sentences, and the full text coloured by dimension with problem sentences framed;
    filters by dimension and role. Keyword arguments go to :func:`render_html`.
    """
    from ..output import atomic_write

    page = render_html(docs, **kwargs)
    with atomic_write(path) as fh:
        fh.write(page)
    return Path(path)

