"""One definition of the Rec. 601 luma weights (issue 15, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

import pyisp_contrast
from pyisp_contrast.core import LUMA_WEIGHTS, luma

PACKAGE = Path(pyisp_contrast.__file__).parent


def test_weights_and_value():
    assert LUMA_WEIGHTS == (0.299, 0.587, 0.114)
    x = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    ref = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]
    torch.testing.assert_close(luma(x), ref)
    assert luma(x).shape == (2, 1, 5, 4)
    grey = x[:, :1]
    assert luma(grey) is grey
    assert luma(x[0]).shape == (1, 5, 4)  # any (..., C, H, W)


def test_every_luma_is_the_core_one():
    from pyisp_contrast import isp
    from pyisp_contrast.contrastive import gray_level
    from pyisp_contrast.isp import bank

    assert isp.luma is luma and bank.luma is luma
    x = torch.rand(2, 3, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(gray_level(x), luma(x))


def test_weights_written_only_in_core():
    # the numbers themselves appear in one module; everything else imports LUMA_WEIGHTS or luma
    pattern = re.compile(r"0\.587\b")
    holders = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(pattern.search(line) and "``" not in line for line in p.read_text().splitlines())
    )
    assert holders == ["core/color.py"]
