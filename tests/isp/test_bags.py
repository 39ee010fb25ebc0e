"""Tests for pyisp_contrast.isp.bags (bags of haze and rain)."""

from __future__ import annotations

import json
import math

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given, settings

from pyisp_contrast.isp import bags
from pyisp_contrast.isp.bags import (
    BagOfHaze,
    BagOfRain,
    DegradationBag,
    DegradationFamily,
    DegradationRecord,
    haze_families,
    rain_families,
)


def _images(b=2, h=16, w=20, seed=0, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _dim_family(name="dim"):
    return DegradationFamily(
        name,
        lambda x, p: x * p["gain"].view(-1, 1, 1, 1),
        lambda g, n, device, dtype: {
            "gain": torch.rand(n, generator=g, device=device, dtype=dtype)
        },
    )


def test_public_api():
    expected = {
        "BagOfHaze",
        "BagOfRain",
        "DegradationBag",
        "DegradationFamily",
        "DegradationRecord",
        "RAIN_REGIMES",
        "haze_families",
        "rain_families",
    }
    assert set(bags.__all__) >= expected
    assert all(hasattr(bags, n) for n in expected)


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("bag_cls", [BagOfHaze, BagOfRain])
@pytest.mark.parametrize("k", [1, 3])
def test_shapes_and_range(bag_cls, k, device, dtype):
    x = _images(dtype=dtype, device=device)
    g = torch.Generator(device=device).manual_seed(0)
    neg, rec = bag_cls().sample(x, k, generator=g)
    assert neg.shape == (2, k, 3, 16, 20) and neg.dtype == dtype and neg.device.type == device.type
    assert rec.family.shape == (2, k)
    assert all(v.shape[:2] == (2, k) for v in rec.params.values())
    assert neg.min() >= 0 and neg.max() <= 1


def test_unbatched_and_synthesize():
    x = _images(b=1)[0]
    neg, rec = BagOfHaze().sample(x, 2, generator=_gen())
    assert neg.shape == (2, 3, 16, 20) and rec.family.shape == (1, 2)
    assert BagOfHaze().synthesize(x, generator=_gen()).shape == x.shape
    y = BagOfHaze().synthesize(x[None], generator=_gen(1))
    assert y.shape == (1, 3, 16, 20)


# ---------------------------------------------------------------- reproducibility and records
@pytest.mark.parametrize("bag_cls", [BagOfHaze, BagOfRain])
def test_reproducible_under_generator(bag_cls):
    x = _images()
    n1, r1 = bag_cls().sample(x, 3, generator=_gen(5))
    n2, r2 = bag_cls().sample(x, 3, generator=_gen(5))
    n3, _ = bag_cls().sample(x, 3, generator=_gen(6))
    torch.testing.assert_close(n1, n2, rtol=0, atol=0)
    assert torch.equal(r1.family, r2.family)
    assert not torch.equal(n1, n3)


@pytest.mark.parametrize("bag_cls", [BagOfHaze, BagOfRain])
def test_record_replays_through_json(bag_cls):
    x = _images()
    bag = bag_cls()
    neg, rec = bag.sample(x, 4, generator=_gen(1))
    torch.testing.assert_close(bag.apply_record(x, rec), neg)
    back = DegradationRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    torch.testing.assert_close(bag.apply_record(x, back), neg)
    rows = rec.as_rows()
    assert len(rows) == 8 and {r["family"] for r in rows} <= set(bag.names)


def test_record_marks_unused_parameters():
    _, rec = BagOfHaze().sample(_images(b=4), 8, generator=_gen(2))
    homog = rec.family == 0
    assert homog.any() and (~homog).any()
    # The homogeneous family has no depth layout: its `near` entries are NaN, the others are not.
    assert torch.isnan(rec.params["near"][homog]).all()
    assert not torch.isnan(rec.params["near"][~homog]).any()
    for row in rec.as_rows():
        assert ("near" in row) == (row["family"] != "homogeneous")


def test_weights_pick_families():
    rec = BagOfHaze(weights=[0, 1, 0]).sample(_images(), 5, generator=_gen())[1]
    assert (rec.family == 1).all()
    fams = BagOfHaze(weights=[1, 3, 0]).sample(_images(b=50), 40, generator=_gen())[1].family
    share = (fams == 1).double().mean().item()
    assert abs(share - 0.75) < 0.03 and not (fams == 2).any()


# ---------------------------------------------------------------- physics
def test_haze_matches_scattering_model_loop():
    # Every negative, recomputed by a slow loop of I = J t + A (1 - t), t = exp(-beta d).
    x = _images(b=2, h=9, w=11, dtype=torch.float64)
    neg, rec = BagOfHaze(near=(0.0, 0.5)).sample(x, 6, generator=_gen(3))
    assert set(rec.family.flatten().tolist()) == {0, 1, 2}  # every layout is checked
    ys = torch.linspace(-1, 1, 9, dtype=torch.float64)
    xs = torch.linspace(-1, 1, 11, dtype=torch.float64)
    for b in range(2):
        for k in range(6):
            name = rec.names[rec.family[b, k]]
            p = {key: v[b, k] for key, v in rec.params.items()}
            d = torch.ones(9, 11, dtype=torch.float64)
            if name == "ramp":
                # A plane rising along `angle`, rescaled so its lowest pixel is at `near`, its
                # highest at 1 (the depth proxy of degrade.haze when near = 0).
                proj = [
                    [math.cos(p["angle"]) * xs[j] + math.sin(p["angle"]) * ys[i] for j in range(11)]
                    for i in range(9)
                ]
                lo, hi = min(map(min, proj)), max(map(max, proj))
            for i in range(9):
                for j in range(11):
                    if name == "ramp":
                        ramp = (proj[i][j] - lo) / (hi - lo)
                        d[i, j] = p["near"] + (1 - p["near"]) * ramp
                    elif name == "smooth":
                        s = sum(
                            math.sin(
                                math.pi
                                * (p["frequency"][w, 0] * xs[j] + p["frequency"][w, 1] * ys[i])
                                + p["phase"][w]
                            )
                            for w in range(2)
                        )
                        d[i, j] = p["near"] + (1 - p["near"]) * 0.25 * (s + 2)
            t = torch.exp(-p["beta"] * d)
            expected = x[b] * t + p["airlight"].view(3, 1, 1) * (1 - t)
            torch.testing.assert_close(neg[b, k], expected)


def test_haze_parameters_in_range():
    _, rec = BagOfHaze(beta=(0.5, 0.7), airlight=(0.8, 0.9), tint=0.02).sample(
        _images(b=8), 8, generator=_gen()
    )
    assert rec.params["beta"].min() >= 0.5 and rec.params["beta"].max() <= 0.7
    a = rec.params["airlight"]
    assert a.min() >= 0.78 - 1e-6 and a.max() <= 0.92 + 1e-6
    assert (a.amax(-1) - a.amin(-1)).max() <= 0.04 + 1e-6


def test_haze_zero_beta_is_identity():
    x = _images()
    neg, _ = BagOfHaze(beta=(0.0, 0.0)).sample(x, 3, generator=_gen())
    torch.testing.assert_close(neg, x[:, None].expand_as(neg))


def test_haze_moves_toward_airlight():
    x = _images(dtype=torch.float64)
    neg, rec = BagOfHaze().sample(x, 4, generator=_gen(4))
    a = rec.params["airlight"][..., None, None]
    assert ((neg - a).abs() <= (x[:, None] - a).abs() + 1e-12).all()


def test_rain_adds_light():
    x = _images() * 0.5
    neg, _ = BagOfRain().sample(x, 3, generator=_gen(7))
    assert (neg >= x[:, None] - 1e-6).all()
    assert (neg - x[:, None]).mean() > 1e-3


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.integers(1, 4))
def test_haze_property_seeded(seed, k):
    x = _images(b=1, h=8, w=8)
    neg, rec = BagOfHaze().sample(x, k, generator=_gen(seed))
    assert neg.shape == (1, k, 3, 8, 8)
    torch.testing.assert_close(BagOfHaze().apply_record(x, rec), neg)


