"""Bags of physical degradations: haze and rain negatives in the form of the Bag of Curves.

A *bag* holds :class:`DegradationFamily` objects -- a physical degradation with a parameter sampler --
and turns clean images into ``k`` degraded negatives each, with a :class:`DegradationRecord` of what
was drawn, exactly like :class:`~pyisp_contrast.isp.bank.BagOfCurves` does for exposure. The
negatives therefore plug into the same contrastive losses (``loss(anchor, positives, negatives)``
with ``negatives`` ``(B, K, C, H, W)``).

Unlike tone curves, these degradations take several parameters (an airlight colour, a depth
layout, a streak direction...), so the record keeps one tensor per parameter name, ``(B, K, ...)``,
with NaN where the family drawn for that negative has no such parameter. Each family's output is a
deterministic function of its parameters (rain layers carry their own integer ``seed``), so
:meth:`DegradationBag.apply_record` reproduces a draw exactly.

- :class:`BagOfHaze`: the atmospheric scattering model ``I = J t + A (1 - t)`` with ``t = exp(-beta d)``
  over three depth layouts (homogeneous, a planar ramp, a smooth random field) and grey-ish
  airlights (He et al., CVPR 2009; negatives as in AECR-Net, Wu et al., CVPR 2021).
- :class:`BagOfRain`: rain-streak layers (:func:`pyisp_contrast.isp.degrade.rain`) in three regimes
  (drizzle, streaks, downpour) of directions, lengths and densities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_generator, check_image, value_checks

__all__ = [
    "RAIN_REGIMES",
    "BagOfHaze",
    "BagOfRain",
    "DegradationBag",
    "DegradationFamily",
    "DegradationRecord",
    "haze_families",
    "rain_families",
]

#: ``sampler(generator, n, device, dtype) -> {name: (n, ...) tensor}``.
ParamSampler = Callable[[torch.Generator | None, int, torch.device, torch.dtype], dict[str, Tensor]]
#: ``apply(images (n, C, H, W), params {name: (n, ...)}) -> (n, C, H, W)``, deterministic.
Degrade = Callable[[Tensor, dict[str, Tensor]], Tensor]


@dataclass(frozen=True)
class DegradationFamily:
    """A physical degradation with named parameters and their distribution.

    Args:
        name: short identifier used in records and logs.
        apply: ``apply(images (n, C, H, W), params) -> (n, C, H, W)`` in [0, 1]; must depend on
            nothing but its arguments (draw all randomness in the sampler), so records replay.
        sampler: ``sampler(generator, n, device, dtype) -> params``, a dict of ``(n, ...)`` tensors;
            draw randomness only from ``generator``.

    Example:
        >>> fam = DegradationFamily(
        ...     "dim",
        ...     lambda x, p: x * p["gain"].view(-1, 1, 1, 1),
        ...     lambda g, n, device, dtype: {"gain": torch.rand(n, generator=g, dtype=dtype)},
        ... )
        >>> fam.name
        'dim'
    """

    name: str
    apply: Degrade
    sampler: ParamSampler

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("`name` must be a non-empty string.")
        if not callable(self.apply):
            raise TypeError(f"`apply` of family {self.name!r} must be callable.")
        if not callable(self.sampler):
            raise TypeError(f"`sampler` of family {self.name!r} must be callable.")


@dataclass
class DegradationRecord:
    """What a bag drew for each negative.

    Attributes:
        family: ``(B, K)`` index into ``names`` of the family applied.
        names: family names of the bag, in order.
        params: ``{name: (B, K, ...)}``, NaN where the drawn family has no such parameter
            (integer parameters, such as seeds, hold -1 there).
    """

    family: Tensor
    names: tuple[str, ...]
    params: dict[str, Tensor]

    def family_names(self) -> list[list[str]]:
        """Family names as a ``B x K`` nested list."""
        return [[self.names[i] for i in row] for row in self.family.tolist()]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python containers (JSON-serialisable; NaN stays a float NaN)."""
        return {
            "names": list(self.names),
            "family": self.family.tolist(),
            "params": {
                k: {
                    "dtype": str(v.dtype).removeprefix("torch."),
                    "values": v.detach().cpu().tolist(),
                }
                for k, v in self.params.items()
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DegradationRecord:
        """Rebuild a record written by :meth:`to_dict`."""
        params = {
            k: torch.tensor(v["values"], dtype=getattr(torch, v["dtype"]))
            for k, v in d["params"].items()
        }
        return cls(torch.tensor(d["family"], dtype=torch.long), tuple(d["names"]), params)

    def as_rows(self) -> list[dict[str, Any]]:
        """One dict per negative: ``image, k, family`` and the family's own parameters."""
        rows = []
        for b, row in enumerate(self.family.tolist()):
            for k, f in enumerate(row):
                entry: dict[str, Any] = {"image": b, "k": k, "family": self.names[f]}
                for name, value in self.params.items():
                    v = value[b, k]
                    if v.is_floating_point() and bool(torch.isnan(v).any()):
                        continue
                    if not v.is_floating_point() and bool((v < 0).any()):
                        continue
                    entry[name] = v.tolist()
                rows.append(entry)
        return rows


def _check_families(families: Sequence[DegradationFamily]) -> list[DegradationFamily]:
    fams = list(families)
    if not fams:
        raise ValueError("`families` is empty; give at least one DegradationFamily.")
    for f in fams:
        if not isinstance(f, DegradationFamily):
            raise TypeError(
                f"`families` must hold DegradationFamily objects, got {type(f).__name__}."
            )
    names = [f.name for f in fams]
    if len(set(names)) != len(names):
        raise ValueError(f"family names must be unique, got {names}.")
    return fams


def _check_weights(weights: Sequence[float] | None, n: int) -> Tensor:
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=torch.float64)
    w = torch.as_tensor([float(v) for v in weights], dtype=torch.float64)
    if w.shape != (n,) or not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or w.sum() <= 0:
        raise ValueError(
            f"`weights` must be {n} finite non-negative numbers (one per family, not all 0), "
            f"got {list(weights)}."
        )
    return w / w.sum()


def _fill_value(t: Tensor) -> float | int:
    return float("nan") if t.is_floating_point() else -1


class DegradationBag(nn.Module):
    """A bag of physical degradations: ``k`` random degraded copies of each image, with a record.

    Args:
        families: the degradations.
        weights: relative odds of each family (default: equal).

    Example:
        >>> fam = DegradationFamily(
        ...     "dim",
        ...     lambda x, p: x * p["gain"].view(-1, 1, 1, 1),
        ...     lambda g, n, device, dtype: {"gain": torch.rand(n, generator=g, dtype=dtype)},
        ... )
        >>> bag = DegradationBag([fam])
        >>> neg, rec = bag.sample(torch.rand(2, 3, 4, 4), k=3, generator=torch.Generator().manual_seed(0))
        >>> neg.shape, rec.params["gain"].shape
        (torch.Size([2, 3, 3, 4, 4]), torch.Size([2, 3]))
    """

    def __init__(
        self, families: Sequence[DegradationFamily], weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.families = _check_families(families)
        self.weights = _check_weights(weights, len(self.families))

    @property
    def names(self) -> tuple[str, ...]:
        """Family names, in order (the record's ``family`` indexes them)."""
        return tuple(f.name for f in self.families)

    def _draw_params(
        self, n: int, generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
    ) -> tuple[Tensor, dict[str, Tensor]]:
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        edges = torch.cumsum(self.weights.to(device), 0)
        fam_idx = torch.searchsorted(edges, u, right=True).clamp_max(len(self.families) - 1)
        per_family: list[tuple[Tensor, dict[str, Tensor]]] = []
        for i, fam in enumerate(self.families):
            sel = (fam_idx == i).nonzero().flatten()
            if sel.numel() == 0:
                continue
            p = fam.sampler(generator, int(sel.numel()), device, dtype)
            if not isinstance(p, dict):
                raise TypeError(f"sampler of family {fam.name!r} must return a dict of tensors.")
            for key, v in p.items():
                if not isinstance(v, Tensor) or v.ndim < 1 or v.shape[0] != sel.numel():
                    raise ValueError(
                        f"sampler of family {fam.name!r}: parameter {key!r} must be a tensor with "
                        f"{sel.numel()} rows, got {getattr(v, 'shape', type(v).__name__)}."
                    )
            per_family.append((sel, p))
        params: dict[str, Tensor] = {}
        for sel, p in per_family:
            for key, v in p.items():
                if key not in params:
                    params[key] = torch.full(
                        (n, *v.shape[1:]), _fill_value(v), device=device, dtype=v.dtype
                    )
                params[key] = params[key].index_copy(0, sel, v.to(device))
        return fam_idx, params

    def _degrade(self, x: Tensor, fam_idx: Tensor, params: dict[str, Tensor]) -> Tensor:
        out = torch.empty_like(x)
        for i, fam in enumerate(self.families):
            sel = (fam_idx == i).nonzero().flatten()
            if sel.numel() == 0:
                continue
            own = {}
            for key, v in params.items():
                vs = v.index_select(0, sel)
                missing = torch.isnan(vs) if vs.is_floating_point() else vs < 0
                if not bool(missing.all()):
                    own[key] = vs
            out = out.index_copy(0, sel, fam.apply(x.index_select(0, sel), own).to(x.dtype))
        return out

    def sample(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, DegradationRecord]:
        """Draw ``k`` degraded copies of each image.

        Args:
            images: clean images ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
            k: copies per image.
            generator: source of all randomness; the same seed and images give the same result.

        Returns:
            ``(B, K, C, H, W)`` (``(K, C, H, W)`` for unbatched input) and the record, whose tensors
            are ``(B, K, ...)`` (``(1, K, ...)`` for unbatched input).
        """
        x, unbatched = check_image(images, "images")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` must be a positive int (negatives per image), got {k!r}.")
        generator = check_generator(generator, x.device)
        b = x.shape[0]
        with value_checks(False):  # checked once above
            fam_idx, params = self._draw_params(b * k, generator, x.device, x.dtype)
            out = self._degrade(x.repeat_interleave(k, dim=0), fam_idx, params)
        record = DegradationRecord(
            fam_idx.reshape(b, k),
            self.names,
            {key: v.reshape(b, k, *v.shape[1:]) for key, v in params.items()},
        )
        out = out.reshape(b, k, *x.shape[1:])
        return (out[0] if unbatched else out), record

    def forward(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, DegradationRecord]:
        return self.sample(images, k=k, generator=generator)

    def synthesize(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One degraded copy per image, ``(B, C, H, W)``: training inputs from clean images."""
        x, unbatched = check_image(images, "images")
        out, _ = self.sample(x, 1, generator)
        out = out[:, 0]
        return out[0] if unbatched else out

    def apply_record(self, images: Tensor, record: DegradationRecord) -> Tensor:
        """Re-apply the draws of ``record`` to ``images``: reproduces :meth:`sample`'s output."""
        x, unbatched = check_image(images, "images")
        if tuple(record.names) != self.names:
            raise ValueError(
                f"record was drawn from families {list(record.names)}, not {list(self.names)}."
            )
        if record.family.ndim != 2 or record.family.shape[0] != x.shape[0]:
            raise ValueError(
                f"record holds {tuple(record.family.shape)} draws but `images` has batch {x.shape[0]}."
            )
        b, k = record.family.shape
        params = {
            key: v.reshape(b * k, *v.shape[2:]).to(
                device=x.device, dtype=x.dtype if v.is_floating_point() else v.dtype
            )
            for key, v in record.params.items()
        }
        with value_checks(False):
            out = self._degrade(
                x.repeat_interleave(k, dim=0), record.family.reshape(-1).to(x.device), params
            )
        out = out.reshape(b, k, *x.shape[1:])
        return out[0] if unbatched else out

    def extra_repr(self) -> str:
        w = [round(v, 3) for v in self.weights.tolist()]
        return f"families={list(self.names)}, weights={w}"


# ------------------------------------------------------------------------------------------ haze
def _uniform(
    g: torch.Generator | None,
    n: int,
    lo: float,
    hi: float,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, device=device, dtype=dtype)


def _grid(h: int, w: int, like: Tensor) -> tuple[Tensor, Tensor]:
    # Coordinates in [-1, 1] (y down), independent of the image size, so a draw means the same
    # layout at every resolution.
    ys = torch.linspace(-1.0, 1.0, h, device=like.device, dtype=like.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=like.device, dtype=like.dtype)
    return ys.view(1, h, 1), xs.view(1, 1, w)


def _depth_uniform(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    return torch.ones_like(x[:, :1])


def _depth_ramp(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    # A tilted ground plane: depth grows linearly along direction `angle` from `near` to 1.
    ys, xs = _grid(x.shape[-2], x.shape[-1], x)
    a, near = p["angle"].view(-1, 1, 1), p["near"].view(-1, 1, 1)
    proj = (torch.cos(a) * xs + torch.sin(a) * ys) / math.sqrt(2.0)  # in [-1, 1]
    return (near + (1.0 - near) * 0.5 * (proj + 1.0)).unsqueeze(1)


def _depth_smooth(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    # A smooth random depth field: two low-frequency plane waves, rescaled to [near, 1].
    ys, xs = _grid(x.shape[-2], x.shape[-1], x)
    f, ph = p["frequency"], p["phase"]  # (n, 2, 2) wave vectors, (n, 2) phases
    field = 0.0
    for i in range(2):
        arg = f[:, i, 0].view(-1, 1, 1) * xs + f[:, i, 1].view(-1, 1, 1) * ys
        field = field + torch.sin(math.pi * arg + ph[:, i].view(-1, 1, 1))
    near = p["near"].view(-1, 1, 1)
    return (near + (1.0 - near) * 0.25 * (field + 2.0)).unsqueeze(1)


def _haze_apply(depth: Callable[[Tensor, dict[str, Tensor]], Tensor]) -> Degrade:
    def apply(x: Tensor, p: dict[str, Tensor]) -> Tensor:
        from pyisp_contrast.isp.degrade import scatter

        t = torch.exp(-p["beta"].view(-1, 1, 1, 1) * depth(x, p))
        return scatter(x, t, p["airlight"])

    return apply


def _airlight(
    g: torch.Generator | None,
    n: int,
    device: torch.device,
    dtype: torch.dtype,
    brightness: tuple[float, float],
    tint: float,
) -> Tensor:
    level = _uniform(g, n, *brightness, device, dtype).view(n, 1)
    shift = tint * (2.0 * torch.rand(n, 3, generator=g, device=device, dtype=dtype) - 1.0)
    return (level + shift).clamp(0.0, 1.0)


def haze_families(
    beta: tuple[float, float] = (0.3, 2.0),
    airlight: tuple[float, float] = (0.7, 1.0),
    tint: float = 0.05,
) -> list[DegradationFamily]:
    """Haze over three depth layouts; ``t = exp(-beta * d)`` with depth ``d`` in ``[near, 1]``.

    - ``homogeneous``: ``d = 1`` everywhere (uniform fog);
    - ``ramp``: a tilted plane, depth growing linearly in a random direction from ``near`` to 1
      (ground receding to the horizon);
    - ``smooth``: two random low-frequency plane waves (uneven depth or patchy fog).

    Airlights are grey-ish: a level drawn from ``airlight`` plus a per-channel tint in
    ``[-tint, tint]``, clamped to [0, 1].

    Args:
        beta: range of the scattering coefficient (larger: denser haze).
        airlight: range of the airlight's grey level.
        tint: largest per-channel deviation of the airlight from grey.

    Example:
        >>> [f.name for f in haze_families()]
        ['homogeneous', 'ramp', 'smooth']
    """
    for name, r in (("beta", beta), ("airlight", airlight)):
        if len(r) != 2 or not 0.0 <= float(r[0]) <= float(r[1]):
            raise ValueError(
                f"`{name}` must be a (low, high) range of non-negative numbers, got {r!r}."
            )
    if not 0.0 < float(airlight[1]) <= 1.0:
        raise ValueError(f"`airlight` must lie in (0, 1], got {airlight!r}.")
    if not 0.0 <= float(tint) <= 0.5:
        raise ValueError(f"`tint` must lie in [0, 0.5], got {tint}.")

    def base(g, n, device, dtype) -> dict[str, Tensor]:
        return {
            "beta": _uniform(g, n, *beta, device, dtype),
            "airlight": _airlight(g, n, device, dtype, airlight, tint),
        }

    def ramp(g, n, device, dtype) -> dict[str, Tensor]:
        p = base(g, n, device, dtype)
        p["angle"] = _uniform(g, n, -math.pi, math.pi, device, dtype)
        p["near"] = _uniform(g, n, 0.0, 0.5, device, dtype)
        return p

    def smooth(g, n, device, dtype) -> dict[str, Tensor]:
        p = base(g, n, device, dtype)
        p["frequency"] = 0.25 + 0.75 * torch.rand(n, 2, 2, generator=g, device=device, dtype=dtype)
        p["frequency"] = p["frequency"] * torch.where(
            torch.rand(n, 2, 2, generator=g, device=device) < 0.5, -1.0, 1.0
        ).to(dtype)
        p["phase"] = _uniform(g, 2 * n, 0.0, 2 * math.pi, device, dtype).view(n, 2)
        p["near"] = _uniform(g, n, 0.0, 0.5, device, dtype)
        return p

    return [
        DegradationFamily("homogeneous", _haze_apply(_depth_uniform), base),
        DegradationFamily("ramp", _haze_apply(_depth_ramp), ramp),
        DegradationFamily("smooth", _haze_apply(_depth_smooth), smooth),
    ]


class BagOfHaze(DegradationBag):
    """Hazy negatives from the atmospheric scattering model (see :func:`haze_families`).

    Args:
        beta, airlight, tint: see :func:`haze_families`.
        weights: odds of ``homogeneous``, ``ramp`` and ``smooth`` (default: equal).

    Example:
        >>> bag = BagOfHaze()
        >>> g = torch.Generator().manual_seed(0)
        >>> neg, rec = bag.sample(torch.rand(2, 3, 16, 16, generator=g), k=4, generator=g)
        >>> neg.shape, rec.params["airlight"].shape
        (torch.Size([2, 4, 3, 16, 16]), torch.Size([2, 4, 3]))
    """

    def __init__(
        self,
        beta: tuple[float, float] = (0.3, 2.0),
        airlight: tuple[float, float] = (0.7, 1.0),
        tint: float = 0.05,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(haze_families(beta, airlight, tint), weights)


# ------------------------------------------------------------------------------------------ rain
#: Streak regimes: (density, length in px, angle in degrees from vertical, intensity) ranges.
RAIN_REGIMES: dict[str, dict[str, tuple[float, float]]] = {
    "drizzle": {
        "density": (0.005, 0.015),
        "length": (4.0, 10.0),
        "angle": (-20.0, 20.0),
        "intensity": (0.3, 0.6),
    },
    "streaks": {
        "density": (0.002, 0.008),
        "length": (10.0, 30.0),
        "angle": (-30.0, 30.0),
        "intensity": (0.5, 0.9),
    },
    "downpour": {
        "density": (0.008, 0.02),
        "length": (20.0, 40.0),
        "angle": (-15.0, 15.0),
        "intensity": (0.6, 0.9),
    },
}


def _rain_apply(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    from pyisp_contrast.isp.degrade import rain

    # One generator per negative, seeded from the record, so each layer replays on its own.
    out = []
    for i in range(x.shape[0]):
        g = torch.Generator(device=x.device).manual_seed(int(p["seed"][i]))
        y, _ = rain(
            x[i : i + 1],
            density=float(p["density"][i]),
            length=float(p["length"][i]),
            angle=float(p["angle"][i]),
            intensity=float(p["intensity"][i]),
            generator=g,
        )
        out.append(y)
    return torch.cat(out)


def _rain_sampler(ranges: Mapping[str, tuple[float, float]]) -> ParamSampler:
    def sample(g, n, device, dtype) -> dict[str, Tensor]:
        p = {
            key: _uniform(g, n, *ranges[key], device, dtype)
            for key in ("density", "length", "angle", "intensity")
        }
        p["seed"] = torch.randint(0, 2**62, (n,), generator=g, device=device)
        return p

    return sample


def rain_families(
    regimes: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> list[DegradationFamily]:
    """Rain-streak families, one per regime of density, length, angle and intensity ranges.

    The default regimes (:data:`RAIN_REGIMES`): ``drizzle`` (short, faint, dense), ``streaks``
    (long, sparse, bright) and ``downpour`` (long, dense, bright, near vertical).

    Args:
        regimes: ``{name: {"density": (lo, hi), "length": ..., "angle": ..., "intensity": ...}}``;
            units as in :func:`pyisp_contrast.isp.degrade.rain`.

    Example:
        >>> [f.name for f in rain_families()]
        ['drizzle', 'streaks', 'downpour']
    """
    regimes = RAIN_REGIMES if regimes is None else regimes
    if not regimes:
        raise ValueError("`regimes` is empty; give at least one regime.")
    fams = []
    for name, ranges in regimes.items():
        missing = {"density", "length", "angle", "intensity"} - set(ranges)
        if missing:
            raise ValueError(f"rain regime {name!r} lacks the ranges {sorted(missing)}.")
        for key, r in ranges.items():
            if len(r) != 2 or float(r[0]) > float(r[1]):
                raise ValueError(
                    f"rain regime {name!r}: `{key}` must be a (low, high) pair, got {r!r}."
                )
        fams.append(DegradationFamily(name, _rain_apply, _rain_sampler(dict(ranges))))
    return fams


class BagOfRain(DegradationBag):
    """Rainy negatives from rain-streak layers (see :func:`rain_families`).

    Args:
        regimes: see :func:`rain_families`.
        weights: odds of each regime (default: equal).

    Example:
        >>> bag = BagOfRain()
        >>> g = torch.Generator().manual_seed(0)
        >>> neg, rec = bag.sample(torch.rand(2, 3, 16, 16, generator=g), k=2, generator=g)
        >>> neg.shape, rec.params["seed"].shape
        (torch.Size([2, 2, 3, 16, 16]), torch.Size([2, 2]))
    """

    def __init__(
        self,
        regimes: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(rain_families(regimes), weights)
