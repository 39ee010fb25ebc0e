"""Tests for pyisp_contrast.isp.bank (the Bag of Curves)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import curves as C
from pyisp_contrast.isp.bank import (
    OVER,
    UNDER,
    BagOfCurves,
    CurveFamily,
    CurveRecord,
    apply_record,
    luma,
    pie_families,
    sample_negatives,
)


@pytest.fixture(autouse=True)
def _kernel_on_small_batches(monkeypatch):
    """Use the fused kernel at any size here, so the tests' small images exercise it."""
    from pyisp_contrast.isp import bank

    monkeypatch.setattr(bank, "KERNEL_MIN_ELEMENTS", 0)


def _torch_only(fams):
    """The same families without the fused-kernel tag: forces the torch path."""
    return [CurveFamily(f.name, f.curve, f.sampler, f.directions) for f in fams]


def _images(b=4, c=3, h=12, w=10, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g, dtype=dtype) * 0.8 + 0.1


# ------------------------------------------------------------------------------------------ smoke


def test_shapes_and_record(dtype) -> None:
    x = _images(dtype=dtype)
    neg, rec = BagOfCurves.pie().sample(x, k=3, generator=torch.Generator().manual_seed(0))
    assert neg.shape == (4, 3, 3, 12, 10) and neg.dtype == dtype
    assert (
        rec.family.shape == rec.params.shape == rec.exposure.shape == rec.difference.shape == (4, 3)
    )
    assert rec.names == ("hsv_power", "rgb_gamma", "log")
    assert set(rec.exposure.unique().tolist()) <= {UNDER, OVER}
    rows = rec.as_rows()
    assert len(rows) == 12 and {"image", "k", "family", "param", "exposure", "difference"} <= set(
        rows[0]
    )
    json.dumps(rec.to_dict())  # loggable


def test_unbatched_and_grey() -> None:
    g = torch.Generator().manual_seed(0)
    neg, rec = sample_negatives(_images(1)[0], pie_families(), k=2, generator=g)
    assert neg.shape == (2, 3, 12, 10) and rec.family.shape == (1, 2)
    neg, rec = sample_negatives(_images(2, c=1), pie_families(), k=2, generator=g)
    assert neg.shape == (2, 2, 1, 12, 10)


def test_module_forward_equals_function() -> None:
    x = _images()
    boc = BagOfCurves.pie(under_ratio=0.3)
    n1, r1 = boc(x, 2, torch.Generator().manual_seed(5))
    n2, r2 = sample_negatives(
        x, pie_families(), k=2, under_ratio=0.3, generator=torch.Generator().manual_seed(5)
    )
    torch.testing.assert_close(n1, n2)
    assert torch.equal(r1.family, r2.family)
    assert "hsv_power" in repr(boc)


# ----------------------------------------------------------------------------------- reproducibility


