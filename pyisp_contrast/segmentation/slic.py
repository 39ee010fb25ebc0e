"""Batched SLIC superpixels: numba kernels on CPU, torch on every other device.

SLIC (Achanta et al., "SLIC superpixels compared to state-of-the-art superpixel methods", IEEE
TPAMI 34(11), 2012, doi:10.1109/TPAMI.2012.120) is k-means on (colour, position) in which each
pixel only looks at the seeds around it. This implementation follows scikit-image's conventions
(:func:`skimage.segmentation.slic`) where they matter to users:

* each image is first rescaled to ``[0, 1]`` by its own minimum and maximum, so ``compactness`` does
  not depend on exposure (a dark photo is segmented like its brightened copy);
* 3-channel images are converted to CIELAB (D65, kornia's constants), 1-channel images are used as
  they are; the distance is ``d_colour**2 / compactness**2 + d_xy**2 / S**2`` with ``S`` the grid
  step, so larger ``compactness`` gives more regular, square superpixels. Useful ranges as in
  scikit-image: about 1-40 for Lab, about 0.01-0.3 for grey images (whose values lie in [0, 1]).

and differs where users asked for predictability:

* **Seed count.** For ``n_segments = n`` on an ``H x W`` image the seeds form a grid of
  ``gy = round(sqrt(n * H / W))`` rows by ``gx = round(sqrt(n * W / H))`` columns (each clamped to
  ``[1, H]`` / ``[1, W]``; rounding half up) whose cells tile the image exactly (cell sizes differ
  by at most one pixel). See :func:`slic_grid`. After connectivity enforcement the number of
  segments equals ``gy * gx`` on images whose clusters stay connected (e.g. flat or piecewise-
  constant images aligned with the grid) and stays close to it on photos (within 10% on the
  test suite's photo): clusters split into two large parts add segments, and strong noise
  removes some, because it fragments clusters and the fragments are merged. scikit-image's
  count falls further below ``n_segments``. Measured counts for both, on photos of several
  sizes: the superpixel benchmark (``benchmarks/bench_superpixels.py``, columns ``K``).
* **Search window.** Every pixel is compared with the 9 seeds of its own grid cell and the 8 cells
  around it (as in SSN and fast-slic) instead of every seed within ``2S``; the result is the same
  k-means objective with a slightly smaller window, and it is what makes the CPU path fast.
* **Initial centres** are the mean features of each grid cell (scikit-image samples the pixel at
  the cell centre), which makes the result less sensitive to noise.
* **Iterations** (``subsample_stride = s``, default 4). Every pixel starts in its own grid cell.
  Each of the first ``max_iter - 1`` iterations re-assigns one row in ``s`` (rows
  ``y % s == i % s`` at iteration ``i``; the other pixels keep their cluster) and then moves every
  centre to the exact mean of all its pixels; the last iteration re-assigns every pixel. Both
  steps can only lower the k-means objective (a partial assignment step), and each iteration
  costs about ``1/s`` of a full one. ``s = 1`` is classical k-means on every pixel (the labels of
  earlier releases). Averaging only the re-assigned rows instead (as row-subsampled SLIC does)
  pulls the centres towards those rows. On the superpixel benchmark's synthetic set ``s = 4``
  has higher boundary recall and lower undersegmentation error than ``s = 1``, and explained
  variation on photos 0.005 lower (``benchmarks/results/superpixels.json``, quality table).
* **Labels** are numbered ``0 .. K_b - 1`` in raster order of each segment's first pixel.

Connectivity: 4-connected components of at least ``min_size_factor * H * W / (gy * gx)`` pixels
keep their own label, and so does the one holding the top-left pixel; every smaller component
joins, whole, the component holding the pixel above its first pixel (in raster order; the pixel to
its left in the top row). This is scikit-image's rule; it runs on runs of equal labels on CPU and
with pointer jumping on other devices.

CPU and other devices run the same algorithm with the same tie-breaking (the first of the 9
candidate seeds in raster order wins an exact tie). Features are quantised to multiples of
``2**-16`` so every centre sum is exact (float64 on the numba path, int64 fixed point on the torch
path) and independent of summation order: given the same features the two paths give identical
labels on every device (tested). **GPU timing is pending**: the torch path has no host sync in
its k-means loop and is tested on CPU and, where CUDA is present, against the CPU path, but has
not been timed on a GPU since it changed (issue 13 asks <= 2 ms for one 1024x1024 image and <= 5
ms for 16 x 384 x 384 on an H200; ``bench_superpixels.py --device cuda`` measures both). The numba path computes Lab with its
own kernel (kornia's formula and constants, with the two power laws computed by a vectorisable
polynomial and one Newton step, which is faster on CPU than kornia's tensor version), which may
differ from kornia's in the last float32 bits (as much as torch.pow itself differs from float64); a
pixel whose quantised feature lands on the other side of a rounding step can then change a
near-tie, so end-to-end labels agree on > 99.5% of pixels rather than all (tested).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from typing import NamedTuple

import kornia
import numpy as np
import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    as_batch_param,
    check_extremes,
    check_float,
    check_generator,
    check_image,
    check_int,
    value_checks,
    value_checks_enabled,
)
from pyisp_contrast.segmentation.regions import relabel_sequential

__all__ = ["SLIC", "Superpixels", "slic", "slic_grid"]

#: Features (colour and position) are rounded to multiples of ``1 / FEATURE_QUANTUM`` = 2**-16 in
#: both paths, torch and numba, so float64 sums of them are exact and the paths agree bit for bit.
FEATURE_QUANTUM = 65536.0

#: Default ``subsample_stride`` of :func:`slic`: k-means iterations but the last use one row in 4.
SUBSAMPLE_STRIDE = 4


class Superpixels(NamedTuple):
    """A batch of label maps.

    Attributes:
        labels: ``(B, H, W)`` int64, numbered ``0 .. K_b - 1`` per image without gaps.
        num_segments: ``(B,)`` int64, ``K_b`` per image.
    """

    labels: Tensor
    num_segments: Tensor


def slic_grid(height: int, width: int, n_segments: int) -> tuple[int, int]:
    """The seed grid ``(rows, columns)`` that :func:`slic` uses for ``n_segments`` seeds.

    Example:
        >>> slic_grid(512, 512, 400), slic_grid(768, 1024, 400)
        ((20, 20), (17, 23))
    """
    gy = math.floor(math.sqrt(n_segments * height / width) + 0.5)
    gx = math.floor(math.sqrt(n_segments * width / height) + 0.5)
    return min(max(gy, 1), height), min(max(gx, 1), width)


@functools.lru_cache(maxsize=16)
def grid_geometry(h: int, w: int, gy: int, gx: int, sy: float, sx: float) -> dict[str, np.ndarray]:
    """Tables of the ``gy x gx`` seed grid on an ``h x w`` image with pixel spacing ``(sy, sx)``,
    shared by :func:`slic`'s two paths and :func:`~pyisp_contrast.segmentation.soft_slic`
    (cached per image size and grid): each pixel's cell, each cell's 3x3 neighbours, quantised
    coordinates and the cell bounds."""
    y_bounds = (np.arange(gy + 1) * h) // gy
    x_bounds = (np.arange(gx + 1) * w) // gx
    cell_y = np.searchsorted(y_bounds, np.arange(h), side="right") - 1
    cell_x = np.searchsorted(x_bounds, np.arange(w), side="right") - 1
    cellmap = (cell_y[:, None] * gx + cell_x[None, :]).reshape(-1).astype(np.int64)
    # Neighbour table in (dy, dx) raster order; off-grid neighbours repeat the cell itself, which
    # changes nothing (an equal candidate never wins a strict comparison).
    cy, cx = np.divmod(np.arange(gy * gx), gx)
    nbr = np.empty((gy * gx, 9), dtype=np.int64)
    s = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ny, nx = cy + dy, cx + dx
            ok = (ny >= 0) & (ny < gy) & (nx >= 0) & (nx < gx)
            nbr[:, s] = np.where(ok, ny * gx + nx, cy * gx + cx)
            s += 1
    step = max(h / gy, w / gx)
    q = np.float32(FEATURE_QUANTUM)
    ys = np.rint(np.arange(h, dtype=np.float32) * np.float32(sy / step) * q) / q
    xs = np.rint(np.arange(w, dtype=np.float32) * np.float32(sx / step) * q) / q
    coord_y = np.repeat(ys, w).astype(np.float32)
    coord_x = np.tile(xs, h).astype(np.float32)
    return {
        "key": (h, w, gy, gx),
        "cellmap": cellmap,
        "nbr": nbr,
        "coord_y": coord_y,
        "coord_x": coord_x,
        "y_bounds": y_bounds.astype(np.int64),
        "x_bounds": x_bounds.astype(np.int64),
        "ys": ys.astype(np.float32),
        "xs": xs.astype(np.float32),
        "x_prefix": np.concatenate([[0.0], np.cumsum(xs, dtype=np.float64)]),
    }


@functools.lru_cache(maxsize=16)
def phase_layout(h: int, w: int, gy: int, gx: int, stride: int) -> np.ndarray:
    """Where the numba path stores each pixel's features: (stride, K) int64 start offsets.

    Pixels are grouped by the phase ``y % stride`` of their row (the rows one k-means iteration
    re-assigns), then by grid cell, then row by row: ``start[phase, c]`` is the position of the
    first such row of cell ``c``, and each later row of that phase in the cell follows it, one cell
    width on. An iteration thus reads one contiguous quarter of the features (for stride 4), which
    the hardware prefetcher follows; with rows of all phases interleaved it read a quarter of the
    data at two thirds of the cost of reading all of it. ``stride = 1``: plain cell-major order.
    """
    y_bounds = (np.arange(gy + 1) * h) // gy
    x_bounds = (np.arange(gx + 1) * w) // gx
    y0, y1 = y_bounds[:-1], y_bounds[1:]
    phase = np.arange(stride)[:, None]
    rows = np.maximum(0, -(-(y1[None] - y0[None] - (phase - y0[None]) % stride) // stride))
    sizes = rows[:, :, None] * np.diff(x_bounds)[None, None, :]  # (stride, gy, gx) pixels
    flat = sizes.reshape(-1)
    return (np.cumsum(flat) - flat).reshape(stride, gy * gx).astype(np.int64)


def resolve_spacing_and_lab(
    spacing: Sequence[float] | None, convert2lab: bool | None, channels: int
) -> tuple[float, float, bool]:
    """Validate ``spacing`` (row, column) and resolve ``convert2lab`` (default: RGB input), for
    :func:`slic` and :func:`~pyisp_contrast.segmentation.soft_slic`."""
    if spacing is None:
        sy, sx = 1.0, 1.0
    else:
        if not isinstance(spacing, Sequence) or len(spacing) != 2:
            raise ValueError(
                f"`spacing` must be None or a pair (row, column) of floats, got {spacing!r}."
            )
        sy = check_float(spacing[0], "spacing", 0.0, low_open=True)
        sx = check_float(spacing[1], "spacing", 0.0, low_open=True)
    if convert2lab is None:
        convert2lab = channels == 3
    elif convert2lab and channels != 3:
        raise ValueError(
            f"`convert2lab=True` needs 3-channel RGB images, got {channels} channel(s)."
        )
    return sy, sx, bool(convert2lab)


def _min_range(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-image minimum and max - min (1 where flat), checked for NaN/inf and [0, 1] in one pass.

    ``aminmax`` propagates NaN and inf into the extremes, so checking the two (B,) results is a
    complete finiteness check without another pass over the image.
    """
    b = x.shape[0]
    if x.device.type == "cpu":  # numpy's SIMD min/max is several times faster than aminmax here
        arr = x.reshape(b, -1).numpy()
        lo, hi = torch.from_numpy(arr.min(1)), torch.from_numpy(arr.max(1))
    else:
        lo, hi = torch.aminmax(x.reshape(b, -1), dim=1)
    if value_checks_enabled():
        check_extremes(*torch.stack([lo.amin(), hi.amax()]).tolist())
    rng = hi - lo
    return lo, torch.where(rng > 0, rng, torch.ones_like(rng))