# ---------------------------------------------------------------- custom families
def test_custom_family_bag():
    bag = DegradationBag([_dim_family()])
    x = _images()
    neg, rec = bag.sample(x, 2, generator=_gen())
    torch.testing.assert_close(neg, x[:, None] * rec.params["gain"][..., None, None, None])
    assert "dim" in repr(bag)


@pytest.mark.slow
def test_gradient_flows_through_haze():
    x = _images(b=1, h=4, w=5, dtype=torch.float64).requires_grad_()
    bag = BagOfHaze()
    _, rec = bag.sample(x.detach(), 2, generator=_gen())
    assert torch.autograd.gradcheck(lambda v: bag.apply_record(v, rec), (x,))


# ---------------------------------------------------------------- bad input
def test_bad_input():
    x = _images()
    with pytest.raises(ValueError, match="positive int"):
        BagOfHaze().sample(x, 0)
    with pytest.raises(ValueError, match="empty"):
        DegradationBag([])
    with pytest.raises(TypeError, match="DegradationFamily"):
        DegradationBag(["haze"])
    with pytest.raises(ValueError, match="unique"):
        DegradationBag([_dim_family(), _dim_family()])
    with pytest.raises(ValueError, match="weights"):
        BagOfHaze(weights=[1, 1])
    with pytest.raises(ValueError, match="weights"):
        BagOfHaze(weights=[0, 0, 0])
    with pytest.raises(ValueError, match="beta"):
        BagOfHaze(beta=(1.0, 0.5))
    with pytest.raises(ValueError, match="tint"):
        BagOfHaze(tint=0.9)
    with pytest.raises(ValueError, match="lacks"):
        rain_families({"odd": {"density": (0.1, 0.2)}})
    with pytest.raises(ValueError, match="pair"):
        BagOfRain(
            {"odd": {"density": (0.2, 0.1), "length": (1, 2), "angle": (0, 0), "intensity": (0, 1)}}
        )
    with pytest.raises(ValueError, match="non-empty"):
        DegradationFamily("", lambda x, p: x, lambda g, n, d, t: {})
    with pytest.raises(TypeError, match="callable"):
        DegradationFamily("x", None, lambda g, n, d, t: {})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BagOfHaze().sample(x * 4)
    with pytest.raises(TypeError, match="generator"):
        BagOfHaze().sample(x, generator=0)
    bad_sampler = DegradationFamily(
        "bad", lambda x, p: x, lambda g, n, d, t: {"p": torch.zeros(n + 1)}
    )
    with pytest.raises(ValueError, match="rows"):
        DegradationBag([bad_sampler]).sample(x)
    _, rec = BagOfHaze().sample(x, 2, generator=_gen())
    with pytest.raises(ValueError, match="families"):
        BagOfRain().apply_record(x, rec)
    with pytest.raises(ValueError, match="batch"):
        BagOfHaze().apply_record(x[:1], rec)


