"""The Bag of Curves: physically valid under- and over-exposed negatives from well-exposed images.

PIE (Liang et al., "Physics-inspired contrastive learning for low-light enhancement", IJCV 2024,
arXiv 2404.04586) trains an enhancer contrastively: its negatives are well-exposed photos pushed to
bad exposure by ISP tone curves drawn from a *Bag of Curves* (BoC). Tone curves are monotone and map
[0, 1] onto [0, 1], so a negative looks like the same scene photographed with a wrong exposure or
tone mapping, never like a different scene.

The Bag of Curves is the one-parameter case of the bags of :mod:`pyisp_contrast.isp.bags`: a
:class:`CurveFamily` is a :class:`~pyisp_contrast.isp.bags.DegradationFamily` whose degradation is a
tone curve with one number for parameter, drawn per exposure direction; :class:`BagOfCurves` is a
:class:`~pyisp_contrast.isp.bags.DegradationBag` of them (and :func:`sample_negatives` its function
form). For each image and each of ``k`` negatives it draws an exposure direction, a family able to
produce it and a parameter, applies the curves in one vectorised pass per family, and returns the
negatives with a :class:`CurveRecord` saying what was drawn, so a run can be logged and reproduced
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

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pyisp_contrast.core.checks import check_extremes, value_checks_enabled
from pyisp_contrast.core.color import luma
from pyisp_contrast.core.threads import follow_torch_threads

from .bags import (
    OVER,
    UNDER,
    DegradationBag,
    DegradationFamily,
    DegradationRecord,
    Degrade,
    Runner,
)
from .curves import POW_EPS, VALUE_EPS, gamma, log_curve, value_curve

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

#: Default margin: mean absolute luma difference between a negative and its positive.
DEFAULT_MIN_DIFFERENCE = 0.1

#: Built-in curves the fused CPU kernel computes: ``CurveFamily.kernel_op`` name -> the kernel's
#: operation code (the kernel module reads its codes from here).
KERNEL_OPS: dict[str, int] = {"value_power": 0, "gamma": 1, "log_curve": 2}

#: ``sampler(generator, n, device, dtype, exposure) -> (n,) parameters``.
Sampler = Callable[[torch.Generator | None, int, torch.device, torch.dtype, Tensor], Tensor]

#: Name of a curve's one parameter among a bag's parameters.
_PARAM = "param"


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
class _OneParameter:
    """``apply`` of a :class:`CurveFamily`: the curve with the family's one parameter."""

    curve: Callable[[Tensor, Tensor], Tensor]

    def __call__(self, images: Tensor, params: dict[str, Tensor]) -> Tensor:
        return self.curve(images, params[_PARAM])


@dataclass(frozen=True, init=False, repr=False)
class CurveFamily(DegradationFamily):
    """A family of tone curves with a one-number parameter and its distribution.

    The one-parameter case of :class:`~pyisp_contrast.isp.bags.DegradationFamily`: its
    degradation is ``curve(images, params)`` and its sampler draws one number per negative,
    recorded as the parameter ``"param"`` (:attr:`CurveRecord.params`).

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

    apply: Degrade = field(init=False, repr=False, compare=False)
    sampler: Sampler  # type: ignore[assignment]
    directions: tuple[int, ...] = (UNDER, OVER)
    curve: Callable[[Tensor, Tensor], Tensor] = field(default=None)  # type: ignore[assignment]
    kernel_op: str | None = None

    def __init__(
        self,
        name: str,
        curve: Callable[[Tensor, Tensor], Tensor],
        sampler: Sampler,
        directions: tuple[int, ...] = (UNDER, OVER),
        kernel_op: str | None = None,
    ) -> None:
        for key, value in (
            ("name", name),
            ("curve", curve),
            ("sampler", sampler),
            ("directions", directions),
            ("kernel_op", kernel_op),
            ("apply", _OneParameter(curve)),
        ):
            object.__setattr__(self, key, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.kernel_op is not None and self.kernel_op not in KERNEL_OPS:
            raise ValueError(
                f"`kernel_op` of family {self.name!r} must be None or one of {sorted(KERNEL_OPS)}, "
                f"got {self.kernel_op!r}."
            )
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("`name` must be a non-empty string.")
        if not callable(self.curve):
            raise TypeError(f"`curve` of family {self.name!r} must be callable.")
        if self.directions is None:
            raise ValueError(
                f"`directions` of family {self.name!r} must be a non-empty subset of (UNDER, OVER) "
                "= (0, 1), got None."
            )
        super().__post_init__()

    def __repr__(self) -> str:
        return (
            f"CurveFamily(name={self.name!r}, curve={self.curve!r}, sampler={self.sampler!r}, "
            f"directions={self.directions!r}, kernel_op={self.kernel_op!r})"
        )

    def draw(
        self,
        generator: torch.Generator | None,
        n: int,
        device: torch.device,
        dtype: torch.dtype,
        direction: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """``{"param": (n,)}``: the sampler's parameters for the exposure labels ``direction``."""
        p = self.sampler(generator, n, device, dtype, direction)
        if not isinstance(p, Tensor) or p.shape != (n,):
            raise ValueError(
                f"sampler of family {self.name!r} must return a ({n},) tensor, "
                f"got {getattr(p, 'shape', type(p).__name__)}."
            )
        return {_PARAM: p.to(device=device, dtype=dtype)}

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


