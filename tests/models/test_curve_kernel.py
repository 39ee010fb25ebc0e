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


# ------------------------------------------------------------------- differentiable, one map


def _le_torch(x, r, n):
    from pyisp_contrast.isp.curves import le_curve

    return le_curve(x, r.repeat(1, n, 1, 1), n)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_fused_le_forward_is_le_curve_bit_for_bit(dtype, n) -> None:
    g = torch.Generator().manual_seed(n)
    x = torch.rand(2, 3, 9, 13, generator=g, dtype=dtype)
    r = torch.rand(2, 3, 9, 13, generator=g, dtype=dtype) * 2 - 1
    assert torch.equal(curve_net.SharedMapLECurve.apply(x, r, n), _le_torch(x, r, n))


@pytest.mark.parametrize("n", [1, 2, 8])
def test_fused_le_gradients_pass_gradcheck(n) -> None:
    g = torch.Generator().manual_seed(10 + n)
    x = (torch.rand(2, 3, 5, 6, generator=g, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    r = (torch.rand(2, 3, 5, 6, generator=g, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: curve_net.SharedMapLECurve.apply(a, b, n), (x, r), eps=1e-6, atol=1e-8
    )


def test_fused_le_gradients_match_autograd_through_torch() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, 16, 24, generator=g).requires_grad_()
    r = (torch.rand(1, 3, 16, 24, generator=g) * 2 - 1).requires_grad_()
    w = torch.randn(1, 3, 16, 24, generator=g)
    gx, gr = torch.autograd.grad((curve_net.SharedMapLECurve.apply(x, r, 8) * w).sum(), (x, r))
    tx, tr = torch.autograd.grad((_le_torch(x, r, 8) * w).sum(), (x, r))
    torch.testing.assert_close(gx, tx, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gr, tr, atol=1e-5, rtol=1e-5)


def test_apply_curve_maps_uses_the_fused_curve_and_keeps_its_errors(monkeypatch) -> None:
    calls = []
    real = curve_net.SharedMapLECurve.apply
    monkeypatch.setattr(curve_net.SharedMapLECurve, "apply", lambda *a: calls.append(1) or real(*a))
    x = torch.rand(1, 3, 6, 7, requires_grad=True)
    r = torch.rand(1, 3, 6, 7) * 2 - 1
    y = apply_curve_maps(x, r, iterations=8)
    y.sum().backward()
    assert calls and x.grad is not None and bool(torch.isfinite(x.grad).all())
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        apply_curve_maps(x.detach(), r * 3, iterations=8)
    bad = r.clone()
    bad[0, 1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        apply_curve_maps(x.detach(), bad, iterations=8)
    with pytest.raises(ValueError, match="multiple"):
        apply_curve_maps(x.detach(), torch.zeros(1, 6, 6, 7), iterations=3)


def test_kernels_follow_torch_thread_count() -> None:
    import numba

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        net = FastCurveEstimator(channels=4, working_side=8).eval()
        net.enhance(torch.rand(1, 3, 20, 20))
        assert numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