def test_family_lists():
    assert [f.name for f in haze_families()] == ["homogeneous", "ramp", "smooth"]
    assert [f.name for f in rain_families()] == ["drizzle", "streaks", "downpour"]


# ---------------------------------------------------------------- one haze model (issue 15)
def test_haze_defaults_are_shared_with_degrade_haze():
    import inspect

    from pyisp_contrast.isp import HAZE_DEFAULTS, Haze, degrade

    sig = inspect.signature(degrade.haze).parameters
    assert sig["airlight"].default == HAZE_DEFAULTS.airlight
    assert sig["beta_range"].default == HAZE_DEFAULTS.beta
    module = Haze()
    assert (module.airlight, module.beta_range) == (HAZE_DEFAULTS.airlight, HAZE_DEFAULTS.beta)
    sig = inspect.signature(haze_families).parameters
    assert sig["beta"].default == HAZE_DEFAULTS.beta
    assert sig["airlight"].default == HAZE_DEFAULTS.airlight
    assert sig["tint"].default == HAZE_DEFAULTS.tint
    assert sig["near"].default == HAZE_DEFAULTS.near
    # The bag draws inside the shared ranges.
    _, rec = BagOfHaze().sample(_images(b=16), 8, generator=_gen(9))
    lo, hi = HAZE_DEFAULTS.beta
    assert rec.params["beta"].min() >= lo and rec.params["beta"].max() <= hi
    a = rec.params["airlight"]
    assert (a.amax(-1) - a.amin(-1)).max() <= 2 * HAZE_DEFAULTS.tint + 1e-6
    near = rec.params["near"][rec.family != 0]
    assert bool((near == HAZE_DEFAULTS.near[0]).all())


