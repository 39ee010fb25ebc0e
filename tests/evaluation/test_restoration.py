from __future__ import annotations

import pytest
import torch

from pyisp_contrast.core.io import write_image
from pyisp_contrast.evaluation import (
    RESTORATION_TASKS,
    classical_baseline,
    evaluate_restoration,
    synthetic_pairs,
)
from pyisp_contrast.isp.degrade import haze, rain
from pyisp_contrast.metrics import psnr


@pytest.fixture
def clean_folder(tmp_path):
    g = torch.Generator().manual_seed(0)
    for i in range(10):
        write_image(tmp_path / f"img_{i:02d}.png", torch.rand(3, 40, 60, generator=g))
    return tmp_path


@pytest.mark.parametrize("task", sorted(RESTORATION_TASKS))
def test_pairs_are_the_held_out_images_degraded_with_fixed_seeds(clean_folder, task):
    pairs = list(synthetic_pairs(clean_folder, task, max_side=30))
    # every 5th of 10 sorted images is held out: img_04 and img_09
    assert [name for name, _, _ in pairs] == ["img_04.png", "img_09.png"]
    degrade = {"dehaze": haze, "derain": rain}[task]
    for i, (_, degraded, clean) in enumerate(pairs):
        assert clean.shape == (1, 3, 20, 30)  # long side resized to max_side
        g = torch.Generator().manual_seed(RESTORATION_TASKS[task] + i)
        torch.testing.assert_close(degraded, degrade(clean, generator=g)[0])
    again = list(synthetic_pairs(clean_folder, task, max_side=30))
    torch.testing.assert_close(again[1][1], pairs[1][1])


def test_evaluate_restoration_against_a_loop(clean_folder):
    pairs = list(synthetic_pairs(clean_folder, "dehaze", max_side=30))
    dcp = classical_baseline("dehaze")
    result = evaluate_restoration({"dcp": dcp}, iter(pairs))
    assert list(result["mean"]) == ["input", "dcp"]
    expected = sum(float(psnr(dcp(d).clamp(0, 1), c)[0]) for _, d, c in pairs) / len(pairs)
    assert result["mean"]["dcp"]["psnr"] == pytest.approx(expected, rel=1e-6)
    assert [r["image"] for r in result["images"]] == ["img_04.png", "img_09.png"]


def test_bad_input(clean_folder, tmp_path):
    with pytest.raises(ValueError, match="`task` must be one of"):
        next(synthetic_pairs(clean_folder, "deblur"))
    with pytest.raises(ValueError, match="`max_side`"):
        next(synthetic_pairs(clean_folder, "derain", max_side=4))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        next(synthetic_pairs(empty, "dehaze"))
    with pytest.raises(ValueError, match="no pairs"):
        evaluate_restoration({}, iter([]))