def _features_torch(
    x: Tensor, lo: Tensor, rng: Tensor, inv_m: Tensor, lab: bool, geo: dict
) -> Tensor:
    """(B, C, H, W) float32 -> (B, N, 5) quantised raster features (kornia Lab)."""
    b, _, h, w = x.shape
    x = (x - lo.view(b, 1, 1, 1)) / rng.view(b, 1, 1, 1)
    if lab:
        v = kornia.color.rgb_to_lab(x)
    else:
        v = torch.cat([x, torch.zeros_like(x), torch.zeros_like(x)], 1)
    v = torch.round(v * (inv_m.view(b, 1, 1, 1) * FEATURE_QUANTUM)) / FEATURE_QUANTUM
    dev = x.device
    cy = torch.from_numpy(geo["coord_y"]).to(dev).view(1, 1, h * w).expand(b, 1, h * w)
    cx = torch.from_numpy(geo["coord_x"]).to(dev).view(1, 1, h * w).expand(b, 1, h * w)
    return torch.cat([v.reshape(b, 3, h * w), cy, cx], 1).transpose(1, 2).contiguous()


_WORKSPACE = threading.local()


def _slic_numba_pad() -> int:
    from pyisp_contrast.segmentation import _slic_numba as nb

    return nb.BLOCK_PAD