def test_scored_haze_is_a_draw_of_the_bag():
    # degrade.haze (what the dehazer is scored on) with its defaults is the bag's `ramp` family at
    # the parameters it drew: one haze model.
    from pyisp_contrast.isp.degrade import haze

    x = _images(b=3, h=9, w=13, dtype=torch.float64)
    hazy, p = haze(x, generator=_gen(11))
    g = _gen(11)  # haze draws the airlight level, its tint, beta, then the ramp's angle
    torch.rand(3, generator=g, dtype=torch.float64)
    torch.rand(3, 3, generator=g, dtype=torch.float64)
    torch.rand(3, generator=g, dtype=torch.float64)
    angle = 2 * math.pi * torch.rand(3, generator=g, dtype=torch.float64)
    ramp = dict(zip(BagOfHaze().names, BagOfHaze().families, strict=True))["ramp"]
    params = {"beta": p["beta"], "airlight": p["airlight"], "angle": angle, "near": torch.zeros(3)}
    torch.testing.assert_close(ramp.apply(x, params), hazy, rtol=0, atol=1e-12)


def test_haze_near_range():
    _, rec = BagOfHaze(near=(0.2, 0.4)).sample(_images(b=4), 6, generator=_gen(1))
    near = rec.params["near"][rec.family != 0]
    assert near.min() >= 0.2 and near.max() <= 0.4
    with pytest.raises(ValueError, match="near"):
        BagOfHaze(near=(0.5, 0.2))
    with pytest.raises(ValueError, match="near"):
        BagOfHaze(near=(0.5, 1.5))


# ---------------------------------------------------------------- the generic bag
def _directed_family():
    # darkens (UNDER) by a gain < 1 or brightens (OVER) toward white; told the direction drawn
    def sampler(g, n, device, dtype, direction):
        u = torch.rand(n, generator=g, device=device, dtype=dtype)
        return {"amount": 0.3 + 0.5 * u, "dir": direction.clone()}

    def apply(x, p):
        a = p["amount"].view(-1, 1, 1, 1)
        up = (p["dir"] == bags.OVER).view(-1, 1, 1, 1)
        return torch.where(up, x + (1 - x) * a, x * (1 - a))

    return DegradationFamily("shift", apply, sampler, directions=(bags.UNDER, bags.OVER))


def test_directed_family_gets_the_directions_drawn():
    bag = DegradationBag([_directed_family(), _dim_family()], under_ratio=0.3)
    x = _images(b=40, h=4, w=4)
    neg, rec = bag.sample(x, 5, generator=_gen(2))
    assert rec.direction is not None and rec.direction.shape == (40, 5)
    shift = rec.family == 0
    assert torch.equal(rec.params["dir"][shift], rec.direction[shift])
    assert bool((rec.params["dir"][~shift] == -1).all())
    frac = float((rec.direction == bags.UNDER).double().mean())
    assert abs(frac - 0.3) < 0.06
    brighter = neg.mean((-3, -2, -1)) > x.mean((-3, -2, -1))[:, None]
    assert bool((brighter[shift] == (rec.direction[shift] == bags.OVER)).all())
    torch.testing.assert_close(bag.apply_record(x, rec), neg)
    back = DegradationRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert torch.equal(back.direction, rec.direction)
    torch.testing.assert_close(bag.apply_record(x, back), neg)
    rows = rec.as_rows()
    assert {r["direction"] for r in rows} == {"under", "over"}


