"""Open the built docs in headless Chromium, take screenshots, and check the pages are whole.

Run after building the HTML::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python docs/screenshot.py                 # home page + the first gallery page
    python docs/screenshot.py --page auto_examples/plot_bag_of_curves.html

Screenshots go to ``docs/_build/screenshots/``. Besides the pictures (look at them: a broken
stylesheet or a missing figure shows at once), each page's rendered DOM is checked: it has its
title, every local image it references exists, the gallery page shows at least one figure that
the example produced, and no page shows a Python traceback. The script exits non-zero when a
check fails or when a screenshot is blank.

Needs Chromium (Debian: ``apt-get install chromium``); ``--chromium PATH`` picks another binary.
"""

from __future__ import annotations

import argparse
import html.parser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

DOCS = Path(__file__).resolve().parent
DEFAULT_HTML = DOCS / "_build" / "html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags for a sandbox-free, offline, single-shot headless run that leaves nothing behind.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
)


class _PageFacts(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.classes: set[str] = set()
        self.title = ""
        self._in_title = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"] or "")
        self.classes.update((a.get("class") or "").split())
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def find_browser(explicit: str | None) -> str:
    """Path of a Chromium binary (``--chromium`` first, then the usual names on PATH)."""
    for name in ([explicit] if explicit else []) + list(BROWSERS):
        path = shutil.which(name) if name else None
        if path:
            return path
    raise SystemExit(
        "no Chromium found: install it (Debian: apt-get install chromium) or pass --chromium PATH"
    )


def run_browser(
    browser: str, url: str, args: list[str], timeout: float
) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="pyisp-docs-chromium-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def check_dom(dom: str, page: Path, *, gallery: bool) -> list[str]:
    """Problems seen in a page's rendered DOM."""
    facts = _PageFacts()
    facts.feed(dom)
    problems = []
    if "pyisp_contrast" not in facts.title:
        problems.append(f"title is {facts.title!r}, not the site's")
    for src in facts.images:
        parsed = urlparse(src)
        if parsed.scheme in ("http", "https", "data"):
            continue
        target = (
            Path(unquote(parsed.path)) if parsed.scheme == "file" else page.parent / unquote(src)
        )
        if not target.exists():
            problems.append(f"missing image {src}")
    if gallery and not (facts.classes & {"sphx-glr-single-img", "sphx-glr-multi-img"}):
        problems.append("no figure produced by the example")
    text = " ".join(facts.text)
    if "Traceback (most recent call last)" in text:
        problems.append("a Python traceback is shown")
    return problems


def blank(png: Path) -> bool:
    """True when the screenshot is (nearly) one colour."""
    from PIL import Image, ImageStat

    with Image.open(png) as im:
        stddev = ImageStat.Stat(im.convert("L")).stddev[0]
    return stddev < 2.0


def shoot(
    browser: str, page: Path, out: Path, *, gallery: bool, size: str, timeout: float
) -> list[str]:
    url = page.resolve().as_uri()
    png = out / (f"gallery_{page.stem}.png" if gallery else f"{page.stem}.png")
    shot = run_browser(browser, url, [f"--window-size={size}", f"--screenshot={png}"], timeout)
    problems = []
    if shot.returncode != 0 or not png.is_file():
        return [f"screenshot failed (exit {shot.returncode}): {shot.stderr.strip()[-500:]}"]
    if blank(png):
        problems.append(f"screenshot {png.name} is blank")
    dom = run_browser(browser, url, ["--dump-dom"], timeout)
    if dom.returncode != 0 or "<html" not in dom.stdout:
        problems.append(f"could not read the rendered page (exit {dom.returncode})")
    else:
        problems += check_dom(dom.stdout, page, gallery=gallery)
    print(f"{page.name}: {png}" + ("" if not problems else f"  PROBLEMS: {problems}"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML, help="built HTML folder")
    parser.add_argument("--out", type=Path, default=None, help="screenshot folder")
    parser.add_argument(
        "--page", default=None, help="gallery page relative to --html (default: first one)"
    )
    parser.add_argument("--chromium", default=None, help="browser binary")
    parser.add_argument("--size", default="1280,1400", help="window size W,H")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per browser run")
    args = parser.parse_args(argv)

    html_dir = args.html.resolve()
    index = html_dir / "index.html"
    if not index.is_file():
        print(f"{index} not found: build the docs first", file=sys.stderr)
        return 1
    if args.page:
        gallery_page = html_dir / args.page
    else:
        pages = sorted((html_dir / "auto_examples").glob("plot_*.html"))
        if not pages:
            print("no gallery page (auto_examples/plot_*.html) in the build", file=sys.stderr)
            return 1
        gallery_page = pages[0]
    out = (args.out or html_dir.parent / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    browser = find_browser(args.chromium)

    problems = shoot(browser, index, out, gallery=False, size=args.size, timeout=args.timeout)
    problems += shoot(
        browser, gallery_page, out, gallery=True, size=args.size, timeout=args.timeout
    )
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