def _workspace(b: int, n: int) -> dict[str, np.ndarray]:
    """Scratch arrays of the numba path (features, labels, slots), per thread, for the last (B, N).

    Arrays above glibc's mmap threshold (32 MiB, reached at 2048x2048) are returned to the system
    when freed, so allocating them at every call pays a page fault per 4 KiB page on every call;
    reusing them avoids that, at the cost of holding 20*B*N bytes between calls.
    """
    ws = getattr(_WORKSPACE, "arrays", None)
    if ws is None or ws["key"] != (b, n):
        ws = {
            "key": (b, n),
            # padded: the assignment reads (and ignores) a few pixels past each block
            "colour": np.zeros((b, 3, n + _slic_numba_pad()), dtype=np.float32),
            "labels": np.empty((b, n), dtype=np.int32),
            "slots": np.empty((b, n), dtype=np.int32),
        }
        _WORKSPACE.arrays = ws
    return ws


def _run_numba_core(
    colour_cm: np.ndarray,
    centres: np.ndarray,
    partial: np.ndarray,
    slots: np.ndarray,
    geo: dict,
    jitter: np.ndarray | None,
    max_iter: int,
    subsample_stride: int,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """k-means on cell-major colour features (B, 3, N) from the state ``features`` leaves
    (``centres``, ``partial``, ``slots``); returns raster labels (B, N) int32."""
    from pyisp_contrast.segmentation import _slic_numba as nb

    b, n = colour_cm.shape[0], geo["cellmap"].shape[0]
    if colour_cm.shape[2] < n + nb.BLOCK_PAD:  # the assignment reads past each block
        colour_cm = np.concatenate([colour_cm, np.zeros((b, 3, nb.BLOCK_PAD), np.float32)], 2)
    nbr = geo["nbr"]
    if jitter is not None:
        centres[..., 3:] += jitter
    labels = np.empty((b, n), dtype=np.int32) if labels is None else labels
    start = phase_layout(*geo["key"], subsample_stride)
    args = (geo["y_bounds"], geo["x_bounds"], start, geo["ys"], geo["xs"], geo["x_prefix"], nbr)
    args += (centres, labels, partial, slots)
    for i in range(max_iter - 1):
        nb.assign(colour_cm, *args, i % subsample_stride)
        nb.update(partial, nbr, centres)
    nb.assign(colour_cm, *args, -1)
    return labels


def _connectivity_numba(lab: np.ndarray, min_size: float) -> tuple[np.ndarray, np.ndarray]:
    from pyisp_contrast.segmentation import _slic_numba as nb

    if lab.shape[0] == 1:  # one image: its rows are split between the threads instead
        out = np.empty(lab.shape, dtype=np.int64)
        count = nb.connect_one_parallel(lab[0], min_size, out[0])
        return out, np.array([count], dtype=np.int64)
    return nb.enforce_connectivity(lab, min_size)


def _slic(
    images: Tensor,
    n_segments: int,
    compactness: float | Tensor,
    max_iter: int,
    spacing: Sequence[float] | None,
    enforce_connectivity: bool,
    min_size_factor: float,
    max_size_factor: float,
    convert2lab: bool | None,
    generator: torch.Generator | None,
    backend: str,
    subsample_stride: int,
) -> Superpixels:
    with value_checks(False):  # shape and dtype here; values below, in one pass with the rescale
        images, unbatched = check_image(images, "images", channels=(1, 3))
    b, c, h, w = images.shape
    n_segments = check_int(n_segments, "n_segments", 1, h * w, allow_numpy=True)
    max_iter = check_int(max_iter, "max_iter", 1, allow_numpy=True)
    subsample_stride = check_int(subsample_stride, "subsample_stride", 1, allow_numpy=True)
    comp = as_batch_param(
        compactness,
        b,
        "compactness",
        like=torch.empty(0, dtype=torch.float64, device=images.device),
        low=0.0,
        low_inclusive=False,
    )
    min_size_factor = check_float(min_size_factor, "min_size_factor", 0.0)
    max_size_factor = check_float(
        max_size_factor, "max_size_factor", min_size_factor, low_open=True
    )
    sy, sx, convert2lab = resolve_spacing_and_lab(spacing, convert2lab, c)
    if not isinstance(enforce_connectivity, bool):
        raise TypeError("`enforce_connectivity` must be a bool.")
    check_generator(generator, images.device)

    gy, gx = slic_grid(h, w, n_segments)
    geo = grid_geometry(h, w, gy, gx, sy, sx)
    # rows y % s == i % s: any s >= H picks the same rows as s = H for the first H iterations,
    # and the layout tables grow with s
    subsample_stride = min(subsample_stride, h)
    k = gy * gx
    inv_m = (1.0 / comp.view(b)).float()
    x = images.detach().float().contiguous()  # one copy of a permuted input, not one per pass
    lo, rng = _min_range(x)
    jitter = None
    if generator is not None:
        # Random seed positions (within +-1/4 cell), e.g. for new superpixels at every epoch.
        u = torch.rand(b, k, 2, generator=generator, device=x.device, dtype=torch.float32) - 0.5
        jitter = torch.round(u * 0.5 * FEATURE_QUANTUM) / FEATURE_QUANTUM

    if backend == "numba":
        from pyisp_contrast.segmentation import _slic_numba as nb

        xn = x.reshape(b, c, h * w).contiguous().numpy()
        ws = _workspace(b, h * w)
        partial = np.empty((b, k, 9, 6), dtype=np.float64)
        centres = nb.features(
            xn,
            geo["y_bounds"],
            geo["x_bounds"],
            phase_layout(h, w, gy, gx, subsample_stride),
            lo.numpy(),
            rng.numpy(),
            inv_m.cpu().numpy(),
            geo["ys"],
            geo["xs"],
            bool(convert2lab),
            ws["colour"],
            partial,
            ws["slots"],
        )
        jit_np = None if jitter is None else jitter.numpy()
        lab = _run_numba_core(
            ws["colour"],
            centres,
            partial,
            ws["slots"],
            geo,
            jit_np,
            max_iter,
            subsample_stride,
            ws["labels"],
        ).reshape(b, h, w)
        if enforce_connectivity:
            out, counts = _connectivity_numba(lab, min_size_factor * h * w / k)
            labels, num = torch.from_numpy(out), torch.from_numpy(counts)
        else:
            labels, num = relabel_sequential(torch.from_numpy(lab).long())  # a copy
    elif backend == "torch":
        from pyisp_contrast.segmentation import _slic_torch

        feat = _features_torch(x, lo, rng, inv_m.to(x.device), bool(convert2lab), geo)
        cellmap = torch.from_numpy(geo["cellmap"]).to(x.device)
        nbr = torch.from_numpy(geo["nbr"]).to(x.device)
        lab = _slic_torch.slic_core(feat, cellmap, nbr, jitter, max_iter, subsample_stride, h)
        lab = lab.view(b, h, w)
        if enforce_connectivity:
            labels, num = _slic_torch.enforce_connectivity(lab, min_size_factor * h * w / k)
        else:
            labels, num = relabel_sequential(lab)
    else:  # pragma: no cover - private argument
        raise ValueError(f"unknown backend {backend!r}")
    labels = labels.to(images.device)
    num = num.to(images.device)
    if unbatched:
        return Superpixels(labels[0], num[0])
    return Superpixels(labels, num)


def slic(
    images: Tensor,
    n_segments: int = 400,
    compactness: float | Tensor = 10.0,
    max_iter: int = 10,
    *,
    spacing: Sequence[float] | None = None,
    enforce_connectivity: bool = True,
    min_size_factor: float = 0.25,
    max_size_factor: float = 3.0,
    convert2lab: bool | None = None,
    generator: torch.Generator | None = None,
    subsample_stride: int = SUBSAMPLE_STRIDE,
) -> Superpixels:
    """SLIC superpixels of a batch of images (numba on CPU, torch on other devices).

    Note:
        GPU timing is pending (module notes): the torch path is tested, not yet timed on a GPU.

    See the module notes for the conventions (input rescaling, Lab, distance, seed grid, tie-breaking).
    Not differentiable (labels are discrete); see :func:`~pyisp_contrast.segmentation.soft_slic`.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` float in ``[0, 1]``, ``C`` = 1 or 3. Computed in
            float32 whatever the input dtype.
        n_segments: requested number of superpixels, ``1 <= n_segments <= H * W``; the seed grid is
            :func:`slic_grid` ``(H, W, n_segments)``.
        compactness: colour/space balance ``m`` (> 0), a float or a ``(B,)`` tensor (per image).
        max_iter: number of assignment steps (k-means iterations), >= 1.
        spacing: ``(row, column)`` pixel spacing for anisotropic images; default ``(1, 1)``.
        enforce_connectivity: make every segment 4-connected (merging small fragments).
        min_size_factor: fragments smaller than this fraction of the mean cell area are merged.
        max_size_factor: accepted for scikit-image compatibility (must exceed ``min_size_factor``);
            not needed here, because the 3x3-cell search window already bounds every cluster to at
            most 9 cells, so no segment is split for being large.
        convert2lab: convert RGB to Lab; default: ``True`` for 3 channels, ``False`` for 1.
        generator: if given, seeds start at random offsets (up to a quarter cell) from the cell
            means, so repeated calls give different (equally good) superpixels; must live on the
            images' device type. ``None`` gives deterministic results.
        subsample_stride: each k-means iteration but the last assigns one pixel row in
            ``subsample_stride`` (rows ``y % s == i % s`` at iteration ``i``; the other pixels
            keep their cluster) and moves every centre to the mean of all its pixels; the last
            iteration assigns every pixel. 1 gives classical k-means on every pixel; values above
            ``H`` act as ``H``. See the module notes.

    Returns:
        :class:`Superpixels` ``(labels (B, H, W) int64, num_segments (B,) int64)``, on the images'
        device (unbatched input gives ``(H, W)`` labels and a 0-d count).

    Raises:
        TypeError / ValueError: bad arguments, naming the argument.

    Example:
        >>> img = torch.zeros(3, 32, 32)
        >>> img[:, :, 16:] = 1.0  # two flat halves
        >>> sp = slic(img, n_segments=4)
        >>> sp.labels.shape, int(sp.num_segments), sp.labels[0, 0].item(), sp.labels[31, 31].item()
        (torch.Size([32, 32]), 4, 0, 3)
    """
    backend = "numba" if images.device.type == "cpu" else "torch"
    return _slic(
        images,
        n_segments,
        compactness,
        max_iter,
        spacing,
        enforce_connectivity,
        min_size_factor,
        max_size_factor,
        convert2lab,
        generator,
        backend,
        subsample_stride,
    )


class SLIC(nn.Module):
    """Module twin of :func:`slic`; the keyword arguments are stored and passed on.

    Example:
        >>> SLIC(n_segments=4)(torch.rand(2, 3, 16, 16)).labels.shape
        torch.Size([2, 16, 16])
    """

    def __init__(
        self, n_segments: int = 400, compactness: float = 10.0, max_iter: int = 10, **kwargs
    ):
        super().__init__()
        self.n_segments = n_segments
        self.compactness = compactness
        self.max_iter = max_iter
        self.kwargs = kwargs

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Superpixels:
        return slic(
            images,
            self.n_segments,
            self.compactness,
            self.max_iter,
            generator=generator,
            **self.kwargs,
        )
