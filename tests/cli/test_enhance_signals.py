"""Ctrl-C and SIGTERM during ``enhance`` leave no partial file behind (a real process is signalled)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from pyisp_contrast.core.io import write_image
from pyisp_contrast.models import FastCurveEstimator, save_pretrained

# Runs the CLI with a write that stops half-way, so the signal arrives while the partial exists.
SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyisp_contrast.core.io as io
    from pyisp_contrast.cli import main

    write = io.write_image

    def slow_write(path, *args, **kwargs):
        write(path, *args, **kwargs)
        print("WRITING", path, flush=True)
        time.sleep(120)

    io.write_image = slow_write
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize(
    "sig,code,word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_signal_removes_the_partial_file(tmp_path, sig, code, word):
    torch.manual_seed(0)
    save_pretrained(FastCurveEstimator(), tmp_path / "w.pt")
    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        write_image(tmp_path / "in" / f"{name}.png", 0.2 * torch.rand(3, 12, 12))
    out = tmp_path / "out"
    args = ["enhance", str(tmp_path / "in"), "-o", str(out), "--weights", str(tmp_path / "w.pt"),
            "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITING"), proc.stderr.read()
        partial = line.split(" ", 1)[1].strip()
        assert os.path.basename(partial).startswith(".a.") and partial.endswith(".partial.png")
        assert os.path.exists(partial)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert word in err and "stopped after 0 of 2 file(s)" in err
    # no partial file, no half-made output: nothing was written, so the output folder this run
    # made is gone too
    assert not os.path.exists(out)