def test_same_seed_same_draws_and_different_seed_differs() -> None:
    x = _images()
    boc = BagOfCurves.pie()
    n1, r1 = boc.sample(x, k=4, generator=torch.Generator().manual_seed(1))
    n2, r2 = boc.sample(x, k=4, generator=torch.Generator().manual_seed(1))
    n3, _ = boc.sample(x, k=4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(n1, n2) and torch.equal(r1.params, r2.params)
    assert not torch.equal(n1, n3)


@pytest.mark.parametrize("fused", [True, False])
def test_record_reproduces_negatives(fused: bool) -> None:
    x = _images(dtype=torch.float64)
    fams = pie_families() if fused else _torch_only(pie_families())
    neg, rec = sample_negatives(x, fams, k=3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(apply_record(x, fams, rec), neg)
    # ... also after a round trip through a JSON log
    back = CurveRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    torch.testing.assert_close(BagOfCurves(fams).apply_record(x, back), neg)


def test_record_matches_the_curve_applied() -> None:
    """Re-apply each recorded family with its recorded parameter by hand."""
    x = _images(dtype=torch.float64)
    neg, rec = BagOfCurves.pie().sample(x, k=3, generator=torch.Generator().manual_seed(4))
    for b in range(x.shape[0]):
        for k in range(3):
            name, p = rec.names[int(rec.family[b, k])], float(rec.params[b, k])
            xb = x[b : b + 1]
            if name == "hsv_power":
                ref = C.value_curve(xb, C.gamma, gamma=p)
            elif name == "rgb_gamma":
                ref = C.gamma(xb, p)
            else:
                ref = C.log_curve(xb, p)
            torch.testing.assert_close(neg[b, k], ref[0])
            # the exposure label says which way the curve moved the image
            moved = float(luma(neg[b, k]).mean() - luma(xb).mean())
            assert (moved > 0) == (int(rec.exposure[b, k]) == OVER), (name, p, moved)


def test_pie_parameters_follow_the_preset() -> None:
    x = _images(64, h=6, w=6)
    _, rec = BagOfCurves.pie().sample(x, k=4, generator=torch.Generator().manual_seed(0))
    for name, under, over in [
        ("hsv_power", (6.0, 6.0), (0.1, 0.1)),
        ("rgb_gamma", (5.0, 8.0), (1e-3, 0.2)),
        ("log", (10.0, 10.0), (40.0, 40.0)),
    ]:
        fam = rec.family == rec.names.index(name)
        for label, (lo, hi) in ((UNDER, under), (OVER, over)):
            p = rec.params[fam & (rec.exposure == label)]
            assert p.numel() > 0, (name, label)
            assert float(p.min()) >= lo - 1e-6 and float(p.max()) <= hi + 1e-6, (name, label)


# ------------------------------------------------------------------------------------------- kernel


@pytest.mark.parametrize("dtype_", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fused_kernel_equals_torch_curves(dtype_, channels) -> None:
    x = _images(6, c=channels, h=37, w=29, dtype=dtype_)
    x[0, :, :3, :3] = 0.0  # black pixels take the grey branch of value_curve
    x[1, :, :2, :2] = 1e-7  # below POW_EPS: the linear toe
    n1, r1 = sample_negatives(x, pie_families(), k=3, generator=torch.Generator().manual_seed(7))
    n2, r2 = sample_negatives(
        x, _torch_only(pie_families()), k=3, generator=torch.Generator().manual_seed(7)
    )
    tol = (
        {"atol": 1e-6, "rtol": 1e-5} if dtype_ == torch.float32 else {"atol": 1e-12, "rtol": 1e-10}
    )
    assert torch.equal(r1.family, r2.family)
    torch.testing.assert_close(n1, n2, **tol)
    torch.testing.assert_close(r1.difference, r2.difference, **tol)


def test_torch_path_keeps_gradients() -> None:
    x = _images(2, dtype=torch.float64).requires_grad_()
    neg, _ = BagOfCurves.pie().sample(x, k=2, generator=torch.Generator().manual_seed(0))
    neg.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


# -------------------------------------------------------------------------------------- guarantees


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), bright=st.floats(0.0, 1.0))
def test_negatives_obey_imaging_rules_and_margin(seed: int, bright: float) -> None:
    g = torch.Generator().manual_seed(seed)
    # images from dark to bright, including near-flat ones
    x = (torch.rand(3, 3, 8, 8, generator=g) * 0.3 + bright * 0.7).clamp(0.001, 1)
    neg, rec = BagOfCurves.pie().sample(x, k=3, generator=g)
    assert float(neg.min()) >= 0.0 and float(neg.max()) <= 1.0
    diff = (luma(neg.flatten(0, 1)) - luma(x.repeat_interleave(3, 0))).abs().flatten(1).mean(1)
    assert float(diff.min()) >= 0.1 - 1e-6
    torch.testing.assert_close(diff.view(3, 3), rec.difference)
    # Tone curves are monotone: per channel for RGB curves, on HSV value for the value curve,
    # so the order of those values across pixels is kept.
    xs = x.repeat_interleave(3, 0)
    ns = neg.flatten(0, 1)
    for i, f in enumerate(rec.family.flatten().tolist()):
        a, bb = xs[i].flatten(1), ns[i].flatten(1)
        if rec.names[f] == "hsv_power":
            a, bb = a.amax(0, keepdim=True), bb.amax(0, keepdim=True)
        order = a.argsort(dim=-1)
        assert float(bb.gather(-1, order).diff(dim=-1).min()) >= -1e-6


def test_margin_forces_a_redraw_for_extreme_images() -> None:
    """Bright negatives of a white image, dark of a black-ish one, are impossible: the bank flips."""
    white = torch.ones(1, 3, 8, 8)
    _, rec = sample_negatives(
        white, pie_families(), k=8, under_ratio=0.0, generator=torch.Generator().manual_seed(0)
    )
    # Every bright curve keeps 1 except the log curve (a = 40 maps 1 to 0.87): that is the only
    # "over" draw that moves a white image; the others are redrawn, then flipped to darkening.
    fam = [rec.names[i] for i in rec.family.flatten().tolist()]
    assert all(
        e == UNDER or f == "log" for e, f in zip(rec.exposure.flatten().tolist(), fam, strict=True)
    )
    assert float(rec.difference.min()) >= 0.1
    # a bank of plain gammas cannot brighten a near-white image by 0.1: the draws flip to darkening
    fams = [CurveFamily.uniform("g", C.gamma, under=(5.0, 8.0), over=(0.1, 0.2))]
    near_white = torch.full((1, 3, 8, 8), 0.97)
    _, rec = sample_negatives(
        near_white, fams, k=8, under_ratio=0.0, generator=torch.Generator().manual_seed(0)
    )
    assert bool((rec.exposure == UNDER).all()) and float(rec.difference.min()) >= 0.1
    dim = torch.full((1, 3, 8, 8), 0.02)
    _, rec = sample_negatives(
        dim, pie_families(), k=8, under_ratio=1.0, generator=torch.Generator().manual_seed(0)
    )
    assert bool((rec.exposure == OVER).all())


def test_impossible_margin_raises_or_is_reported() -> None:
    black = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"images \[0, 1\] cannot be moved"):
        sample_negatives(black, pie_families(), generator=torch.Generator().manual_seed(0))
    neg, rec = sample_negatives(
        black, pie_families(), strict=False, generator=torch.Generator().manual_seed(0)
    )
    assert float(rec.difference.max()) == 0.0 and neg.shape == (2, 1, 3, 4, 4)


