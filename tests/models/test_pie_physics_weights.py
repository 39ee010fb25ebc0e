"""The bundled default enhancer (``pie-physics``) keeps neutral greys neutral (issue 12, item 2).

Measured on inputs with RGB content, not only on exactly flat greys (those stay grey by
construction: every channel is scaled by one ratio): a grey field with mild sensor noise beside a
coloured patch, and the grey patches of a synthetic colour chart darkened in linear light.
"""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.models import GuidedGainEnhancer, load_pretrained

#: sRGB values of a colour chart: a row of colours and a row of neutral greys (white to dark).
COLOURS = [
    (0.45, 0.32, 0.26), (0.76, 0.58, 0.50), (0.35, 0.48, 0.61),
    (0.34, 0.42, 0.25), (0.50, 0.50, 0.70), (0.40, 0.74, 0.67),
]  # fmt: skip
GREYS = [0.95, 0.78, 0.63, 0.47, 0.33, 0.20]
PATCH, GAP = 64, 12
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def model() -> GuidedGainEnhancer:
    net = load_pretrained("pie-physics")
    assert isinstance(net, GuidedGainEnhancer)
    return net


def _chart() -> torch.Tensor:
    step = PATCH + GAP
    chart = torch.full((1, 3, 2 * step + GAP, 6 * step + GAP), 0.05)  # dark frame, as printed
    for row, values in enumerate([COLOURS, [(v, v, v) for v in GREYS]]):
        for col, rgb in enumerate(values):
            top, left = GAP + row * step, GAP + col * step
            chart[..., top : top + PATCH, left : left + PATCH] = torch.tensor(rgb).view(1, 3, 1, 1)
    return chart


def _ratio_spread(patch: torch.Tensor) -> float:
    """max / min - 1 of the patch's mean R, G, B."""
    m = patch.mean((-2, -1)).flatten()
    return float(m.max() / m.min() - 1)


@pytest.mark.parametrize("ev", [-2.0, -3.0, -4.0, -5.0])
def test_grey_patches_of_a_darkened_chart_stay_neutral(model, ev: float) -> None:
    dark, _ = low_light(_chart(), ev_range=ev, shot_noise=0.0, read_noise=0.0)
    out = model.enhance(dark)
    step, q = PATCH + GAP, PATCH // 4
    for col in range(6):
        top, left = GAP + step, GAP + col * step
        centre = out[0, :, top + q : top + PATCH - q, left + q : left + PATCH - q]
        assert _ratio_spread(centre) <= TOLERANCE, (ev, GREYS[col])
    # and it was lifted: the middle grey comes out brighter than it went in
    assert float(out[..., GAP + step + PATCH // 2, GAP + 3 * step + PATCH // 2].mean()) > float(
        dark[..., GAP + step + PATCH // 2, GAP + 3 * step + PATCH // 2].mean()
    )


@pytest.mark.parametrize("level", [5, 10, 20, 40, 80, 120, 200])
def test_noisy_grey_beside_a_coloured_patch_stays_neutral(model, level: int) -> None:
    g = torch.Generator().manual_seed(level)
    x = torch.full((1, 3, 160, 200), level / 255)
    x = (x + 0.004 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    x[..., :48, :48] = torch.tensor([0.6, 0.2, 0.1]).view(1, 3, 1, 1) * min(1.0, level / 60)
    out = model.enhance(x)
    assert _ratio_spread(out[0, :, 80:, 100:]) <= TOLERANCE


@pytest.mark.parametrize("level", [5, 50, 120, 200])
def test_flat_grey_is_exactly_grey(model, level: int) -> None:
    out = model.enhance(torch.full((1, 3, 64, 64), level / 255))
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_the_shipped_file_is_stage_2_with_the_cards_inference_settings(model) -> None:
    """Reproducible (issue 12): the shipped weights are stage 2's committed step-700 checkpoint
    unchanged, and the shipped file differs from it only by the settings the model card chose
    after training (all of them inference-only); applying those gives the same outputs."""
    from pathlib import Path

    stage2 = Path(__file__).resolve().parents[2] / "configs/init/pie_physics_stage2.pt"
    trained = load_pretrained(stage2)
    assert trained.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(a, model.state_dict()[k]) for k, a in trained.state_dict().items())
    chosen = {k: v for k, v in model.config.items() if trained.config[k] != v}
    assert set(chosen) == {
        "radius", "order_preserving", "denoise_nsr", "denoise_knee", "detail", "detail_nsr",
        "contrast", "contrast_sigma", "contrast_lift", "tone",
    }  # fmt: skip
    for key, value in chosen.items():
        setattr(trained, key, value)
    assert trained.config == model.config
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(3)) * 0.2
    torch.testing.assert_close(trained.enhance(x), model.enhance(x), atol=0, rtol=0)