def test_generic_margin_redraws_and_reports():
    bag = DegradationBag([_dim_family()], min_difference=0.2)
    x = _images(b=6, h=5, w=5) * 0.5 + 0.5
    neg, rec = bag.sample(x, 4, generator=_gen(3))
    assert rec.difference.shape == (6, 4) and float(rec.difference.min()) >= 0.2
    lum = bags.luma
    diff = (lum(neg.flatten(0, 1)) - lum(x.repeat_interleave(4, 0))).abs().flatten(1).mean(1)
    torch.testing.assert_close(diff.view(6, 4), rec.difference.to(diff.dtype))
    # the same draws without the margin: some of them were too close, so redraws happened
    _, rec0 = DegradationBag([_dim_family()]).sample(x, 4, generator=_gen(3))
    assert rec0.difference.numel() == 0
    assert not torch.equal(rec0.params["gain"], rec.params["gain"])
    with pytest.raises(ValueError, match="cannot be moved"):
        DegradationBag([_dim_family()], min_difference=0.2).sample(torch.zeros(1, 3, 4, 4))
    _, rec = DegradationBag([_dim_family()], min_difference=0.2, strict=False).sample(
        torch.zeros(1, 3, 4, 4), 2, generator=_gen(0)
    )
    assert float(rec.difference.max()) == 0.0
    back = DegradationRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    torch.testing.assert_close(back.difference, rec.difference.double())


def test_generic_shared_draws():
    bag = DegradationBag([_dim_family(), _dim_family("dim2")], per_image=False)
    _, rec = bag.sample(_images(b=5), 3, generator=_gen(4))
    assert bool((rec.family == rec.family[:1]).all())
    assert bool((rec.params["gain"] == rec.params["gain"][:1]).all())


def test_curve_families_in_a_generic_bag():
    from pyisp_contrast.isp.bank import BagOfCurves, CurveFamily, CurveRecord, pie_families

    fams = pie_families()
    assert all(isinstance(f, DegradationFamily) for f in fams)
    assert issubclass(BagOfCurves, DegradationBag) and issubclass(CurveRecord, DegradationRecord)
    x = _images(b=3)
    neg, rec = DegradationBag(fams, min_difference=0.1).sample(x, 2, generator=_gen(5))
    assert set(rec.params) == {"param"} and rec.direction is not None
    # ... the same draws as the Bag of Curves, whose odds (equal) and margin are the same
    neg2, rec2 = BagOfCurves(fams).sample(x, 2, generator=_gen(5))
    torch.testing.assert_close(neg, neg2)
    torch.testing.assert_close(rec.params["param"], rec2.params)
    assert torch.equal(rec.direction, rec2.exposure)
    with pytest.raises(TypeError, match="CurveFamily"):
        BagOfCurves([_dim_family()])
    assert isinstance(CurveFamily.uniform("g", lambda x, p: x, under=(1.0, 2.0)), DegradationFamily)


def test_generic_bad_options():
    with pytest.raises(ValueError, match="under_ratio"):
        DegradationBag([_dim_family()], under_ratio=2.0)
    with pytest.raises(ValueError, match="min_difference"):
        DegradationBag([_dim_family()], min_difference=1.0)
    with pytest.raises(ValueError, match="max_tries"):
        DegradationBag([_dim_family()], max_tries=-1)
    with pytest.raises(ValueError, match="directions"):
        DegradationFamily("d", lambda x, p: x, lambda g, n, d, t, e: {}, directions=(3,))
    with pytest.raises(ValueError, match="over-exposure only"):
        fam = DegradationFamily(
            "down", lambda x, p: x, lambda g, n, d, t, e: {}, directions=(bags.UNDER,)
        )
        DegradationBag([fam], under_ratio=0.0).sample(_images())


def test_bags_are_ordinary_modules():
    # nn.Module's own methods (.to, .double, state_dict) keep working on every bag
    from pyisp_contrast.isp.bank import BagOfCurves

    for bag in (BagOfHaze(), BagOfRain(), BagOfCurves.pie(), DegradationBag([_dim_family()])):
        assert bag.double().to("cpu") is bag
        assert bag.state_dict() == {}
        neg, _ = bag.sample(_images(b=1, dtype=torch.float64), 2, generator=_gen())
        assert neg.dtype == torch.float64
