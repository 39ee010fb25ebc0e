"""Tests for pyisp_contrast.models.curve_net."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.models.curve_net import (
    CurveEstimator,
    CurveOutput,
    FastCurveEstimator,
    apply_curve_maps,
)


def _reference_dce_forward(net: CurveEstimator, x: torch.Tensor) -> torch.Tensor:
    """DCE-Net written out as in the Zero-DCE paper (Fig. 2), independent of the class."""
    relu = torch.relu
    x1 = relu(net.e_conv1(x))
    x2 = relu(net.e_conv2(x1))
    x3 = relu(net.e_conv3(x2))
    x4 = relu(net.e_conv4(x3))
    x5 = relu(net.e_conv5(torch.cat([x3, x4], 1)))
    x6 = relu(net.e_conv6(torch.cat([x2, x5], 1)))
    r = torch.tanh(net.e_conv7(torch.cat([x1, x6], 1)))
    y = x
    for i in range(8):
        ri = r[:, 3 * i : 3 * i + 3]
        y = y + ri * (y.pow(2) - y)
    return y


def test_parameter_count_is_dce_net():
    assert sum(p.numel() for p in CurveEstimator().parameters()) == 79416


def test_authors_checkpoint_layout_loads(tmp_path):
    torch.manual_seed(0)
    src = CurveEstimator()
    keys = [f"e_conv{i}.{t}" for i in range(1, 8) for t in ("weight", "bias")]
    assert sorted(src.state_dict()) == sorted(keys)
    # Shapes of the released checkpoints: conv1 3->32, conv5..7 take 64 channels, conv7 gives 24.
    sd = src.state_dict()
    assert sd["e_conv1.weight"].shape == (32, 3, 3, 3)
    assert sd["e_conv5.weight"].shape == (32, 64, 3, 3)
    assert sd["e_conv7.weight"].shape == (24, 64, 3, 3)
    # DataParallel prefix is stripped.
    path = tmp_path / "Epoch99.pth"
    torch.save({"module." + k: v for k, v in sd.items()}, path)
    dst = CurveEstimator()
    dst.load_state_dict(torch.load(path, weights_only=True))
    for k, v in dst.state_dict().items():
        torch.testing.assert_close(v, sd[k])


def test_forward_matches_reference(device, dtype, tol):
    if dtype in (torch.float16, torch.bfloat16):
        pytest.skip("reference comparison needs float32/float64")
    torch.manual_seed(1)
    net = CurveEstimator().to(device, dtype)
    x = torch.rand(2, 3, 12, 10, device=device, dtype=dtype)
    out = net(x)
    assert isinstance(out, CurveOutput)
    assert out.curves.shape == (2, 24, 12, 10)
    torch.testing.assert_close(out.enhanced, _reference_dce_forward(net, x), **tol)


@pytest.mark.parametrize("tile", [16, 23, 512])
def test_tiled_enhance_equals_whole_image(tile):
    torch.manual_seed(2)
    net = CurveEstimator()
    x = torch.rand(2, 3, 33, 29)
    ref = net(x).enhanced
    torch.testing.assert_close(net.enhance(x, tile=tile), ref.clamp(0, 1), atol=2e-6, rtol=1e-5)
    # unbatched in, unbatched out
    assert net.enhance(x[0], tile=tile).shape == (3, 33, 29)
    assert net.training  # enhance restores the mode


@pytest.mark.parametrize("rows", [1, 7, 256])
@pytest.mark.parametrize("size", [(30, 50), (300, 170), (13, 9)])
def test_fast_enhance_equals_forward(rows, size):
    torch.manual_seed(3)
    net = FastCurveEstimator(working_side=64)
    x = torch.rand(2, 3, *size)
    ref = net(x).enhanced
    torch.testing.assert_close(net.enhance(x, rows=rows), ref.clamp(0, 1), atol=2e-6, rtol=1e-5)


def test_fast_eight_maps_and_scale_factor():
    torch.manual_seed(4)
    net = FastCurveEstimator(n_maps=8, working_side=None, scale_factor=4)
    x = torch.rand(1, 3, 40, 48)
    out = net(x)
    assert out.curves.shape == (1, 24, 40, 48)
    assert net.working_size(40, 48) == (10, 12)
    torch.testing.assert_close(
        net.enhance(x, rows=5), out.enhanced.clamp(0, 1), atol=2e-6, rtol=1e-5
    )


def test_fast_working_size_never_upscales():
    net = FastCurveEstimator(working_side=256)
    assert net.working_size(100, 80) == (100, 80)
    assert net.working_size(1200, 900) == (256, 192)
    assert net.working_size(4000, 3000) == (256, 192)


def test_fast_is_much_smaller():
    n = sum(p.numel() for p in FastCurveEstimator().parameters())
    assert n < 15000


@settings(max_examples=20, deadline=None)
@given(
    x=st.floats(0, 1),
    r=st.lists(st.floats(-1, 1), min_size=1, max_size=8),
)
def test_le_curve_stays_in_range_and_keeps_endpoints(x, r):
    images = torch.tensor([[[[x, 0.0, 1.0]]]], dtype=torch.float64).expand(1, 3, 1, 3)
    curves = torch.tensor(r, dtype=torch.float64).repeat_interleave(3).view(1, -1, 1, 1)
    out = apply_curve_maps(images, curves.expand(1, -1, 1, 3))
    assert bool(((out >= 0) & (out <= 1)).all())
    assert out[0, 0, 0, 1] == 0.0 and out[0, 0, 0, 2] == 1.0


def test_le_curve_is_monotone_in_x():
    x = torch.linspace(0, 1, 101, dtype=torch.float64).view(1, 1, 1, -1).expand(1, 3, 1, -1)
    curves = torch.full((1, 24, 1, 101), -0.9, dtype=torch.float64)
    curves[:, ::2] = 0.8
    y = apply_curve_maps(x, curves)
    assert bool((y[..., 1:] >= y[..., :-1]).all())


def test_apply_curve_maps_known_value():
    x = torch.full((1, 3, 1, 1), 0.5)
    # one step with r = 1: 0.5 + (0.25 - 0.5) = 0.25; with r = -1: 0.75
    torch.testing.assert_close(
        apply_curve_maps(x, torch.ones(1, 3, 1, 1)), torch.full_like(x, 0.25)
    )
    torch.testing.assert_close(
        apply_curve_maps(x, -torch.ones(1, 3, 1, 1)), torch.full_like(x, 0.75)
    )
    # shared map reused: two steps of r = -1: 0.5 -> 0.75 -> 0.9375
    out = apply_curve_maps(x, -torch.ones(1, 3, 1, 1), iterations=2)
    torch.testing.assert_close(out, torch.full_like(x, 0.9375))


def test_gradcheck_apply_curve_maps():
    torch.manual_seed(5)
    x = torch.rand(1, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    r = (torch.rand(1, 6, 3, 4, dtype=torch.float64) * 2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: apply_curve_maps(a, b, iterations=4), (x, r))


def test_gradcheck_networks():
    torch.manual_seed(6)
    x = torch.rand(1, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    for net in (
        CurveEstimator(channels=4, iterations=2),
        FastCurveEstimator(channels=4, working_side=8),
    ):
        net = net.double()
        assert torch.autograd.gradcheck(lambda a, n=net: n(a).enhanced, (x,), fast_mode=True)


def test_gradients_finite_at_zero_and_one():
    net = CurveEstimator()
    x = torch.zeros(1, 3, 8, 8)
    x[..., 4:] = 1.0
    x.requires_grad_()
    net(x).enhanced.sum().backward()
    assert bool(torch.isfinite(x.grad).all())
    assert all(bool(torch.isfinite(p.grad).all()) for p in net.parameters())


def test_bad_inputs():
    net = CurveEstimator()
    with pytest.raises(ValueError, match="channels"):
        net(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        net(torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        net.enhance(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="tile"):
        net.enhance(torch.rand(3, 8, 8), tile=4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        net.enhance(torch.full((3, 8, 8), 2.0))
    with pytest.raises(ValueError, match="iterations"):
        CurveEstimator(iterations=0)
    with pytest.raises(ValueError, match="exactly one"):
        FastCurveEstimator(working_side=256, scale_factor=4)
    with pytest.raises(ValueError, match="n_maps"):
        FastCurveEstimator(n_maps=3)
    with pytest.raises(ValueError, match="scale_factor"):
        FastCurveEstimator(working_side=None, scale_factor=0.5)
    with pytest.raises(ValueError, match="rows"):
        FastCurveEstimator().enhance(torch.rand(3, 8, 8), rows=0)
    with pytest.raises(ValueError, match="does not match"):
        apply_curve_maps(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match="multiple"):
        apply_curve_maps(torch.rand(1, 3, 4, 4), torch.rand(1, 6, 4, 4), iterations=3)
    with pytest.raises(ValueError, match="3 \\* n_maps"):
        apply_curve_maps(torch.rand(1, 3, 4, 4), torch.rand(1, 4, 4, 4))


@pytest.mark.cuda
def test_cuda_matches_cpu(device):
    torch.manual_seed(7)
    for net in (CurveEstimator(), FastCurveEstimator()):
        x = torch.rand(1, 3, 300, 200)
        ref = net.enhance(x)
        out = net.to(device).enhance(x.to(device)).cpu()
        # cuDNN may run the convolutions in TF32 (10-bit mantissa): curve maps agree to ~1e-3.
        torch.testing.assert_close(out, ref, atol=2e-3, rtol=1e-3)


def test_enhance_fuses_the_activations_within_float_noise(monkeypatch):
    """enhance runs the ReLUs / tanh inside oneDNN's convolutions; the maps stay within rounding
    of the plain layers' (low_res_curves, which stays exact) and pie-default's output with them."""
    from pyisp_contrast.models import curve_net, load_pretrained

    net = load_pretrained("pie-default")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 300, 400, generator=g) * 0.4
    with torch.no_grad():
        plain = net.low_res_curves(x)
        fused = net._low_res_curves(x, fused=True)
    if curve_net._mkldnn_conv() is None:
        pytest.skip("this torch build has no oneDNN fused convolution")
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=0)
    got = net.enhance(x)
    monkeypatch.setattr(curve_net, "_can_fuse", lambda *a: False)
    torch.testing.assert_close(got, net.enhance(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("shape", "strip_pixels"), [((2, 3, 61, 37), 300), ((1, 3, 40, 9), 80)])
def test_fused_network_in_strips_equals_one_pass(monkeypatch, shape, strip_pixels):
    """Strips with the receptive field's halo give the rows one pass gives (batches, odd sizes,
    strips only just taller than the halo)."""
    from pyisp_contrast.models import curve_net

    if curve_net._mkldnn_conv() is None:
        pytest.skip("this torch build has no oneDNN fused convolution")
    torch.manual_seed(0)
    net = FastCurveEstimator(channels=8).eval()
    x = torch.rand(shape).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        whole = curve_net._fused_dce_pass(net, x)
        monkeypatch.setattr(curve_net, "_DCE_STRIP_PIXELS", strip_pixels)
        calls = []
        real_pass = curve_net._fused_dce_pass
        monkeypatch.setattr(
            curve_net, "_fused_dce_pass", lambda b, t: calls.append(t.shape[-2]) or real_pass(b, t)
        )
        strips = curve_net._fused_dce_maps(net, x)
    assert len(calls) > 1 and max(calls) < shape[-2]
    torch.testing.assert_close(strips, whole, atol=1e-6, rtol=0)


def test_fused_network_is_only_for_plain_inference():
    from pyisp_contrast.models import curve_net

    net = FastCurveEstimator(channels=4)
    x = torch.rand(1, 3, 8, 8)
    assert not curve_net._can_fuse(net, x)  # parameters want gradients
    with torch.no_grad():
        assert curve_net._can_fuse(net, x) == (curve_net._mkldnn_conv() is not None)
        assert not curve_net._can_fuse(net, x.double())


@pytest.mark.parametrize(
    "fill, where",
    [(2.0, None), (-0.5, None), (float("nan"), (0, 1, 2)), (float("inf"), (2, 0, 0)),
     (-float("inf"), (1, 3, 3))],
)  # fmt: skip
def test_enhance_value_errors_are_check_images(fill, where):
    """enhance checks values with one aminmax pass; the errors are check_image's, word for word."""
    from pyisp_contrast.core.checks import check_image

    x = torch.rand(3, 8, 8) * 0.5
    if where is None:
        x.fill_(fill)
    else:
        x[where] = fill
    with pytest.raises(ValueError) as want:
        check_image(x, "images", channels=(3,))
    for net in (FastCurveEstimator(channels=4), CurveEstimator(channels=4)):
        with pytest.raises(ValueError) as got:
            net.enhance(x)
        assert str(got.value) == str(want.value)
