"""Bags of degradations: random degraded copies of images, with a record of what was drawn.

This is the one design behind every bag of negatives in :mod:`pyisp_contrast.isp`:

- a :class:`DegradationFamily` is a deterministic ``apply(images, params)`` with a ``sampler`` of
  its named parameters; a family may be restricted to *directions* (:data:`UNDER`: it darkens,
  :data:`OVER`: it brightens), and then its sampler is told the direction of each draw;
- a :class:`DegradationBag` draws, for each image and each of ``k`` negatives, a direction (when
  its families have directions), a family able to produce it (with the bag's odds), and the
  family's parameters; it applies them in one vectorised call per family, and redraws the
  negatives that stay closer to their image than a margin, when one is set;
- a :class:`DegradationRecord` keeps what was drawn, ``(B, K, ...)`` per parameter name (NaN where
  the family drawn has no such parameter; integer parameters, such as seeds, hold -1 there), so a
  draw can be logged as JSON and replayed exactly (:meth:`DegradationBag.apply_record`).

The negatives plug into the contrastive losses (``loss(anchor, positives, negatives)`` with
``negatives`` ``(B, K, C, H, W)``). Built on this design:

- the Bag of Curves (:class:`~pyisp_contrast.isp.bank.BagOfCurves`): exposure negatives from tone
  curves; its :class:`~pyisp_contrast.isp.bank.CurveFamily` is the one-parameter case, with
  directions, and its :class:`~pyisp_contrast.isp.bank.CurveRecord` the matching record;
- :class:`BagOfHaze`: the atmospheric scattering model ``I = J t + A (1 - t)``,
  ``t = exp(-beta d)``, over three depth layouts (homogeneous, a planar ramp, a smooth random
  field) and grey-ish airlights (He et al., CVPR 2009; negatives as in AECR-Net, Wu et al., CVPR
  2021), with the defaults of :func:`pyisp_contrast.isp.degrade.haze` (:data:`HAZE_DEFAULTS`);
- :class:`BagOfRain`: rain-streak layers (:func:`pyisp_contrast.isp.degrade.rain`) in three
  regimes (drizzle, streaks, downpour) of directions, lengths and densities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_generator, check_image, check_int, value_checks
from pyisp_contrast.core.color import luma

from ._haze import HAZE_DEFAULTS, HazeDefaults, grid, ramp_depth, tinted_airlight

__all__ = [
    "HAZE_DEFAULTS",
    "OVER",
    "RAIN_REGIMES",
    "UNDER",
    "BagOfHaze",
    "BagOfRain",
    "DegradationBag",
    "DegradationFamily",
    "DegradationRecord",
    "HazeDefaults",
    "haze_families",
    "rain_families",
]

#: Direction label of a darkening negative (an under-exposed one, for tone curves).
UNDER = 0
#: Direction label of a brightening negative (an over-exposed one, for tone curves).
OVER = 1
_DIRECTION_NAMES = ("under", "over")

#: ``sampler(generator, n, device, dtype[, direction]) -> {name: (n, ...) tensor}``.
ParamSampler = Callable[..., dict[str, Tensor]]
#: ``apply(images (n, C, H, W), params {name: (n, ...)}) -> (n, C, H, W)``, deterministic.
Degrade = Callable[[Tensor, dict[str, Tensor]], Tensor]


def _mean_abs_luma_diff(a: Tensor, b: Tensor) -> Tensor:
    return (luma(a) - luma(b)).abs().flatten(1).mean(dim=1)


def _check_directions(name: str, directions: Any) -> tuple[int, ...]:
    dirs = tuple(directions)
    if not dirs or any(d not in (UNDER, OVER) for d in dirs) or len(set(dirs)) != len(dirs):
        raise ValueError(
            f"`directions` of family {name!r} must be a non-empty subset of (UNDER, OVER) = "
            f"(0, 1), got {directions!r}."
        )
    return dirs


# ------------------------------------------------------------------------------------------ family


@dataclass(frozen=True)
class DegradationFamily:
    """A degradation with named parameters and their distribution.

    Args:
        name: short identifier used in records and logs.
        apply: ``apply(images (n, C, H, W), params) -> (n, C, H, W)`` in [0, 1]; must depend on
            nothing but its arguments (draw all randomness in the sampler), so records replay.
        sampler: ``sampler(generator, n, device, dtype) -> params``, a dict of ``(n, ...)`` tensors;
            draw randomness only from ``generator``. A family with ``directions`` gets a fifth
            argument, the ``(n,)`` long tensor of the directions drawn (:data:`UNDER` /
            :data:`OVER`).
        directions: ``None`` (default): the family has no direction and serves any draw; else the
            directions it can produce, a non-empty subset of ``(UNDER, OVER)``.

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
    directions: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("`name` must be a non-empty string.")
        if not callable(self.apply):
            raise TypeError(f"`apply` of family {self.name!r} must be callable.")
        if not callable(self.sampler):
            raise TypeError(f"`sampler` of family {self.name!r} must be callable.")
        if self.directions is not None:
            object.__setattr__(self, "directions", _check_directions(self.name, self.directions))

    def draw(
        self,
        generator: torch.Generator | None,
        n: int,
        device: torch.device,
        dtype: torch.dtype,
        direction: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Parameters of ``n`` draws from the sampler, checked: ``{name: (n, ...) tensor}``.

        ``direction`` (the ``(n,)`` directions drawn) is passed on to the sampler of a family with
        directions and ignored otherwise.
        """
        if self.directions is None:
            p = self.sampler(generator, n, device, dtype)
        else:
            p = self.sampler(generator, n, device, dtype, direction)
        if not isinstance(p, dict):
            raise TypeError(f"sampler of family {self.name!r} must return a dict of tensors.")
        for key, v in p.items():
            if not isinstance(v, Tensor) or v.ndim < 1 or v.shape[0] != n:
                raise ValueError(
                    f"sampler of family {self.name!r}: parameter {key!r} must be a tensor with "
                    f"{n} rows, got {getattr(v, 'shape', type(v).__name__)}."
                )
        return p


# ------------------------------------------------------------------------------------------ record


def _fill_value(t: Tensor) -> float | int:
    return float("nan") if t.is_floating_point() else -1


def _is_missing(v: Any) -> bool:
    # An entry of a record's parameter (a Python value from tolist()) that the family lacks.
    if isinstance(v, list):
        return any(_is_missing(e) for e in v)
    if isinstance(v, float):
        return math.isnan(v)
    return v < 0


@dataclass
class DegradationRecord:
    """What a bag drew for each negative.

    Attributes:
        family: ``(B, K)`` index into ``names`` of the family applied.
        names: family names of the bag, in order.
        params: ``{name: (B, K, ...)}``, NaN where the drawn family has no such parameter
            (integer parameters, such as seeds, hold -1 there).
        direction: ``(B, K)`` directions drawn (:data:`UNDER` / :data:`OVER`), or ``None`` when
            the bag's families have no directions.
        difference: ``(B, K)`` mean absolute luma difference between each negative and its image,
            when the bag measured it (a margin was set); else empty.
    """

    family: Tensor
    names: tuple[str, ...]
    params: dict[str, Tensor]
    direction: Tensor | None = None
    difference: Tensor = field(default_factory=lambda: torch.empty(0))

    @classmethod
    def _from_draws(
        cls,
        family: Tensor,
        names: tuple[str, ...],
        params: dict[str, Tensor],
        direction: Tensor | None,
        difference: Tensor,
    ) -> DegradationRecord:
        return cls(family, names, params, direction, difference)

    def named_params(self) -> dict[str, Tensor]:
        """The parameters by name, ``{name: (B, K, ...)}`` (what a bag replays)."""
        return dict(self.params)

    def family_names(self) -> list[list[str]]:
        """Family names as a ``B x K`` nested list."""
        return [[self.names[i] for i in row] for row in self.family.tolist()]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python containers (JSON-serialisable; NaN stays a float NaN)."""
        out: dict[str, Any] = {
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
        if self.direction is not None:
            out["direction"] = self.direction.tolist()
        if self.difference.numel():
            out["difference"] = self.difference.detach().double().cpu().tolist()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DegradationRecord:
        """Rebuild a record written by :meth:`to_dict`."""
        params = {
            k: torch.tensor(v["values"], dtype=getattr(torch, v["dtype"]))
            for k, v in d["params"].items()
        }
        direction = d.get("direction")
        return cls(
            torch.tensor(d["family"], dtype=torch.long),
            tuple(d["names"]),
            params,
            None if direction is None else torch.tensor(direction, dtype=torch.long),
            torch.tensor(d.get("difference", []), dtype=torch.float64),
        )

    def as_rows(self) -> list[dict[str, Any]]:
        """One dict per negative: ``image, k, family``, the family's own parameters, then the
        direction (``'under'`` / ``'over'``) and the difference when the record has them."""
        return self._rows("direction", always_difference=False)

    def _rows(self, direction_key: str, always_difference: bool) -> list[dict[str, Any]]:
        values = {k: v.detach().cpu().tolist() for k, v in self.named_params().items()}
        direction = None if self.direction is None else self.direction.tolist()
        diff = self.difference.detach().double().cpu().tolist() if self.difference.numel() else None
        rows = []
        for b, row in enumerate(self.family.tolist()):
            for k, f in enumerate(row):
                entry: dict[str, Any] = {"image": b, "k": k, "family": self.names[f]}
                for name, value in values.items():
                    if not _is_missing(value[b][k]):
                        entry[name] = value[b][k]
                if direction is not None:
                    entry[direction_key] = _DIRECTION_NAMES[direction[b][k]]
                if diff is not None or always_difference:
                    entry["difference"] = None if diff is None else diff[b][k]
                rows.append(entry)
        return rows


# ------------------------------------------------------------------------------------------ bag


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


def _choose(u: Tensor, eligible: list[int], weights: Tensor | None, total: int) -> Tensor:
    """Family indices for uniform draws ``u``: among ``eligible`` (of ``total``), by ``weights``.

    ``weights=None``: equal odds, family ``eligible[floor(u * m)]`` of the ``m`` eligible ones.
    """
    table = torch.tensor(eligible, dtype=torch.long, device=u.device)
    m = len(eligible)
    if weights is None:
        choice = (u * m).long().clamp_max(m - 1)
    else:
        w = weights.to(u.device)
        if m < total:
            w = w.index_select(0, table)
            w = w / w.sum()
        choice = torch.searchsorted(torch.cumsum(w, 0), u, right=True).clamp_max(m - 1)
    return table[choice]


def _merge(
    params: dict[str, Tensor], rows: Tensor, new: dict[str, Tensor], n: int, device: torch.device
) -> dict[str, Tensor]:
    """``params`` (``n`` rows, or empty) with ``rows`` replaced by ``new``; missing keys filled."""
    out = dict(params)
    for key in [*params, *(k for k in new if k not in params)]:
        cur, v = params.get(key), new.get(key)
        if cur is None:
            assert v is not None
            cur = torch.full((n, *v.shape[1:]), _fill_value(v), device=device, dtype=v.dtype)
        if v is None:
            v = torch.full(
                (rows.numel(), *cur.shape[1:]), _fill_value(cur), device=device, dtype=cur.dtype
            )
        out[key] = cur.index_copy(0, rows, v.to(device))
    return out


#: ``run(src (n,), family (n,), params) -> (negatives (n, C, H, W), difference (n,) or None)``.
Runner = Callable[[Tensor, Tensor, dict[str, Tensor]], tuple[Tensor, Tensor | None]]


class DegradationBag(nn.Module):
    """A bag of degradations: ``k`` random degraded copies of each image, with a record.

    For each negative: a direction (only when some family has directions: :data:`UNDER` with
    probability ``under_ratio``), a family able to produce it (with the odds of ``weights``),
    then the family's parameters. With ``min_difference > 0``, negatives whose mean absolute luma
    difference to their image is below it are redrawn, up to ``max_tries`` times in the same
    direction, then up to ``max_tries`` times in the other one.

    Args:
        families: the degradations (:class:`DegradationFamily` objects, unique names).
        weights: relative odds of each family (default: equal); with directions, the odds among
            the families able to produce the direction drawn.
        under_ratio: probability of an :data:`UNDER` draw, in [0, 1], when families have
            directions. A bag whose families only darken (or only brighten) always draws that
            direction.
        per_image: draw per image (``True``) or share each of the ``k`` draws across the batch
            (``False``; images whose shared draw misses the margin are redrawn on their own).
        min_difference: margin in [0, 1); ``0`` (default) switches the redraws off.
        max_tries: redraws per direction before giving up.
        strict: raise ``ValueError`` when some negative still misses the margin (e.g. a flat
            black image); with ``False`` it is returned and its ``record.difference`` shows it.

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

    #: The kind of family the bag holds.
    family_type: type[DegradationFamily] = DegradationFamily
    #: The kind of record its draws come in.
    record_type: type[DegradationRecord] = DegradationRecord
    #: Whether every draw's luma difference is measured and recorded (not only with a margin).
    measure_difference: bool = False

    def __init__(
        self,
        families: Sequence[DegradationFamily],
        weights: Sequence[float] | None = None,
        *,
        under_ratio: float = 0.5,
        per_image: bool = True,
        min_difference: float = 0.0,
        max_tries: int = 8,
        strict: bool = True,
    ) -> None:
        super().__init__()
        self.families = self._check_families(families)
        self.weights = self._check_weights(weights)
        if not 0.0 <= float(under_ratio) <= 1.0:
            raise ValueError(f"`under_ratio` must lie in [0, 1], got {under_ratio}.")
        if not 0.0 <= float(min_difference) < 1.0:
            raise ValueError(f"`min_difference` must lie in [0, 1), got {min_difference}.")
        check_int(max_tries, "max_tries", 0)
        self.under_ratio = float(under_ratio)
        self.per_image = bool(per_image)
        self.min_difference = float(min_difference)
        self.max_tries = max_tries
        self.strict = strict

    @classmethod
    def _check_families(cls, families: Sequence[DegradationFamily]) -> list[DegradationFamily]:
        kind = cls.family_type.__name__
        fams = list(families)
        if not fams:
            raise ValueError(f"`families` is empty; give at least one {kind}.")
        for f in fams:
            if not isinstance(f, cls.family_type):
                raise TypeError(f"`families` must hold {kind} objects, got {type(f).__name__}.")
        names = [f.name for f in fams]
        if len(set(names)) != len(names):
            raise ValueError(f"family names must be unique, got {names}.")
        return fams

    def _check_weights(self, weights: Sequence[float] | None) -> Tensor | None:
        return _check_weights(weights, len(self.families))

    @property
    def names(self) -> tuple[str, ...]:
        """Family names, in order (the record's ``family`` indexes them)."""
        return tuple(f.name for f in self.families)

    # -- drawing ---------------------------------------------------------------------------------
    def _supported(self) -> set[int] | None:
        """Directions the families can produce; ``None`` when no family has directions."""
        if all(f.directions is None for f in self.families):
            return None
        return {d for f in self.families for d in (f.directions or (UNDER, OVER))}

    def _under_ratio(self, supported: set[int] | None) -> float | None:
        if supported is None:
            return None
        if supported == {UNDER, OVER}:
            return self.under_ratio
        # A bag that only darkens (or only brightens) draws that direction always; asking for
        # nothing but the other one is a contradiction.
        only = next(iter(supported))
        if self.under_ratio == (1.0 if only == OVER else 0.0):
            missing = _DIRECTION_NAMES[1 - only]
            raise ValueError(
                f"`under_ratio`={self.under_ratio} asks for {missing}-exposure only, but no family "
                f"in {list(self.names)} produces {missing}-exposure."
            )
        return 1.0 if only == UNDER else 0.0

    @staticmethod
    def _directions(
        n: int, ratio: float | None, generator: torch.Generator | None, device: torch.device
    ) -> Tensor | None:
        if ratio is None:
            return None
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        return (u >= ratio).long()

    def _draw(
        self,
        direction: Tensor | None,
        n: int,
        generator: torch.Generator | None,
        device: torch.device,
        dtype: torch.dtype,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """A family and its parameters for each of ``n`` draws (of the given directions)."""
        fams = self.families
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        if direction is None:
            fam_idx = _choose(u, list(range(len(fams))), self.weights, len(fams))
        else:
            fam_idx = torch.empty(n, dtype=torch.long, device=device)
            for d in (UNDER, OVER):
                eligible = [
                    i for i, f in enumerate(fams) if f.directions is None or d in f.directions
                ]
                if self.weights is not None:
                    eligible = [i for i in eligible if float(self.weights[i]) > 0]
                mask = direction == d
                if not eligible:
                    if bool(mask.any()):
                        raise ValueError(
                            f"no family in {list(self.names)} produces "
                            f"{_DIRECTION_NAMES[d]}-exposure."
                        )
                    continue
                fam_idx = torch.where(mask, _choose(u, eligible, self.weights, len(fams)), fam_idx)
        params: dict[str, Tensor] = {}
        for i, fam in enumerate(fams):
            sel = (fam_idx == i).nonzero().flatten()
            if sel.numel() == 0:
                continue
            d_sel = None if direction is None else direction.index_select(0, sel)
            params = _merge(
                params, sel, fam.draw(generator, int(sel.numel()), device, dtype, d_sel), n, device
            )
        return fam_idx, params

    # -- applying --------------------------------------------------------------------------------
    def _degrade(self, xs: Tensor, fam_idx: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Apply family ``fam_idx[n]`` with its parameters to ``xs[n]``; one call per family."""
        out = None
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
            y = fam.apply(xs.index_select(0, sel), own).to(xs.dtype)
            if sel.numel() == xs.shape[0]:
                return y
            if out is None:
                out = y.new_empty(xs.shape)
            out = out.index_copy(0, sel, y)
        assert out is not None  # every negative has a family
        return out

    def _runner(self, x: Tensor, n: int) -> Runner:
        """Check the values of ``x`` and return how ``n`` draws are applied to it.

        Subclasses may return a faster path (the Bag of Curves' fused CPU kernel, which checks
        the values in its own first pass).
        """
        check_image(x, "images")
        measure = self.measure_difference or self.min_difference > 0

        def run(
            src: Tensor, fam_idx: Tensor, params: dict[str, Tensor]
        ) -> tuple[Tensor, Tensor | None]:
            xs = x.index_select(0, src)
            neg = self._degrade(xs, fam_idx, params)
            return neg, (_mean_abs_luma_diff(neg, xs) if measure else None)

        return run

    # -- public ----------------------------------------------------------------------------------
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
        with value_checks(False):
            x, unbatched = check_image(images, "images")
        check_int(k, "k", 1, hint="negatives per image")
        b = x.shape[0]
        n = b * k
        run = self._runner(x, n)
        generator = check_generator(generator, x.device)
        supported = self._supported()
        ratio = self._under_ratio(supported)
        device, dtype = x.device, x.dtype
        # Negative n = image n // k, draw n % k.
        src = torch.arange(b, device=device).repeat_interleave(k)
        with value_checks(False):  # the images were checked once, above or by the runner
            if self.per_image:
                direction = self._directions(n, ratio, generator, device)
                fam_idx, params = self._draw(direction, n, generator, device, dtype)
            else:
                direction_k = self._directions(k, ratio, generator, device)
                fam_k, params_k = self._draw(direction_k, k, generator, device, dtype)
                direction = None if direction_k is None else direction_k.repeat(b)
                fam_idx = fam_k.repeat(b)
                params = {key: v.repeat(b, *([1] * (v.ndim - 1))) for key, v in params_k.items()}
            neg, diff = run(src, fam_idx, params)
            if self.min_difference > 0:
                assert diff is not None
                for attempt in range(2 * self.max_tries):
                    bad = (diff < self.min_difference).nonzero().flatten()
                    if bad.numel() == 0:
                        break
                    d_bad = None
                    if direction is not None:
                        if attempt == self.max_tries and len(supported or ()) == 2:
                            # This direction cannot move these images enough (e.g. brightening
                            # a near-white photo): try the other one.
                            flipped = 1 - direction.index_select(0, bad)
                            direction = direction.index_copy(0, bad, flipped)
                        d_bad = direction.index_select(0, bad)
                    f_new, p_new = self._draw(d_bad, int(bad.numel()), generator, device, dtype)
                    y_new, d_new = run(src.index_select(0, bad), f_new, p_new)
                    assert d_new is not None
                    fam_idx = fam_idx.index_copy(0, bad, f_new)
                    params = _merge(params, bad, p_new, n, device)
                    neg = neg.index_copy(0, bad, y_new)
                    diff = diff.index_copy(0, bad, d_new)
                short = (diff < self.min_difference).nonzero().flatten()
                if self.strict and short.numel():
                    imgs = sorted({int(i) // k for i in short.tolist()})
                    raise ValueError(
                        f"images {imgs} cannot be moved by `min_difference`={self.min_difference} "
                        f"by any family of {list(self.names)} (flat black or nearly flat images?); "
                        "drop them, lower `min_difference`, or pass strict=False and inspect "
                        "record.difference."
                    )
        record = self.record_type._from_draws(
            fam_idx.reshape(b, k),
            self.names,
            {key: v.detach().reshape(b, k, *v.shape[1:]) for key, v in params.items()},
            None if direction is None else direction.reshape(b, k),
            torch.empty(0) if diff is None else diff.detach().reshape(b, k),
        )
        neg = neg.reshape(b, k, *x.shape[1:])
        return (neg[0] if unbatched else neg), record

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
        """Re-apply the draws of ``record`` to ``images``: reproduces :meth:`sample`'s output.

        Args:
            images: the images ``(B, C, H, W)`` (or ``(C, H, W)`` for a ``(1, K)`` record).
            record: from :meth:`sample` or the record type's ``from_dict``; drawn from a bag with
                the same families, in the same order (names are checked).

        Returns:
            ``(B, K, C, H, W)`` (``(K, C, H, W)`` for unbatched input).
        """
        with value_checks(False):
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
        run = self._runner(x, b * k)
        params = {
            key: v.reshape(b * k, *v.shape[2:]).to(
                device=x.device, dtype=x.dtype if v.is_floating_point() else v.dtype
            )
            for key, v in record.named_params().items()
        }
        src = torch.arange(b, device=x.device).repeat_interleave(k)
        with value_checks(False):
            out, _ = run(src, record.family.reshape(-1).to(x.device), params)
        out = out.reshape(b, k, *x.shape[1:])
        return out[0] if unbatched else out

    def extra_repr(self) -> str:
        w = [round(v, 3) for v in self.weights.tolist()] if self.weights is not None else None
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


def _depth_uniform(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    return torch.ones_like(x[:, :1])


def _depth_ramp(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    # A tilted ground plane: the planar ramp of degrade.haze, rescaled from [0, 1] to [near, 1].
    near = p["near"].view(-1, 1, 1, 1)
    return near + (1.0 - near) * ramp_depth(p["angle"], x.shape[-2], x.shape[-1], x)


def _depth_smooth(x: Tensor, p: dict[str, Tensor]) -> Tensor:
    # A smooth random depth field: two low-frequency plane waves, rescaled to [near, 1].
    ys, xs = grid(x.shape[-2], x.shape[-1], x)
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
    return tinted_airlight(level, torch.rand(n, 3, generator=g, device=device, dtype=dtype), tint)


def haze_families(
    beta: tuple[float, float] = HAZE_DEFAULTS.beta,
    airlight: tuple[float, float] = HAZE_DEFAULTS.airlight,
    tint: float = HAZE_DEFAULTS.tint,
    near: tuple[float, float] = HAZE_DEFAULTS.near,
) -> list[DegradationFamily]:
    """Haze over three depth layouts; ``t = exp(-beta * d)`` with depth ``d`` in ``[near, 1]``.

    - ``homogeneous``: ``d = 1`` everywhere (uniform fog);
    - ``ramp``: a tilted plane, depth growing linearly in a random direction from ``near`` to 1
      (ground receding to the horizon); with ``near = 0`` it is the depth proxy of
      :func:`pyisp_contrast.isp.degrade.haze`;
    - ``smooth``: two random low-frequency plane waves (uneven depth or patchy fog).

    Airlights are grey-ish: a level drawn from ``airlight`` plus a per-channel tint in
    ``[-tint, tint]``, clamped to [0, 1]. The defaults are the haze model's
    (:data:`HAZE_DEFAULTS`), the ones :func:`~pyisp_contrast.isp.degrade.haze` uses.

    Args:
        beta: range of the scattering coefficient (larger: denser haze).
        airlight: range of the airlight's grey level.
        tint: largest per-channel deviation of the airlight from grey.
        near: range of the nearest depth of the ``ramp`` and ``smooth`` layouts, in [0, 1].

    Example:
        >>> [f.name for f in haze_families()]
        ['homogeneous', 'ramp', 'smooth']
    """
    for name, r in (("beta", beta), ("airlight", airlight), ("near", near)):
        if len(r) != 2 or not 0.0 <= float(r[0]) <= float(r[1]):
            raise ValueError(
                f"`{name}` must be a (low, high) range of non-negative numbers, got {r!r}."
            )
    if not 0.0 < float(airlight[1]) <= 1.0:
        raise ValueError(f"`airlight` must lie in (0, 1], got {airlight!r}.")
    if not float(near[1]) <= 1.0:
        raise ValueError(f"`near` must lie in [0, 1], got {near!r}.")
    if not 0.0 <= float(tint) <= 0.5:
        raise ValueError(f"`tint` must lie in [0, 0.5], got {tint}.")

    def base(g, n, device, dtype) -> dict[str, Tensor]:
        return {
            "beta": _uniform(g, n, *beta, device, dtype),
            "airlight": _airlight(g, n, device, dtype, airlight, tint),
        }

    def ramp(g, n, device, dtype) -> dict[str, Tensor]:
        p = base(g, n, device, dtype)
        p["angle"] = _uniform(g, n, 0.0, 2 * math.pi, device, dtype)
        p["near"] = _uniform(g, n, *near, device, dtype)
        return p

    def smooth(g, n, device, dtype) -> dict[str, Tensor]:
        p = base(g, n, device, dtype)
        p["frequency"] = 0.25 + 0.75 * torch.rand(n, 2, 2, generator=g, device=device, dtype=dtype)
        p["frequency"] = p["frequency"] * torch.where(
            torch.rand(n, 2, 2, generator=g, device=device) < 0.5, -1.0, 1.0
        ).to(dtype)
        p["phase"] = _uniform(g, 2 * n, 0.0, 2 * math.pi, device, dtype).view(n, 2)
        p["near"] = _uniform(g, n, *near, device, dtype)
        return p

    return [
        DegradationFamily("homogeneous", _haze_apply(_depth_uniform), base),
        DegradationFamily("ramp", _haze_apply(_depth_ramp), ramp),
        DegradationFamily("smooth", _haze_apply(_depth_smooth), smooth),
    ]


class BagOfHaze(DegradationBag):
    """Hazy negatives from the atmospheric scattering model (see :func:`haze_families`).

    Args:
        beta, airlight, tint, near: see :func:`haze_families` (defaults: :data:`HAZE_DEFAULTS`).
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
        beta: tuple[float, float] = HAZE_DEFAULTS.beta,
        airlight: tuple[float, float] = HAZE_DEFAULTS.airlight,
        tint: float = HAZE_DEFAULTS.tint,
        weights: Sequence[float] | None = None,
        *,
        near: tuple[float, float] = HAZE_DEFAULTS.near,
    ) -> None:
        super().__init__(haze_families(beta, airlight, tint, near), weights)


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
