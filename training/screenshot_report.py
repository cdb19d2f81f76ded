"""Render a ``lawgov report`` HTML page in headless Chromium and save a screenshot.

This is the repeatable check that the report renders Chinese correctly (CJK fonts
present, no tofu boxes, no mojibake) and reads at a glance. Look at the PNG.

Needs Chromium and a CJK font; on Debian/Ubuntu (as root):

    apt-get update && apt-get install -y chromium fonts-noto-cjk

Usage, from the repository root:

    # an existing report
    python training/screenshot_report.py report.html -o report.png
    # build the report of the sample reports first (any model directory), then shoot it
    python training/screenshot_report.py /tmp/samples.html --make tests/data/samples --model models/lawgov-zh-small
    # a taller window shows more of the page (Chromium's --screenshot captures the window only)
    python training/screenshot_report.py report.html --height 6000
    # and the print view (what "print to PDF" gives), first 3 pages as PNG (needs poppler-utils)
    python training/screenshot_report.py report.html --print-pages 3

Besides the PNG it checks, and exits 1 when one fails:

* a CJK font is installed (``fc-list :lang=zh``), otherwise Chinese shows as boxes;
* the DOM Chromium built (``--dump-dom``) contains the page's Chinese text unchanged,
  i.e. the page was decoded as UTF-8 (no mojibake);
* the page references no external URL (it must open offline).

Chromium runs with a throw-away profile, no GPU, no background networking.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def find_chromium() -> str:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name) or (name if Path(name).exists() else None)
        if p:
            return p
    sys.exit("chromium not found: apt-get update && apt-get install -y chromium fonts-noto-cjk")


def run_chromium(chromium: str, args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="lawgov-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 2000, chromium: str | None = None) -> Path:
    chromium = chromium or find_chromium()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    res = run_chromium(chromium, [f"--screenshot={png.resolve()}", f"--window-size={width},{height}",
                                  html.resolve().as_uri()])
    if not png.exists():
        sys.exit(f"chromium wrote no screenshot (exit {res.returncode}):\n{res.stderr[-2000:]}")
    return png


def print_view(html: Path, png: Path, chromium: str | None = None, pages: int = 1, dpi: int = 60) -> list[Path]:
    """The page as the browser prints it (the print stylesheet): ``--print-to-pdf``, then the first
    ``pages`` pages as PNG (``pdftoppm`` from poppler-utils) beside ``png`` (``name-1.png`` …)."""
    pdf = png.with_suffix(".pdf")
    if pdf.exists():
        pdf.unlink()
    run_chromium(chromium or find_chromium(), [f"--print-to-pdf={pdf.resolve()}", "--no-pdf-header-footer",
                                               html.resolve().as_uri()])
    if not pdf.exists():
        sys.exit("chromium wrote no PDF for the print view")
    if not shutil.which("pdftoppm"):
        sys.exit(f"print view saved as {pdf}; install poppler-utils (pdftoppm) for PNGs")
    stem = png.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf), str(stem)], check=True)
    return sorted(png.parent.glob(f"{stem.name}-*.png"))


def dump_dom(html: Path, chromium: str | None = None) -> str:
    res = run_chromium(chromium or find_chromium(), ["--dump-dom", html.resolve().as_uri()])
    return res.stdout


def checks(html: Path, chromium: str | None = None) -> list[str]:
    """Problems found (an empty list means all checks passed)."""
    problems = []
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
    if not fonts:
        problems.append("no CJK font installed (fc-list :lang=zh is empty): apt-get install -y fonts-noto-cjk")
    else:
        print(f"CJK fonts: {len(fonts.splitlines())} (e.g. {fonts.splitlines()[0]})")
    src = html.read_text(encoding="utf-8")
    ext = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]+|url\(\s*["']?(?:https?:)?//""", src)
    if ext:
        problems.append(f"external references in the page: {ext[:3]}")
    dom = dump_dom(html, chromium)
    sample = re.findall(r"[\u4e00-\u9fff]{6,}", re.sub(r"<[^>]+>", " ", src.split("<main>", 1)[-1]))[:200]
    if not dom:
        problems.append("chromium --dump-dom returned nothing")
    else:
        lost = [s for s in sample if s not in dom]
        if lost:
            problems.append(f"{len(lost)} of {len(sample)} Chinese strings not in the rendered DOM (mojibake?), "
                            f"e.g. {lost[0]}")
        else:
            print(f"DOM check: {len(sample)} Chinese strings rendered unchanged")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path, help="Report HTML (written first when --make is given).")
    ap.add_argument("-o", "--output", type=Path, help="PNG path (default: beside the HTML, .png).")
    ap.add_argument("--make", nargs="+", metavar="PATH", help="Run `lawgov report PATH... -o HTML` first.")
    ap.add_argument("--model", help="Model directory for --make (default: the shipped model).")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2000)
    ap.add_argument("--no-checks", action="store_true", help="Only take the screenshot.")
    ap.add_argument("--print-pages", type=int, default=0, metavar="N",
                    help="Also render the print view (print stylesheet, A4) and save its first N pages as PNG.")
    a = ap.parse_args(argv)
    if a.make:
        cmd = [sys.executable, "-m", "lawgov_nlp.cli", "report", *a.make, "-o", str(a.html), "--no-progress"]
        if a.model:
            cmd += ["--model", a.model]
        res = subprocess.run(cmd)
        if not a.html.exists():
            print(f"lawgov report failed (exit {res.returncode})", file=sys.stderr)
            return 1
    chromium = find_chromium()
    png = screenshot(a.html, a.output or a.html.with_suffix(".png"), a.width, a.height, chromium)
    print(f"screenshot: {png} ({png.stat().st_size / 1024:.0f} KB, {a.width}x{a.height})")
    if a.print_pages:
        pv = a.output.with_name(a.output.stem + "-print.png") if a.output else a.html.with_name(a.html.stem + "-print.png")
        for p in print_view(a.html, pv, chromium, a.print_pages):
            print(f"print view: {p} ({p.stat().st_size / 1024:.0f} KB)")
    if a.no_checks:
        return 0
    problems = checks(a.html, chromium)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if not problems:
        print("checks passed; now look at the PNG")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
