"""The Bag of Curves: physically valid under- and over-exposed negatives from well-exposed images.

PIE (Liang et al., "Physics-inspired contrastive learning for low-light enhancement", IJCV 2024,
arXiv 2404.04586) trains an enhancer contrastively: its negatives are well-exposed photos pushed to
bad exposure by ISP tone curves drawn from a *Bag of Curves* (BoC). Tone curves are monotone and map
[0, 1] onto [0, 1], so a negative looks like the same scene photographed with a wrong exposure or
tone mapping, never like a different scene.

A bank holds :class:`CurveFamily` objects (a curve, a one-number parameter distribution per
exposure direction). :func:`sample_negatives` (and its module twin :class:`BagOfCurves`) draws, for
each image and each of ``k`` negatives, an exposure direction, a family able to produce it and a
parameter, applies the curves in one vectorised pass per family, and returns the negatives with a
:class:`CurveRecord` saying what was drawn, so a run can be logged and reproduced
(:func:`apply_record`).

Speed: when every family of the bank is a built-in curve (``CurveFamily.kernel_op``, true of the
PIE preset) and the batch is on the CPU without gradients, one fused numba pass applies the curves,
measures the margin and checks the input (from :data:`KERNEL_MIN_ELEMENTS` negative elements up;
smaller batches use torch ops, which give the same values to float rounding).

Margin guarantee: every negative differs from its positive by at least ``min_difference`` in mean
absolute luma difference (Rec. 601 luma, values in [0, 1]). Draws that land closer are redrawn
(same direction first, then the other direction); images that no family can move that far (a flat
black image, which every curve here keeps black) raise ``ValueError`` unless ``strict=False``, in
which case the record's ``difference`` tells which negatives fall short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    RANGE_TOLERANCE,
    check_generator,
    check_image,
    value_checks,
    value_checks_enabled,
)

from .curves import gamma, log_curve, value_curve

__all__ = [
    "OVER",
    "UNDER",
    "BagOfCurves",
    "CurveFamily",
    "CurveRecord",
    "apply_record",
    "luma",
    "pie_families",
    "sample_negatives",
]

#: Exposure label of a darkened negative.
UNDER = 0
#: Exposure label of a brightened negative.
OVER = 1

#: Default margin: mean absolute luma difference between a negative and its positive.
DEFAULT_MIN_DIFFERENCE = 0.1

#: Built-in curves the fused CPU kernel computes, by ``CurveFamily.kernel_op`` name.
_KERNEL_OPS = {"value_power": 0, "gamma": 1, "log_curve": 2}

Sampler = Callable[[torch.Generator | None, int, torch.device, torch.dtype, Tensor], Tensor]


def luma(images: Tensor) -> Tensor:
    """Rec. 601 luma ``0.299 R + 0.587 G + 0.114 B`` as ``(B, 1, H, W)`` (grey input is returned).

    Example:
        >>> luma(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
    """
    if images.shape[-3] == 1:
        return images
    w = torch.tensor([0.299, 0.587, 0.114], device=images.device, dtype=images.dtype)
    return (images * w.view(3, 1, 1)).sum(dim=-3, keepdim=True)


def _uniform_sampler(
    under: tuple[float, float] | None, over: tuple[float, float] | None, minimum: float | None
) -> Sampler:
    def sample(
        generator: torch.Generator | None,
        n: int,
        device: torch.device,
        dtype: torch.dtype,
        exposure: Tensor,
    ) -> Tensor:
        u = torch.rand(n, generator=generator, device=device, dtype=dtype)
        ulo, uhi = under if under is not None else (0.0, 0.0)
        olo, ohi = over if over is not None else (0.0, 0.0)
        is_over = exposure == OVER
        lo = torch.where(is_over, torch.full_like(u, olo), torch.full_like(u, ulo))
        hi = torch.where(is_over, torch.full_like(u, ohi), torch.full_like(u, uhi))
        p = lo + (hi - lo) * u
        return p if minimum is None else p.clamp_min(minimum)

    return sample


@dataclass(frozen=True)
class CurveFamily:
    """A family of tone curves with a one-number parameter and its distribution.

    Args:
        name: short identifier used in records and logs.
        curve: ``curve(images (N, C, H, W), params (N,)) -> (N, C, H, W)``; must be monotone
            non-decreasing per pixel and keep [0, 1] (any curve of :mod:`pyisp_contrast.isp.curves`
            with its parameter passed positionally qualifies).
        sampler: ``sampler(generator, n, device, dtype, exposure) -> params (n,)`` where
            ``exposure`` is an ``(n,)`` long tensor of :data:`UNDER` / :data:`OVER` labels; draw
            randomness only from ``generator``.
        directions: exposure directions the family can produce (a subset of ``(UNDER, OVER)``).
        kernel_op: name of the built-in curve this family computes (``"value_power"``: HSV value
            power, ``"gamma"``: RGB gamma with gain 1, ``"log_curve"``), letting the bank use its
            fused CPU kernel; leave ``None`` for any other curve.

    Use :meth:`uniform` for the common case of a uniform range per direction.

    Example:
        >>> from pyisp_contrast.isp.curves import exposure
        >>> fam = CurveFamily.uniform("ev", exposure, under=(-4.0, -2.0), over=(1.5, 3.0))
        >>> fam.directions
        (0, 1)
    """

    name: str
    curve: Callable[[Tensor, Tensor], Tensor]
    sampler: Sampler
    directions: tuple[int, ...] = (UNDER, OVER)
    kernel_op: str | None = None

    def __post_init__(self) -> None:
        if self.kernel_op is not None and self.kernel_op not in _KERNEL_OPS:
            raise ValueError(
                f"`kernel_op` of family {self.name!r} must be None or one of {sorted(_KERNEL_OPS)}, "
                f"got {self.kernel_op!r}."
            )
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("`name` must be a non-empty string.")
        if not callable(self.curve):
            raise TypeError(f"`curve` of family {self.name!r} must be callable.")
        if not callable(self.sampler):
            raise TypeError(f"`sampler` of family {self.name!r} must be callable.")
        dirs = tuple(self.directions)
        if not dirs or any(d not in (UNDER, OVER) for d in dirs) or len(set(dirs)) != len(dirs):
            raise ValueError(
                f"`directions` of family {self.name!r} must be a non-empty subset of (UNDER, OVER) = "
                f"(0, 1), got {self.directions!r}."
            )
        object.__setattr__(self, "directions", dirs)

    @classmethod
    def uniform(
        cls,
        name: str,
        curve: Callable[[Tensor, Tensor], Tensor],
        *,
        under: tuple[float, float] | None = None,
        over: tuple[float, float] | None = None,
        minimum: float | None = None,
        kernel_op: str | None = None,
    ) -> CurveFamily:
        """A family whose parameter is uniform on ``under`` (darkening) or ``over`` (brightening).

        Args:
            name: identifier.
            curve: ``curve(images, params)``.
            under: ``(low, high)`` range giving under-exposed negatives, or ``None``.
            over: ``(low, high)`` range giving over-exposed negatives, or ``None``.
            minimum: lower bound applied to draws (e.g. to keep a gamma strictly positive).
            kernel_op: see the class docstring.
        """
        dirs = tuple(d for d, r in ((UNDER, under), (OVER, over)) if r is not None)
        if not dirs:
            raise ValueError(f"family {name!r}: give at least one of `under` and `over`.")
        for label, r in (("under", under), ("over", over)):
            if r is not None and (len(r) != 2 or float(r[0]) > float(r[1])):
                raise ValueError(
                    f"family {name!r}: `{label}` must be a (low, high) pair, got {r!r}."
                )
        return cls(name, curve, _uniform_sampler(under, over, minimum), dirs, kernel_op)


# ------------------------------------------------------------------------------------ PIE preset


def _hsv_value_power(images: Tensor, k: Tensor) -> Tensor:
    # A grey image is its own HSV value.
    if images.shape[-3] == 1:
        return gamma(images, k)
    return value_curve(images, gamma, gamma=k)


#: Smallest RGB gamma the PIE preset draws: U(0, 0.2) may return 0, which is not a valid exponent.
PIE_MIN_GAMMA = 1e-3


def pie_families() -> list[CurveFamily]:
    """The three curve families of PIE's released code, each dark or bright.

    - ``hsv_power``: :math:`V' = V^k` on HSV value, ``k = 6`` (dark) or ``0.1`` (bright);
    - ``rgb_gamma``: :math:`x' = x^\\gamma` per RGB channel, ``gamma ~ U(5, 8)`` (dark) or
      ``U(0, 0.2)`` (bright, floored at :data:`PIE_MIN_GAMMA`; gamma near 0 makes the image almost
      white, as in the original);
    - ``log``: PIE's log curve :func:`~pyisp_contrast.isp.curves.log_curve` per RGB channel,
      ``a = 10`` (dark) or ``40`` (bright).

    Example:
        >>> [f.name for f in pie_families()]
        ['hsv_power', 'rgb_gamma', 'log']
    """
    return [
        CurveFamily.uniform(
            "hsv_power",
            _hsv_value_power,
            under=(6.0, 6.0),
            over=(0.1, 0.1),
            kernel_op="value_power",
        ),
        CurveFamily.uniform(
            "rgb_gamma",
            gamma,
            under=(5.0, 8.0),
            over=(0.0, 0.2),
            minimum=PIE_MIN_GAMMA,
            kernel_op="gamma",
        ),
        CurveFamily.uniform(
            "log", log_curve, under=(10.0, 10.0), over=(40.0, 40.0), kernel_op="log_curve"
        ),
    ]


# ------------------------------------------------------------------------------------------ record


@dataclass
class CurveRecord:
    """What the bank drew for each negative; all tensors are ``(B, K)``.

    Attributes:
        family: index into ``names`` of the family applied.
        names: family names of the bank, in order.
        params: the curve parameter used.
        exposure: :data:`UNDER` (0) or :data:`OVER` (1): the direction the parameter was drawn
            for. It is the family's setting, not a measurement: PIE's bright log curve
            (``a = 40``) lifts shadows and mid-tones but maps white to 0.87.
        difference: mean absolute luma difference between negative and positive.
    """

    family: Tensor
    names: tuple[str, ...]
    params: Tensor
    exposure: Tensor
    difference: Tensor = field(default_factory=lambda: torch.empty(0))

    def family_names(self) -> list[list[str]]:
        """Family names as a ``B x K`` nested list."""
        return [[self.names[i] for i in row] for row in self.family.tolist()]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python containers (JSON-serialisable)."""
        return {
            "names": list(self.names),
            "family": self.family.tolist(),
            "params": self.params.detach().double().cpu().tolist(),
            "exposure": self.exposure.tolist(),
            "difference": self.difference.detach().double().cpu().tolist(),
        }

    def as_rows(self) -> list[dict[str, Any]]:
        """One dict per negative: ``image, k, family, param, exposure ('under'/'over'), difference``."""
        rows = []
        fam, par = self.family.tolist(), self.params.detach().double().cpu().tolist()
        exp = self.exposure.tolist()
        diff = self.difference.detach().double().cpu().tolist() if self.difference.numel() else None
        for b, row in enumerate(fam):
            for k, f in enumerate(row):
                rows.append(
                    {
                        "image": b,
                        "k": k,
                        "family": self.names[f],
                        "param": par[b][k],
                        "exposure": "over" if exp[b][k] == OVER else "under",
                        "difference": None if diff is None else diff[b][k],
                    }
                )
        return rows

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CurveRecord:
        """Rebuild a record written by :meth:`to_dict`."""
        return cls(
            family=torch.tensor(d["family"], dtype=torch.long),
            names=tuple(d["names"]),
            params=torch.tensor(d["params"], dtype=torch.float64),
            exposure=torch.tensor(d["exposure"], dtype=torch.long),
            difference=torch.tensor(d.get("difference", []), dtype=torch.float64),
        )


# ------------------------------------------------------------------------------------------ sampling


def _check_families(families: Sequence[CurveFamily]) -> list[CurveFamily]:
    fams = list(families)
    if not fams:
        raise ValueError("`families` is empty; give at least one CurveFamily.")
    for f in fams:
        if not isinstance(f, CurveFamily):
            raise TypeError(f"`families` must hold CurveFamily objects, got {type(f).__name__}.")
    names = [f.name for f in fams]
    if len(set(names)) != len(names):
        raise ValueError(f"family names must be unique, got {names}.")
    return fams


def _apply(x: Tensor, fams: list[CurveFamily], fam_idx: Tensor, params: Tensor) -> Tensor:
    """Apply family ``fam_idx[n]`` with ``params[n]`` to ``x[n]``; one call per family."""
    out = None
    for i, fam in enumerate(fams):
        sel = (fam_idx == i).nonzero().flatten()
        if sel.numel() == 0:
            continue
        y = fam.curve(x.index_select(0, sel), params.index_select(0, sel)).to(x.dtype)
        if sel.numel() == x.shape[0]:
            return y
        if out is None:
            out = y.new_empty(x.shape)
        out = out.index_copy(0, sel, y)
    assert out is not None  # every negative has a family
    return out


#: The fused kernel is used from this many negative elements (N * C * H * W) up: below it the
#: torch path is fast enough, and the kernel's one-off compile (or cache load, seconds) dominates.
KERNEL_MIN_ELEMENTS = 1 << 21


def _use_kernel(x: Tensor, fams: list[CurveFamily], n_neg: int) -> bool:
    return (
        x.device.type == "cpu"
        and n_neg * x[0].numel() >= KERNEL_MIN_ELEMENTS
        and x.dtype in (torch.float32, torch.float64)
        and not (x.requires_grad and torch.is_grad_enabled())
        and all(f.kernel_op is not None for f in fams)
    )


def _run(
    x: Tensor, src: Tensor, fams: list[CurveFamily], fam_idx: Tensor, params: Tensor, fused: bool
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Negatives of ``x[src]`` and their mean absolute luma difference; input stats when fused."""
    if not fused:
        xs = x.index_select(0, src)
        neg = _apply(xs, fams, fam_idx, params)
        return neg, _mean_abs_luma_diff(neg, xs), None
    from . import _boc_kernel as K
    from .curves import _VALUE_EPS, POW_EPS

    b, c, h, w = x.shape
    npix = h * w
    n = src.shape[0]
    nch = K.n_chunks(npix)
    xn = x.detach().contiguous().reshape(b, c, npix).numpy()
    out = torch.empty((n, c, h, w), dtype=x.dtype)
    codes = torch.tensor([_KERNEL_OPS[f.kernel_op] for f in fams], dtype=torch.int64)  # type: ignore[index]
    diff_parts = np.zeros((n, nch), dtype=np.float64)
    stats_parts = np.zeros((n, nch, 3), dtype=np.float64)
    stats_parts[..., 0] = np.inf
    stats_parts[..., 1] = -np.inf
    consts = np.array([POW_EPS, _VALUE_EPS], dtype=xn.dtype)
    K.boc_kernel(
        xn,
        src.numpy(),
        codes[fam_idx].numpy(),
        params.detach().numpy(),
        consts,
        out.numpy().reshape(n, c, npix),
        diff_parts,
        stats_parts,
    )
    diff = torch.from_numpy(diff_parts.sum(axis=1) / npix).to(x.dtype)
    stats = torch.from_numpy(
        np.array([stats_parts[..., 0].min(), stats_parts[..., 1].max(), stats_parts[..., 2].sum()])
    )
    return out, diff, stats


def _draw(
    fams: list[CurveFamily],
    exposure: Tensor,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
    names: Sequence[str],
) -> tuple[Tensor, Tensor]:
    """Draw a family (uniform among those supporting the direction) and a parameter per label."""
    n = exposure.shape[0]
    fam_idx = torch.empty(n, dtype=torch.long, device=device)
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    for d in (UNDER, OVER):
        eligible = [i for i, f in enumerate(fams) if d in f.directions]
        mask = exposure == d
        if not eligible:
            if bool(mask.any()):
                raise ValueError(
                    f"no family in {list(names)} produces {'over' if d else 'under'}-exposure."
                )
            continue
        choice = (u * len(eligible)).long().clamp_max(len(eligible) - 1)
        table = torch.tensor(eligible, dtype=torch.long, device=device)
        fam_idx = torch.where(mask, table[choice], fam_idx)
    params = torch.empty(n, dtype=dtype, device=device)
    for i, fam in enumerate(fams):
        sel = (fam_idx == i).nonzero().flatten()
        if sel.numel() == 0:
            continue
        p = fam.sampler(generator, int(sel.numel()), device, dtype, exposure.index_select(0, sel))
        if not isinstance(p, Tensor) or p.shape != (sel.numel(),):
            raise ValueError(
                f"sampler of family {fam.name!r} must return a ({sel.numel()},) tensor, "
                f"got {getattr(p, 'shape', type(p).__name__)}."
            )
        params = params.index_copy(0, sel, p.to(device=device, dtype=dtype))
    return fam_idx, params


def _mean_abs_luma_diff(a: Tensor, b: Tensor) -> Tensor:
    return (luma(a) - luma(b)).abs().flatten(1).mean(dim=1)


def sample_negatives(
    images: Tensor,
    families: Sequence[CurveFamily],
    *,
    k: int = 1,
    under_ratio: float = 0.5,
    per_image: bool = True,
    min_difference: float = DEFAULT_MIN_DIFFERENCE,
    max_tries: int = 8,
    strict: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, CurveRecord]:
    """Draw ``k`` exposure negatives per image from a bank of curve families.

    For each negative: an exposure direction (under with probability ``under_ratio``), a family
    uniformly among those that can produce it, and a parameter from the family's sampler. Negatives
    closer to their positive than ``min_difference`` (mean absolute luma difference) are redrawn up
    to ``max_tries`` times in the same direction, then up to ``max_tries`` times in the other one.

    Args:
        images: positives ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        families: the bank (e.g. :func:`pie_families`).
        k: negatives per image.
        under_ratio: probability of an under-exposed negative, in [0, 1]. A bank whose families
            only darken (or only brighten) always draws that direction.
        per_image: draw per image (``True``) or share each of the ``k`` draws across the batch
            (``False``; images whose shared draw lands too close are redrawn on their own).
        min_difference: margin in [0, 1); ``0`` switches the redraws off.
        max_tries: redraws per direction before giving up.
        strict: raise ``ValueError`` when some negative still misses the margin (e.g. a flat black
            image); with ``False`` it is returned and its ``record.difference`` shows it.
        generator: source of all randomness; the same seed and images give the same result.

    Returns:
        ``negatives`` ``(B, K, C, H, W)`` (``(K, C, H, W)`` for unbatched input) and a
        :class:`CurveRecord` with ``(B, K)`` tensors (``(1, K)`` for unbatched input).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(2, 3, 8, 8, generator=g) * 0.6 + 0.2
        >>> neg, rec = sample_negatives(x, pie_families(), k=3, generator=g)
        >>> neg.shape, rec.params.shape
        (torch.Size([2, 3, 3, 8, 8]), torch.Size([2, 3]))
        >>> bool((rec.difference >= 0.1).all())
        True
    """
    fams = _check_families(families)
    with value_checks(False):
        x, unb = check_image(images, "images")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` must be a positive int (negatives per image), got {k!r}.")
    fused = _use_kernel(x, fams, x.shape[0] * k)
    if not fused:
        # The fused kernel gathers the value statistics in its own pass; elsewhere check now.
        check_image(x, "images")
    names = tuple(f.name for f in fams)
    if not 0.0 <= float(under_ratio) <= 1.0:
        raise ValueError(f"`under_ratio` must lie in [0, 1], got {under_ratio}.")
    if not 0.0 <= float(min_difference) < 1.0:
        raise ValueError(f"`min_difference` must lie in [0, 1), got {min_difference}.")
    if isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 0:
        raise ValueError(f"`max_tries` must be a non-negative int, got {max_tries!r}.")
    generator = check_generator(generator, x.device)
    supported = {d for f in fams for d in f.directions}
    ratio = float(under_ratio)
    if supported != {UNDER, OVER}:
        # A bank that only darkens (or only brightens) draws that direction always; asking for
        # nothing but the other one is a contradiction.
        only = next(iter(supported))
        if ratio == (1.0 if only == OVER else 0.0):
            missing = "under" if only == OVER else "over"
            raise ValueError(
                f"`under_ratio`={under_ratio} asks for {missing}-exposure only, but no family in "
                f"{list(names)} produces {missing}-exposure."
            )
        ratio = 1.0 if only == UNDER else 0.0
    b = x.shape[0]
    n = b * k
    device, dtype = x.device, x.dtype

    # Negative n = image n // k, draw n % k.
    src = torch.arange(b, device=device).repeat_interleave(k)
    checks_on = value_checks_enabled()
    with value_checks(False):  # images are checked once, above or by the kernel
        if per_image:
            exposure = _exposure_labels(n, ratio, generator, device)
            fam_idx, params = _draw(fams, exposure, generator, device, dtype, names)
        else:
            exposure_k = _exposure_labels(k, ratio, generator, device)
            fam_k, params_k = _draw(fams, exposure_k, generator, device, dtype, names)
            exposure, fam_idx, params = (t.repeat(b) for t in (exposure_k, fam_k, params_k))
        neg, diff, stats = _run(x, src, fams, fam_idx, params, fused)
        if stats is not None and checks_on:
            _check_stats(stats)

        if min_difference > 0:
            for attempt in range(2 * max_tries):
                bad = (diff < min_difference).nonzero().flatten()
                if bad.numel() == 0:
                    break
                if attempt == max_tries and len(supported) == 2:
                    # This direction cannot move these images enough (e.g. brightening a
                    # near-white photo): try the other one.
                    flipped = 1 - exposure.index_select(0, bad)
                    exposure = exposure.index_copy(0, bad, flipped)
                e_bad = exposure.index_select(0, bad)
                f_new, p_new = _draw(fams, e_bad, generator, device, dtype, names)
                y_new, d_new, _ = _run(x, src.index_select(0, bad), fams, f_new, p_new, fused)
                fam_idx = fam_idx.index_copy(0, bad, f_new)
                params = params.index_copy(0, bad, p_new)
                neg = neg.index_copy(0, bad, y_new)
                diff = diff.index_copy(0, bad, d_new)
            short = (diff < min_difference).nonzero().flatten()
            if strict and short.numel():
                imgs = sorted({int(i) // k for i in short.tolist()})
                raise ValueError(
                    f"images {imgs} cannot be moved by `min_difference`={min_difference} by any family "
                    f"of {list(names)} (flat black or nearly flat images?); drop them, lower "
                    "`min_difference`, or pass strict=False and inspect record.difference."
                )

    record = CurveRecord(
        family=fam_idx.reshape(b, k),
        names=names,
        params=params.detach().reshape(b, k),
        exposure=exposure.reshape(b, k),
        difference=diff.detach().reshape(b, k),
    )
    neg = neg.reshape(b, k, *x.shape[1:])
    return (neg[0] if unb else neg), record


def _check_stats(stats: Tensor) -> None:
    lo, hi, nonfinite = stats.tolist()
    if nonfinite:
        raise ValueError(
            "`images` contains NaN or inf values; clean the input (e.g. torch.nan_to_num)."
        )
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"`images` must hold values in [0, 1], got min {lo:.4g} and max {hi:.4g}; "
            "divide 8-bit images by 255 or clamp with `images.clamp(0, 1)`."
        )


def _exposure_labels(
    n: int, under_ratio: float, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    return (u >= float(under_ratio)).long()


def apply_record(images: Tensor, families: Sequence[CurveFamily], record: CurveRecord) -> Tensor:
    """Re-apply the draws of ``record`` to ``images``: reproduces :func:`sample_negatives`' output.

    Args:
        images: the positives ``(B, C, H, W)`` (or ``(C, H, W)`` for a ``(1, K)`` record).
        families: the same bank, in the same order (names are checked).
        record: from :func:`sample_negatives` or :meth:`CurveRecord.from_dict`.

    Returns:
        ``(B, K, C, H, W)`` negatives (``(K, C, H, W)`` for unbatched input).
    """
    x, unb = check_image(images, "images")
    fams = _check_families(families)
    names = tuple(f.name for f in fams)
    if tuple(record.names) != names:
        raise ValueError(f"record was drawn from families {list(record.names)}, not {list(names)}.")
    if record.family.ndim != 2 or record.family.shape[0] != x.shape[0]:
        raise ValueError(
            f"record holds {tuple(record.family.shape)} draws but `images` has batch {x.shape[0]}."
        )
    b, k = record.family.shape
    src = torch.arange(b, device=x.device).repeat_interleave(k)
    fam_idx = record.family.reshape(-1).to(x.device)
    params = record.params.reshape(-1).to(device=x.device, dtype=x.dtype)
    with value_checks(False):
        neg, _, _ = _run(x, src, fams, fam_idx, params, _use_kernel(x, fams, b * k))
        neg = neg.reshape(b, k, *x.shape[1:])
    return neg[0] if unb else neg


class BagOfCurves(nn.Module):
    """Module form of :func:`sample_negatives`: holds the bank and its options.

    ``forward(images, k=1, generator=None)`` and :meth:`sample` are the same call.

    Args:
        families: curve families (see :func:`pie_families` and :meth:`pie`).
        under_ratio, per_image, min_difference, max_tries, strict: see :func:`sample_negatives`.

    Example:
        >>> boc = BagOfCurves.pie()
        >>> g = torch.Generator().manual_seed(0)
        >>> neg, rec = boc.sample(torch.rand(4, 3, 16, 16, generator=g), k=2, generator=g)
        >>> neg.shape, rec.exposure.shape
        (torch.Size([4, 2, 3, 16, 16]), torch.Size([4, 2]))
    """

    def __init__(
        self,
        families: Sequence[CurveFamily],
        under_ratio: float = 0.5,
        per_image: bool = True,
        min_difference: float = DEFAULT_MIN_DIFFERENCE,
        *,
        max_tries: int = 8,
        strict: bool = True,
    ) -> None:
        super().__init__()
        self.families = _check_families(families)
        if not 0.0 <= float(under_ratio) <= 1.0:
            raise ValueError(f"`under_ratio` must lie in [0, 1], got {under_ratio}.")
        if not 0.0 <= float(min_difference) < 1.0:
            raise ValueError(f"`min_difference` must lie in [0, 1), got {min_difference}.")
        self.under_ratio = float(under_ratio)
        self.per_image = bool(per_image)
        self.min_difference = float(min_difference)
        self.max_tries = max_tries
        self.strict = strict

    @classmethod
    def pie(cls, **kwargs: Any) -> BagOfCurves:
        """The bank of PIE's released code (:func:`pie_families`), dark or bright with equal odds."""
        return cls(pie_families(), **kwargs)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.families)

    def sample(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, CurveRecord]:
        """Draw ``k`` negatives per image; see :func:`sample_negatives`."""
        return sample_negatives(
            images,
            self.families,
            k=k,
            under_ratio=self.under_ratio,
            per_image=self.per_image,
            min_difference=self.min_difference,
            max_tries=self.max_tries,
            strict=self.strict,
            generator=generator,
        )

    def forward(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, CurveRecord]:
        return self.sample(images, k=k, generator=generator)

    def apply_record(self, images: Tensor, record: CurveRecord) -> Tensor:
        """Reproduce the negatives of ``record``; see :func:`apply_record`."""
        return apply_record(images, self.families, record)

    def extra_repr(self) -> str:
        return (
            f"families={list(self.names)}, under_ratio={self.under_ratio}, per_image={self.per_image}, "
            f"min_difference={self.min_difference}"
        )
