"""The fused CPU kernel that applies upsampled LE curve maps (FastCurveEstimator.apply_curves)."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.models import curve_net
from pyisp_contrast.models.curve_net import FastCurveEstimator, apply_curve_maps


def _torch_apply(net, x, low, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(curve_net, "_use_curve_kernel", lambda *a: False)
        return net.apply_curves(x, low)


@pytest.mark.parametrize("iterations", [1, 2, 3, 8])
@pytest.mark.parametrize("size", [(37, 53), (8, 8), (64, 17)])
def test_kernel_equals_torch_path(monkeypatch, iterations, size) -> None:
    torch.manual_seed(0)
    net = FastCurveEstimator(channels=4, iterations=iterations, working_side=9).eval()
    x = torch.rand(2, 3, *size)
    x[0, :, 0, :5] = 0.0
    x[1, :, -1, -5:] = 1.0
    low = torch.rand(2, 3, *net.working_size(*size)) * 2 - 1
    assert curve_net._use_curve_kernel(x, low)
    got = net.apply_curves(x, low)
    want = _torch_apply(net, x, low, monkeypatch)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    assert float(got.min()) >= 0.0 and float(got.max()) <= 1.0


def test_kernel_equals_the_differentiable_forward() -> None:
    """enhance (kernel) agrees with forward (F.interpolate + apply_curve_maps, autograd)."""
    torch.manual_seed(1)
    net = FastCurveEstimator(channels=8, working_side=16).eval()
    x = torch.rand(1, 3, 45, 70)
    out = net(x)
    torch.testing.assert_close(net.enhance(x), out.enhanced.clamp(0, 1), atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(
        apply_curve_maps(x, out.curves, net.iterations), out.enhanced, atol=0, rtol=0
    )


def test_kernel_leaves_input_alone_and_takes_views() -> None:
    torch.manual_seed(2)
    net = FastCurveEstimator(channels=4, working_side=8).eval()
    base = torch.rand(3, 20, 30)
    x = base.permute(0, 2, 1).transpose(1, 2)  # same values, non-contiguous strides
    keep = x.clone()
    low = torch.rand(1, 3, *net.working_size(20, 30)) * 2 - 1
    got = net.apply_curves(x.unsqueeze(0), low)
    assert torch.equal(x, keep)
    torch.testing.assert_close(got, net.apply_curves(base.unsqueeze(0), low), atol=0, rtol=0)


def test_other_cases_take_the_torch_path() -> None:
    x = torch.rand(1, 3, 13, 11)
    assert not curve_net._use_curve_kernel(x.double(), torch.rand(1, 3, 4, 4).double())
    assert not curve_net._use_curve_kernel(x, torch.rand(1, 24, 4, 4))  # 8 distinct maps
    net = FastCurveEstimator(channels=4, n_maps=8, working_side=8).eval().double()
    x64 = x.double()
    torch.testing.assert_close(
        net.enhance(x64), net(x64).enhanced.clamp(0, 1), atol=1e-12, rtol=1e-10
    )
