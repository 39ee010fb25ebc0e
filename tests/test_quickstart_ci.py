"""README's quick start and ``.ci/run`` stay one: CI runs the two commands a new user runs.

``.ci/run`` reads the commands from README.md's Quick start block; these tests check that the block
holds exactly the two documented commands, that the script extracts those very lines
(``bash .ci/run --print-quickstart`` prints them and runs nothing), that it runs them as written,
and that every extra a test skips for is one that CI installs before running the skipped tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"

INSTALL_AND_ENHANCE = (
    "python -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && "
    "pip install -e '.[dev]' && pyisp-contrast enhance --sample -o enhanced/"
)
RUN_TESTS = "python -m pytest -q"


def _quickstart_block(text: str) -> list[str]:
    """The non-comment, non-blank lines of the first fenced block of the Quick start section."""
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    block = re.search(r"^```[a-z]*\n(.*?)^```", section.group(1), flags=re.M | re.S)
    assert block, "README.md's Quick start section has no code block"
    return [
        line
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_readme_quickstart_is_exactly_the_two_commands() -> None:
    assert _quickstart_block(README.read_text()) == [INSTALL_AND_ENHANCE, RUN_TESTS]


def test_docs_quickstart_page_shows_the_same_commands() -> None:
    lines = {line.strip() for line in (ROOT / "docs" / "quickstart.rst").read_text().splitlines()}
    assert {INSTALL_AND_ENHANCE, RUN_TESTS} <= lines


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_extracts_the_readme_commands() -> None:
    proc = subprocess.run(
        ["bash", str(CI), "--print-quickstart"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == _quickstart_block(README.read_text())


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("```bash\npython -m pytest -q\n```\n", "found 1"),
        ("```bash\n# only a comment\n```\n", "found 0"),
        (
            f"```bash\npython -m venv .venv && pip install -e .\n{RUN_TESTS}\n```\n",
            "no longer creates and activates .venv",
        ),
    ],
    ids=["one-command", "no-command", "no-venv"],
)
def test_ci_fails_loudly_on_a_changed_quickstart(tmp_path: Path, block: str, message: str) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy(CI, tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text(
        f"# x\n\n## Quick start\n\n{block}\n## Next\n\n```\nls\n```\n"
    )
    proc = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert message in proc.stderr
    assert not (tmp_path / ".venv").exists()  # it stopped before running anything


def test_ci_runs_the_commands_as_written_then_the_extras_and_the_docs() -> None:
    script = CI.read_text()
    steps = [
        'eval "${quickstart[0]}"',  # command 1, in this shell, so .venv stays active
        'run_pytest "${quickstart[1]}"',  # command 2
        "pip install -e '.[docs,bench,export,heic,video]'",
        'run_pytest "python -m pytest -q ${skipped_files[*]}"',
        "python -m sphinx -W --keep-going -b html docs docs/_build/html",
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions) if p == -1]
    assert positions == sorted(positions), "the CI steps are out of order"
    assert "set -euo pipefail" in script
    assert '"$status" -eq 5' in script  # pytest's "no tests collected" fails CI


def test_every_extra_a_test_skips_for_is_installed_by_ci() -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    ci_extras = set(
        re.search(r"(?m)^pip install -e '\.\[([\w,]+)\]'", CI.read_text()).group(1).split(",")
    )
    assert ci_extras <= extras
    named = set()
    for path in (ROOT / "tests").rglob("*.py"):
        if path == Path(__file__).resolve():
            continue  # this file quotes the CI's install line itself
        for group in re.findall(r"pip install -e '\.\[([\w,]+)\]'", path.read_text()):
            named |= set(group.split(","))
    named.discard("dev")  # the quick start installs it
    assert named, "no test names an extra to install (the search pattern is out of date?)"
    assert named <= extras, f"tests name extras pyproject.toml lacks: {named - extras}"
    assert named <= ci_extras, f"CI does not install {named - ci_extras} before rerunning"