@dataclass(init=False, repr=False)
class CurveRecord(DegradationRecord):
    """What the bank drew for each negative; all tensors are ``(B, K)``.

    The one-parameter case of :class:`~pyisp_contrast.isp.bags.DegradationRecord`: ``params``
    holds the curve parameter itself (:meth:`named_params` gives it as ``{"param": params}``) and
    the direction is called ``exposure``.

    Attributes:
        family: index into ``names`` of the family applied.
        names: family names of the bank, in order.
        params: the curve parameter used.
        exposure: :data:`UNDER` (0) or :data:`OVER` (1): the direction the parameter was drawn
            for. It is the family's setting, not a measurement: PIE's bright log curve
            (``a = 40``) lifts shadows and mid-tones but maps white to 0.87.
        difference: mean absolute luma difference between negative and positive.
    """

    params: Tensor  # type: ignore[assignment]

    def __init__(
        self,
        family: Tensor,
        names: tuple[str, ...],
        params: Tensor,
        exposure: Tensor | None = None,
        difference: Tensor | None = None,
        *,
        direction: Tensor | None = None,
    ) -> None:
        if exposure is not None and direction is not None:
            raise TypeError("give `exposure` or its generic name `direction`, not both.")
        exposure = direction if exposure is None else exposure
        if exposure is None:
            raise TypeError("CurveRecord needs `exposure`, the (B, K) exposure labels.")
        self.family = family
        self.names = names
        self.params = params
        self.direction = exposure
        self.difference = torch.empty(0) if difference is None else difference

    @property
    def exposure(self) -> Tensor:
        """The exposure labels (the record's ``direction``)."""
        assert self.direction is not None
        return self.direction

    @exposure.setter
    def exposure(self, value: Tensor) -> None:
        self.direction = value

    def __repr__(self) -> str:
        return (
            f"CurveRecord(family={self.family!r}, names={self.names!r}, params={self.params!r}, "
            f"exposure={self.direction!r}, difference={self.difference!r})"
        )

    @classmethod
    def _from_draws(
        cls,
        family: Tensor,
        names: tuple[str, ...],
        params: dict[str, Tensor],
        direction: Tensor | None,
        difference: Tensor,
    ) -> CurveRecord:
        return cls(family, names, params[_PARAM], direction, difference)

    def named_params(self) -> dict[str, Tensor]:
        """``{"param": params}``: the parameter by name, as a bag replays it."""
        return {_PARAM: self.params}

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
        return self._rows("exposure", always_difference=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CurveRecord:
        """Rebuild a record written by :meth:`to_dict`."""
        return cls(
            family=torch.tensor(d["family"], dtype=torch.long),
            names=tuple(d["names"]),
            params=torch.tensor(d["params"], dtype=torch.float64),
            exposure=torch.tensor(d["exposure"], dtype=torch.long),
            difference=torch.tensor(d.get("difference", []), dtype=torch.float64),
        )


# ------------------------------------------------------------------------------------------ sampling


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


def _fused_run(
    x: Tensor, src: Tensor, fams: list[CurveFamily], fam_idx: Tensor, params: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Negatives of ``x[src]``, their mean absolute luma difference and ``x``'s value statistics
    (min, max, count of non-finite values), in one pass of the fused CPU kernel."""
    from . import _boc_kernel as K

    b, c, h, w = x.shape
    npix = h * w
    n = src.shape[0]
    nch = K.n_chunks(npix)
    xn = x.detach().contiguous().reshape(b, c, npix).numpy()
    out = torch.empty((n, c, h, w), dtype=x.dtype)
    codes = torch.tensor([KERNEL_OPS[f.kernel_op] for f in fams], dtype=torch.int64)  # type: ignore[index]
    diff_parts = np.zeros((n, nch), dtype=np.float64)
    stats_parts = np.zeros((n, nch, 3), dtype=np.float64)
    stats_parts[..., 0] = np.inf
    stats_parts[..., 1] = -np.inf
    consts = np.array([POW_EPS, VALUE_EPS], dtype=xn.dtype)
    kernel = K.boc_kernel_f32 if xn.dtype == np.float32 else K.boc_kernel
    follow_torch_threads()
    kernel(
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
    The same call as ``BagOfCurves(families, ...).sample(images, k, generator)``.

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
    bank = BagOfCurves(
        families,
        under_ratio,
        per_image,
        min_difference,
        max_tries=max_tries,
        strict=strict,
    )
    return bank.sample(images, k=k, generator=generator)


def _check_stats(stats: Tensor) -> None:
    """:func:`~pyisp_contrast.core.checks.check_image`'s value errors from the fused kernel's
    ``(min, max, count of non-finite values)``."""
    lo, hi, nonfinite = stats.tolist()
    check_extremes(lo, math.nan if nonfinite else hi)


def apply_record(images: Tensor, families: Sequence[CurveFamily], record: CurveRecord) -> Tensor:
    """Re-apply the draws of ``record`` to ``images``: reproduces :func:`sample_negatives`' output.

    The same call as ``BagOfCurves(families).apply_record(images, record)``.

    Args:
        images: the positives ``(B, C, H, W)`` (or ``(C, H, W)`` for a ``(1, K)`` record).
        families: the same bank, in the same order (names are checked).
        record: from :func:`sample_negatives` or :meth:`CurveRecord.from_dict`.

    Returns:
        ``(B, K, C, H, W)`` negatives (``(K, C, H, W)`` for unbatched input).
    """
    return BagOfCurves(families).apply_record(images, record)


class BagOfCurves(DegradationBag):
    """A bag of tone-curve families: exposure negatives with a :class:`CurveRecord`.

    The :class:`~pyisp_contrast.isp.bags.DegradationBag` of :class:`CurveFamily` objects, with a
    margin on by default. ``forward(images, k=1, generator=None)`` and :meth:`sample` are the same
    call; :func:`sample_negatives` is its function form.

    Args:
        families: curve families (see :func:`pie_families` and :meth:`pie`).
        under_ratio, per_image, min_difference, max_tries, strict: see :func:`sample_negatives`.
        weights: relative odds of the families among those able to produce the direction drawn;
            ``None`` (default): equal odds.

    Example:
        >>> boc = BagOfCurves.pie()
        >>> g = torch.Generator().manual_seed(0)
        >>> neg, rec = boc.sample(torch.rand(4, 3, 16, 16, generator=g), k=2, generator=g)
        >>> neg.shape, rec.exposure.shape
        (torch.Size([4, 2, 3, 16, 16]), torch.Size([4, 2]))
    """

    family_type = CurveFamily
    record_type = CurveRecord
    measure_difference = True

    families: list[CurveFamily]

    def __init__(
        self,
        families: Sequence[CurveFamily],
        under_ratio: float = 0.5,
        per_image: bool = True,
        min_difference: float = DEFAULT_MIN_DIFFERENCE,
        *,
        max_tries: int = 8,
        strict: bool = True,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            families,
            weights,
            under_ratio=under_ratio,
            per_image=per_image,
            min_difference=min_difference,
            max_tries=max_tries,
            strict=strict,
        )

    def _check_weights(self, weights: Sequence[float] | None) -> Tensor | None:
        # Equal odds draw family floor(u * m) of the m able ones, as the bank always has.
        return None if weights is None else super()._check_weights(weights)

    @classmethod
    def pie(cls, **kwargs: Any) -> BagOfCurves:
        """The bank of PIE's released code (:func:`pie_families`), dark or bright with equal odds."""
        return cls(pie_families(), **kwargs)

    def _runner(self, x: Tensor, n: int) -> Runner:
        if not _use_kernel(x, self.families, n):
            return super()._runner(x, n)
        # The fused kernel gathers the value statistics in its own pass: check them after the
        # first one (as check_image would have, before it).
        checks_on = value_checks_enabled()
        first = [True]

        def run(
            src: Tensor, fam_idx: Tensor, params: dict[str, Tensor]
        ) -> tuple[Tensor, Tensor | None]:
            neg, diff, stats = _fused_run(x, src, self.families, fam_idx, params[_PARAM])
            if first[0] and checks_on:
                _check_stats(stats)
            first[0] = False
            return neg, diff

        return run

    def sample(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, CurveRecord]:
        """Draw ``k`` negatives per image; see :func:`sample_negatives`."""
        neg, record = super().sample(images, k, generator)
        return neg, record  # type: ignore[return-value]

    def forward(
        self, images: Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, CurveRecord]:
        return self.sample(images, k=k, generator=generator)

    def apply_record(self, images: Tensor, record: DegradationRecord) -> Tensor:
        """Reproduce the negatives of ``record``; see :func:`apply_record`."""
        return super().apply_record(images, record)

    def extra_repr(self) -> str:
        w = (
            ""
            if self.weights is None
            else f", weights={[round(v, 3) for v in self.weights.tolist()]}"
        )
        return (
            f"families={list(self.names)}, under_ratio={self.under_ratio}, per_image={self.per_image}, "
            f"min_difference={self.min_difference}{w}"
        )
