"""The bags draw what they drew before the family / record / bag code was unified (issue 15).

``bag_regression.json`` holds fingerprints of draws made by the code *before* the refactor:
the record (family indices, exposure labels and parameters, compared exactly: they come from
``torch.rand`` and IEEE arithmetic) and per-negative sums and sampled pixels of the negatives
(compared to float rounding, since vectorised ``pow``/``log`` may differ in the last bit between
CPUs). The same seed must give the same negatives for every scenario listed in ``SCENARIOS``.

The haze bag's defaults were changed on purpose to the scoring defaults of
:func:`pyisp_contrast.isp.degrade.haze` (see :mod:`pyisp_contrast.isp.bags`), so the haze
scenario here passes the old ranges explicitly and leaves out the ramp layout, whose depth
proxy is now the one of ``degrade.haze``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from pyisp_contrast.isp import bank
from pyisp_contrast.isp import curves as C
from pyisp_contrast.isp.bags import BagOfHaze, BagOfRain, DegradationBag, DegradationFamily
from pyisp_contrast.isp.bank import BagOfCurves, CurveFamily, pie_families, sample_negatives
from pyisp_contrast.isp.degrade import haze

DATA = Path(__file__).with_name("bag_regression.json")


def _images(b, c=3, h=12, w=10, seed=0, dtype=torch.float32, lo=0.1, span=0.8):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g, dtype=dtype) * span + lo


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _torch_only(fams):
    return [CurveFamily(f.name, f.curve, f.sampler, f.directions) for f in fams]


def _extreme():
    # white (bright draws redrawn then flipped), near black, mid grey, and a normal image
    x = torch.stack([torch.ones(3, 8, 8), torch.full((3, 8, 8), 0.02), torch.full((3, 8, 8), 0.5)])
    return torch.cat([x, _images(1, h=8, w=8, seed=3)])


def _dim_family():
    return DegradationFamily(
        "dim",
        lambda x, p: x * p["gain"].view(-1, 1, 1, 1),
        lambda g, n, device, dtype: {
            "gain": torch.rand(n, generator=g, device=device, dtype=dtype)
        },
    )


def _lift_family():
    return DegradationFamily(
        "lift",
        lambda x, p: x + (1 - x) * p["amount"].view(-1, 1, 1, 1),
        lambda g, n, device, dtype: {
            "amount": 0.5 * torch.rand(n, generator=g, device=device, dtype=dtype),
            "seed": torch.randint(0, 100, (n,), generator=g, device=device),
        },
    )


#: name -> () -> (negatives, record)
SCENARIOS: dict[str, Callable[[], tuple]] = {
    "pie_f32": lambda: BagOfCurves.pie().sample(_images(4), k=3, generator=_gen(0)),
    "pie_f64": lambda: BagOfCurves.pie().sample(
        _images(4, dtype=torch.float64), k=3, generator=_gen(1)
    ),
    "pie_shared": lambda: BagOfCurves.pie(per_image=False).sample(
        _images(5), k=3, generator=_gen(2)
    ),
    "pie_ratio": lambda: BagOfCurves.pie(under_ratio=0.3).sample(
        _images(3, seed=1), k=5, generator=_gen(5)
    ),
    "pie_extreme": lambda: BagOfCurves.pie().sample(_extreme(), k=8, generator=_gen(6)),
    "pie_extreme_over": lambda: sample_negatives(
        _extreme(), pie_families(), k=6, under_ratio=0.0, generator=_gen(7)
    ),
    "gamma_flip": lambda: sample_negatives(
        torch.cat([torch.full((1, 3, 8, 8), 0.97), _images(1, h=8, w=8)]),
        [CurveFamily.uniform("g", C.gamma, under=(5.0, 8.0), over=(0.1, 0.2))],
        k=8,
        under_ratio=0.0,
        generator=_gen(18),
    ),
    "pie_black_lenient": lambda: BagOfCurves.pie(strict=False).sample(
        torch.cat([torch.zeros(1, 3, 6, 6), _images(1, h=6, w=6)]), k=4, generator=_gen(8)
    ),
    "pie_grey": lambda: BagOfCurves.pie().sample(_images(3, c=1), k=2, generator=_gen(9)),
    "pie_unbatched": lambda: BagOfCurves.pie().sample(_images(1)[0], k=4, generator=_gen(10)),
    "pie_no_margin": lambda: sample_negatives(
        _images(3), pie_families(), k=3, min_difference=0.0, generator=_gen(11)
    ),
    "pie_wide_range": lambda: BagOfCurves.pie().sample(
        _images(6, h=9, w=7, seed=4, lo=0.0, span=1.0), k=6, generator=_gen(12)
    ),
    "pie_torch_only": lambda: sample_negatives(
        _images(4, seed=2), _torch_only(pie_families()), k=3, generator=_gen(13)
    ),
    "custom_curves": lambda: BagOfCurves(
        [
            CurveFamily.uniform("ev", C.exposure, under=(-4.0, -2.0), over=(1.5, 3.0)),
            CurveFamily.uniform("dark", C.gamma, under=(2.0, 4.0)),
        ],
        under_ratio=0.6,
    ).sample(_images(4, seed=5), k=4, generator=_gen(14)),
    "rain": lambda: BagOfRain().sample(_images(2, h=16, w=20), k=3, generator=_gen(15)),
    "haze_old_ranges": lambda: BagOfHaze(
        beta=(0.3, 2.0), tint=0.05, weights=[1, 0, 1], near=(0.0, 0.5)
    ).sample(_images(3, h=9, w=11, dtype=torch.float64), k=4, generator=_gen(16)),
    "custom_bag": lambda: DegradationBag([_dim_family(), _lift_family()], weights=[1, 2]).sample(
        _images(3), k=4, generator=_gen(17)
    ),
}

#: Scenarios run again with the fused CPU kernel forced on (the bank's ``KERNEL_MIN_ELEMENTS``).
FUSED = ("pie_f32", "pie_f64", "pie_extreme", "pie_grey", "pie_wide_range", "custom_curves")


def _haze_fingerprint(seed: int, dtype: torch.dtype) -> dict:
    x = _images(2, h=7, w=9, seed=seed, dtype=dtype)
    y, p = haze(x, generator=_gen(seed))
    return {"negatives": _values(y), "params": {k: _values(v) for k, v in sorted(p.items())}}


def _values(t: torch.Tensor) -> dict:
    t = t.detach().double()
    if t.ndim <= 2:
        return {"shape": list(t.shape), "values": t.flatten().tolist()}
    flat = t.flatten()
    idx = torch.linspace(0, flat.numel() - 1, 7).round().long()
    return {
        "shape": list(t.shape),
        "sums": t.flatten(2).sum(2).flatten().tolist(),
        "sample": flat[idx].tolist(),
    }


def _exact(t: torch.Tensor) -> list:
    t = t.detach()
    if t.is_floating_point():
        return [float(v).hex() for v in t.double().flatten().tolist()]
    return t.flatten().tolist()


def fingerprint(neg: torch.Tensor, rec) -> dict:
    out = {"negatives": _values(neg), "family": _exact(rec.family), "names": list(rec.names)}
    if isinstance(rec.params, dict):
        out["params"] = {k: _exact(v) for k, v in sorted(rec.params.items())}
    else:
        out["params"] = _exact(rec.params)
        out["exposure"] = _exact(rec.exposure)
        out["difference"] = _values(rec.difference)
    return out


def compute(name: str) -> dict:
    """The fingerprint of one scenario: a key of ``SCENARIOS``, ``fused:<key>`` or ``degrade.haze:...``."""
    if name.startswith("degrade.haze:"):
        _, seed, dtype = name.split(":")
        return _haze_fingerprint(int(seed), getattr(torch, dtype.removeprefix("torch.")))
    if name.startswith("fused:"):
        old = bank.KERNEL_MIN_ELEMENTS
        bank.KERNEL_MIN_ELEMENTS = 0
        try:
            return fingerprint(*SCENARIOS[name.removeprefix("fused:")]())
        finally:
            bank.KERNEL_MIN_ELEMENTS = old
    return fingerprint(*SCENARIOS[name]())


NAMES = [
    *SCENARIOS,
    *(f"fused:{n}" for n in FUSED),
    *(f"degrade.haze:{s}:{d}" for s in (0, 1) for d in (torch.float32, torch.float64)),
]


def _compare(got, want, path: str) -> None:
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list) and want and isinstance(want[0], float):
        g = torch.tensor(got, dtype=torch.float64)
        w = torch.tensor(want, dtype=torch.float64)
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-6, equal_nan=True, msg=path)
    else:
        assert got == want, path


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(DATA.read_text())


@pytest.mark.parametrize("name", NAMES)
def test_same_draws_as_before_the_refactor(name: str, expected: dict) -> None:
    _compare(compute(name), expected[name], name)


def test_fingerprint_compares_records_exactly() -> None:
    neg, rec = SCENARIOS["pie_f32"]()
    a = fingerprint(neg, rec)
    rec.params[0, 0] = torch.nextafter(rec.params[0, 0], torch.tensor(math.inf))
    with pytest.raises(AssertionError):
        _compare(fingerprint(neg, rec), a, "pie_f32")