def test_min_difference_zero_keeps_first_draw() -> None:
    x = _images()
    _, r0 = sample_negatives(
        x, pie_families(), k=2, min_difference=0.0, generator=torch.Generator().manual_seed(9)
    )
    _, r1 = sample_negatives(
        x, pie_families(), k=2, min_difference=0.0, generator=torch.Generator().manual_seed(9)
    )
    assert torch.equal(r0.params, r1.params)


def test_under_ratio_is_respected_statistically() -> None:
    x = _images(500, h=4, w=4)
    for ratio in (0.2, 0.5, 0.9):
        _, rec = BagOfCurves.pie(under_ratio=ratio).sample(
            x, k=4, generator=torch.Generator().manual_seed(1)
        )
        frac = float((rec.exposure == UNDER).double().mean())
        sigma = (ratio * (1 - ratio) / 2000) ** 0.5
        assert abs(frac - ratio) < 4 * sigma + 0.005, (ratio, frac)


def test_families_are_drawn_uniformly_within_a_direction() -> None:
    x = _images(500, h=4, w=4)
    _, rec = BagOfCurves.pie().sample(x, k=4, generator=torch.Generator().manual_seed(2))
    counts = torch.bincount(rec.family.flatten(), minlength=3).double() / rec.family.numel()
    assert float((counts - 1 / 3).abs().max()) < 0.05


def test_per_batch_draws_are_shared() -> None:
    x = _images(6)
    _, rec = BagOfCurves.pie(per_image=False).sample(
        x, k=3, generator=torch.Generator().manual_seed(0)
    )
    # mid-range images all accept the shared draw, so every row of the record is the same
    assert bool((rec.params == rec.params[:1]).all()) and bool((rec.family == rec.family[:1]).all())


