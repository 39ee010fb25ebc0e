"""The page checks of ``docs/screenshot.py`` (the browser itself is not needed here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("docs_screenshot", ROOT / "docs" / "screenshot.py")
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)


def _page(tmp_path: Path, body: str, title: str = "Home - pyisp_contrast 0.1.0") -> Path:
    page = tmp_path / "index.html"
    page.write_text(f"<html><head><title>{title}</title></head><body>{body}</body></html>")
    return page


def test_a_whole_gallery_page_passes(tmp_path: Path) -> None:
    (tmp_path / "fig.png").write_bytes(b"png")
    body = '<img class="sphx-glr-single-img" src="fig.png"><img src="https://x/y.png">'
    page = _page(tmp_path, body)
    assert screenshot.check_dom(page.read_text(), page, gallery=True) == []


def test_broken_pages_are_reported(tmp_path: Path) -> None:
    body = '<img src="_images/missing.png"><pre>Traceback (most recent call last):</pre>'
    page = _page(tmp_path, body, title="404")
    problems = screenshot.check_dom(page.read_text(), page, gallery=True)
    assert any("title" in p for p in problems)
    assert "missing image _images/missing.png" in problems
    assert "no figure produced by the example" in problems
    assert "a Python traceback is shown" in problems


def test_blank_screenshots_are_detected(tmp_path: Path) -> None:
    flat, busy = tmp_path / "flat.png", tmp_path / "busy.png"
    Image.new("RGB", (64, 64), "white").save(flat)
    img = Image.new("RGB", (64, 64), "white")
    img.paste((0, 0, 0), (0, 0, 32, 64))
    img.save(busy)
    assert screenshot.blank(flat)
    assert not screenshot.blank(busy)
