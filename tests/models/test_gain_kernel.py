"""The fused CPU kernel behind GuidedGainEnhancer.apply_maps (guided-filter colour, rational gain)."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.models import gain_net
from pyisp_contrast.models.gain_net import GuidedGainEnhancer
from pyisp_contrast.models.pretrained import load_pretrained


def _torch_apply(net, x, maps, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(gain_net, "_use_gain_kernel", lambda *a: False)
        return net.apply_maps(x, *maps)


def _photo(h, w, seed):
    """Smooth dark light with texture, a black and a white corner."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 5, h), torch.linspace(0, 7, w), indexing="ij")
    base = 0.1 + 0.08 * torch.sin(xx) * torch.cos(yy)
    x = (base + 0.03 * torch.rand(3, h, w, generator=g)).clamp(0, 1)[None]
    x[..., : h // 5, : w // 5] = 0.0
    x[..., -(h // 5) :, -(w // 5) :] = 1.0
    return x


@pytest.mark.parametrize("size", [(37, 53), (333, 257), (64, 64), (5, 3), (130, 70)])
@pytest.mark.parametrize("kind", ["random", "photo"])
def test_kernel_equals_torch_path(monkeypatch, size, kind) -> None:
    torch.manual_seed(0)
    net = GuidedGainEnhancer(channels=4, working_side=16).eval()
    x = torch.rand(2, 3, *size) if kind == "random" else _photo(*size, seed=1)
    stats, log_gain, log_eps = net.low_res_maps(x)
    # Random maps over the whole range, so every branch of the curves is taken.
    log_gain = torch.rand_like(log_gain) * 7.0 - 1.0
    log_eps = torch.rand_like(log_eps) * 12.0 - 16.0
    maps = (stats, log_gain, log_eps)
    assert gain_net._use_gain_kernel(x, torch.empty(1, 6, 1, 1))
    got = net.apply_maps(x, *maps)
    want = _torch_apply(net, x, maps, monkeypatch)
    torch.testing.assert_close(got, want, atol=2e-6, rtol=0)
    assert float(got.min()) >= 0.0 and float(got.max()) <= 1.0


def test_bundled_model_equals_torch_path(monkeypatch) -> None:
    net = load_pretrained("pie-physics")
    x = _photo(121, 203, seed=2)
    maps = net.low_res_maps(x)
    torch.testing.assert_close(
        net.apply_maps(x, *maps), _torch_apply(net, x, maps, monkeypatch), atol=2e-6, rtol=0
    )


def test_grey_stays_exactly_grey() -> None:
    torch.manual_seed(3)
    net = GuidedGainEnhancer(channels=4, working_side=16).eval()
    grey = torch.rand(1, 1, 45, 61).expand(1, 3, 45, 61).contiguous()
    out = net.enhance(grey)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_flat_black_and_white_give_no_nan(value) -> None:
    torch.manual_seed(4)
    net = GuidedGainEnhancer(channels=4, working_side=16).eval()
    out = net.enhance(torch.full((1, 3, 33, 47), value))
    assert not bool(out.isnan().any())
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_kernel_leaves_input_alone_and_takes_views() -> None:
    torch.manual_seed(5)
    net = GuidedGainEnhancer(channels=4, working_side=16).eval()
    base = torch.rand(1, 3, 40, 50)
    x = base.permute(0, 1, 3, 2).transpose(2, 3)  # same values, non-contiguous strides
    keep = x.clone()
    maps = net.low_res_maps(base)
    got = net.apply_maps(x, *maps)
    assert torch.equal(x, keep)
    torch.testing.assert_close(got, net.apply_maps(base, *maps), atol=0, rtol=0)


def test_other_cases_take_the_torch_path() -> None:
    x = torch.rand(1, 3, 13, 11)
    assert not gain_net._use_gain_kernel(x.double(), torch.rand(1, 6, 4, 4).double())
    assert not gain_net._use_gain_kernel(x, torch.rand(1, 6, 4, 4).double())
    net = GuidedGainEnhancer(channels=4, working_side=8).eval().double()
    assert net.enhance(x.double()).dtype == torch.float64