def test_custom_family_with_one_direction() -> None:
    fam = CurveFamily.uniform("ev_down", C.exposure, under=(-4.0, -3.0))
    x = _images()
    neg, rec = BagOfCurves([fam], under_ratio=0.5).sample(
        x, k=2, generator=torch.Generator().manual_seed(0)
    )
    # a bank that only darkens draws only under-exposure
    assert bool((rec.exposure == UNDER).all())
    assert float(rec.params.min()) >= -4.0 and float(rec.params.max()) <= -3.0
    torch.testing.assert_close(apply_record(x, [fam], rec), neg)


def test_custom_sampler_is_called_with_labels() -> None:
    seen = []

    def sampler(generator, n, device, dtype, exposure):
        seen.append(exposure.clone())
        return torch.where(exposure == OVER, 0.3, 4.0).to(dtype)

    fam = CurveFamily("g", C.gamma, sampler)
    x = _images()
    _, rec = sample_negatives(x, [fam], k=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(seen[0], rec.exposure.flatten())
    torch.testing.assert_close(rec.params, torch.where(rec.exposure == OVER, 0.3, 4.0))


# -------------------------------------------------------------------------------------- bad input


def test_bad_input() -> None:
    x = _images()
    fams = pie_families()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sample_negatives(x * 3, fams)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sample_negatives(x * 3, _torch_only(fams))
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        sample_negatives(bad, fams)
    with pytest.raises(TypeError, match="floating-point"):
        sample_negatives(x.to(torch.uint8), fams)
    with pytest.raises(ValueError, match="channels"):
        sample_negatives(torch.rand(1, 2, 4, 4), fams)
    with pytest.raises(ValueError, match="`k`"):
        sample_negatives(x, fams, k=0)
    with pytest.raises(ValueError, match="under_ratio"):
        sample_negatives(x, fams, under_ratio=1.5)
    with pytest.raises(ValueError, match="min_difference"):
        BagOfCurves(fams, min_difference=1.0)
    with pytest.raises(ValueError, match="empty"):
        sample_negatives(x, [])
    with pytest.raises(TypeError, match="CurveFamily"):
        sample_negatives(x, [C.gamma])
    with pytest.raises(ValueError, match="unique"):
        sample_negatives(x, [fams[0], fams[0]])
    with pytest.raises(ValueError, match="over-exposure only"):
        sample_negatives(x, [CurveFamily.uniform("d", C.gamma, under=(2.0, 3.0))], under_ratio=0.0)
    with pytest.raises(TypeError, match="generator"):
        sample_negatives(x, fams, generator=0)
    with pytest.raises(ValueError, match="directions"):
        CurveFamily("x", C.gamma, lambda *a: None, directions=(2,))
    with pytest.raises(ValueError, match="kernel_op"):
        CurveFamily.uniform("x", C.gamma, under=(2.0, 3.0), kernel_op="nope")
    with pytest.raises(ValueError, match="at least one"):
        CurveFamily.uniform("x", C.gamma)
    with pytest.raises(ValueError, match="low, high"):
        CurveFamily.uniform("x", C.gamma, under=(3.0, 2.0))
    with pytest.raises(ValueError, match="sampler"):
        sample_negatives(x, [CurveFamily("x", C.gamma, lambda g, n, d, t, e: torch.ones(n + 1))])
    _, rec = sample_negatives(x, fams, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="batch"):
        apply_record(x[:2], fams, rec)
    with pytest.raises(ValueError, match="families"):
        apply_record(x, fams[:2], rec)


def test_params_are_finite_numbers_for_logging() -> None:
    _, rec = BagOfCurves.pie().sample(_images(8), k=2, generator=torch.Generator().manual_seed(0))
    assert np.isfinite(np.array(rec.to_dict()["params"])).all()


# ------------------------------------------------------------------ the bags' one-parameter case


def test_bank_is_the_generic_bag_with_one_parameter() -> None:
    from pyisp_contrast.isp.bags import DegradationBag, DegradationFamily, DegradationRecord

    boc = BagOfCurves.pie()
    assert isinstance(boc, DegradationBag)
    assert all(isinstance(f, DegradationFamily) for f in boc.families)
    x = _images()
    _, rec = boc.sample(x, k=2, generator=torch.Generator().manual_seed(0))
    assert isinstance(rec, DegradationRecord)
    assert rec.named_params().keys() == {"param"} and rec.named_params()["param"] is rec.params
    assert rec.direction is rec.exposure
    # a family applies its curve to the one parameter
    fam = boc.families[1]
    p = torch.tensor([6.0])
    torch.testing.assert_close(fam.apply(x[:1], {"param": p}), fam.curve(x[:1], p))


def test_curve_record_format_is_unchanged() -> None:
    _, rec = BagOfCurves.pie().sample(_images(2), k=2, generator=torch.Generator().manual_seed(0))
    assert list(rec.to_dict()) == ["names", "family", "params", "exposure", "difference"]
    assert list(rec.as_rows()[0]) == ["image", "k", "family", "param", "exposure", "difference"]
    assert repr(rec).startswith("CurveRecord(family=") and "exposure=" in repr(rec)
    rec2 = CurveRecord(rec.family, rec.names, rec.params, rec.exposure)
    assert rec2.difference.numel() == 0 and rec2.as_rows()[0]["difference"] is None
    rec2.exposure = 1 - rec.exposure
    assert torch.equal(rec2.direction, 1 - rec.exposure)
    with pytest.raises(TypeError, match="exposure"):
        CurveRecord(rec.family, rec.names, rec.params)


def test_curve_family_keeps_its_fields() -> None:
    import dataclasses

    fam = pie_families()[1]
    assert repr(fam).startswith("CurveFamily(name='rgb_gamma', curve=")
    assert [f.name for f in dataclasses.fields(fam) if f.init] == [
        "name",
        "sampler",
        "directions",
        "curve",
        "kernel_op",
    ]
    plain = dataclasses.replace(fam, kernel_op=None)
    assert plain.kernel_op is None and plain.curve is fam.curve and plain.sampler is fam.sampler
    assert plain == CurveFamily(fam.name, fam.curve, fam.sampler, fam.directions)
    assert CurveFamily(
        name="g", curve=C.gamma, sampler=fam.sampler, directions=(UNDER,)
    ).directions == (UNDER,)
    with pytest.raises(TypeError, match="curve"):
        CurveFamily("g", None, fam.sampler)


def test_bank_weights() -> None:
    x = _images(200, h=4, w=4)
    boc = BagOfCurves(pie_families(), weights=[1.0, 3.0, 0.0])
    _, rec = boc.sample(x, k=4, generator=torch.Generator().manual_seed(3))
    counts = torch.bincount(rec.family.flatten(), minlength=3).double() / rec.family.numel()
    assert float(counts[2]) == 0.0 and abs(float(counts[1]) - 0.75) < 0.04
    assert "weights=" in repr(boc) and "weights=" not in repr(BagOfCurves.pie())
    # equal weights given explicitly draw the same families as the default odds (PIE: 3 each way)
    _, r1 = BagOfCurves(pie_families(), weights=[1, 1, 1]).sample(
        x, k=2, generator=torch.Generator().manual_seed(4)
    )
    _, r2 = BagOfCurves.pie().sample(x, k=2, generator=torch.Generator().manual_seed(4))
    assert torch.equal(r1.family, r2.family)
    with pytest.raises(ValueError, match="weights"):
        BagOfCurves(pie_families(), weights=[1.0, 1.0])
    # the only brightening family has weight 0: no family may produce over-exposure
    split = [
        CurveFamily.uniform("up", C.gamma, over=(0.2, 0.5)),
        CurveFamily.uniform("down", C.gamma, under=(2.0, 3.0)),
    ]
    with pytest.raises(ValueError, match="produces over-exposure"):
        BagOfCurves(split, weights=[0.0, 1.0]).sample(
            x, k=2, generator=torch.Generator().manual_seed(0)
        )
