"""Superpixel quality metrics, batched: one value per image, no loop over regions.

All take ``(B, H, W)`` integer label maps (any label source) and return a ``(B,)`` float tensor.
The overlap metrics build each image's superpixel x ground-truth contingency table with one
``bincount`` over ``(image, superpixel, segment)`` keys.

References:
    Neubert, Protzel, "Superpixel benchmark and comparison", Forum Bildverarbeitung 2012
    (boundary recall, undersegmentation error in the form used here);
    Liu, Tuzel, Ramalingam, Chellappa, "Entropy rate superpixel segmentation", CVPR 2011
    (achievable segmentation accuracy);
    Schick, Fischer, Stiefelhagen, "Measuring and evaluating the compactness of superpixels",
    ICPR 2012 (compactness);
    Moore, Prince, Warrell, Mohammed, Jones, "Superpixel lattices", CVPR 2008 (explained variation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pyisp_contrast.core.checks import check_int, check_labels
from pyisp_contrast.segmentation.regions import boundaries, region_stats, relabel_sequential

__all__ = [
    "achievable_segmentation_accuracy",
    "boundary_recall",
    "compactness",
    "explained_variation",
    "undersegmentation_error",
]


def _pair(labels: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    labels = check_labels(labels, "labels")
    gt = check_labels(gt, "gt", shape=labels.shape)
    if gt.device != labels.device:
        raise ValueError(f"`gt` is on {gt.device} but `labels` is on {labels.device}.")
    return labels, gt


def _contingency(labels: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """(B, Ks, Kg) overlap counts |S ∩ G| and (B, Ks) superpixel sizes."""
    labels, _ = relabel_sequential(labels)
    gt, _ = relabel_sequential(gt)
    b = labels.shape[0]
    ks = int(labels.max()) + 1
    kg = int(gt.max()) + 1
    key = labels.reshape(b, -1) * kg + gt.reshape(b, -1)
    key = key + torch.arange(b, device=key.device).view(b, 1) * (ks * kg)
    table = torch.bincount(key.reshape(-1), minlength=b * ks * kg).view(b, ks, kg)
    return table, table.sum(2)


def boundary_recall(labels: Tensor, gt: Tensor, tolerance: int = 2) -> Tensor:
    """Fraction of ground-truth boundary pixels within ``tolerance`` of a superpixel boundary.

    Boundaries are the one-pixel-wide ``"inner"`` ones of :func:`boundaries`; "within" means in
    the ``(2 * tolerance + 1)`` square around the pixel (Chebyshev distance). An image whose ground
    truth has no boundary gets recall 1.

    Example:
        >>> gt = torch.zeros(1, 8, 8, dtype=torch.long)
        >>> gt[:, :, 4:] = 1
        >>> boundary_recall(gt, gt).item(), boundary_recall(torch.zeros_like(gt), gt).item()
        (1.0, 0.0)
    """
    labels, gt = _pair(labels, gt)
    tolerance = check_int(tolerance, "tolerance", 0)
    gb = boundaries(gt)
    sb = boundaries(labels).unsqueeze(1).float()
    if tolerance:
        sb = F.max_pool2d(sb, 2 * tolerance + 1, stride=1, padding=tolerance)
    hit = (sb[:, 0] > 0) & gb
    n_gt = gb.sum((1, 2))
    recall = hit.sum((1, 2)).double() / n_gt.clamp_min(1).double()
    return torch.where(n_gt > 0, recall, torch.ones_like(recall))


def undersegmentation_error(labels: Tensor, gt: Tensor) -> Tensor:
    """Undersegmentation error in Neubert and Protzel's form (lower is better, 0 is perfect).

    ``UE = (1 / N) * sum_G sum_{S ∩ G != ∅} min(|S ∩ G|, |S \\ G|)``: every superpixel that leaks
    over a ground-truth segment is charged the smaller of its inside and outside parts.

    Example:
        >>> gt = torch.tensor([[[0, 0, 1, 1]]])
        >>> undersegmentation_error(torch.tensor([[[0, 1, 1, 2]]]), gt).item()
        0.5
    """
    labels, gt = _pair(labels, gt)
    table, size = _contingency(labels, gt)
    charge = torch.minimum(table, size.unsqueeze(2) - table)
    n = labels[0].numel()
    return charge.sum((1, 2)).double() / n


def achievable_segmentation_accuracy(labels: Tensor, gt: Tensor) -> Tensor:
    """Achievable segmentation accuracy (higher is better, 1 is perfect).

    The accuracy of the best segmentation that can be built from the superpixels: each superpixel
    labelled with the ground-truth segment it overlaps most, ``ASA = (1 / N) sum_S max_G |S ∩ G|``.

    Example:
        >>> gt = torch.tensor([[[0, 0, 1, 1]]])
        >>> achievable_segmentation_accuracy(torch.tensor([[[0, 0, 0, 1]]]), gt).item()
        0.75
    """
    labels, gt = _pair(labels, gt)
    table, _ = _contingency(labels, gt)
    return table.amax(2).sum(1).double() / labels[0].numel()


def compactness(labels: Tensor) -> Tensor:
    """Compactness of Schick et al.: the area-weighted isoperimetric quotient of the superpixels.

    ``CO = sum_S (|S| / N) * 4 pi |S| / P(S)**2`` with ``P(S)`` the number of pixel edges between
    ``S`` and other superpixels or the image border. A square scores ``pi / 4``; a one-pixel-wide
    line scores close to 0.

    Example:
        >>> round(compactness(torch.zeros(1, 10, 10, dtype=torch.long)).item(), 4)
        0.7854
    """
    labels = check_labels(labels, "labels")
    labels, _ = relabel_sequential(labels)
    b, h, w = labels.shape
    k = int(labels.max()) + 1
    # Pad with a label no superpixel has, so the image border counts as perimeter.
    pad = F.pad(labels, (1, 1, 1, 1), value=k)
    perim = torch.zeros(b, k + 1, dtype=torch.float64, device=labels.device)
    offs = torch.arange(b, device=labels.device).view(b, 1) * (k + 1)
    for a, c in (
        (pad[:, 1:-1, 1:-1], pad[:, :-2, 1:-1]),
        (pad[:, 1:-1, 1:-1], pad[:, 2:, 1:-1]),
        (pad[:, 1:-1, 1:-1], pad[:, 1:-1, :-2]),
        (pad[:, 1:-1, 1:-1], pad[:, 1:-1, 2:]),
    ):
        edge = (a != c).reshape(b, -1).double()
        perim.view(-1).index_add_(0, (a.reshape(b, -1) + offs).reshape(-1), edge.reshape(-1))
    area = torch.zeros(b, k + 1, dtype=torch.float64, device=labels.device)
    area.view(-1).index_add_(
        0,
        (labels.reshape(b, -1) + offs).reshape(-1),
        torch.ones(b * h * w, dtype=torch.float64, device=labels.device),
    )
    area, perim = area[:, :k], perim[:, :k]
    quotient = 4 * math.pi * area / perim.clamp_min(1).pow(2)
    return (area / (h * w) * quotient).sum(1)


def explained_variation(images: Tensor, labels: Tensor) -> Tensor:
    """Explained variation of Moore et al.: how much of the image variance the region means keep.

    ``EV = sum_S |S| ||mu_S - mu||^2 / sum_p ||x_p - mu||^2`` (summed over channels); 1 when every
    superpixel is flat. A constant image gets 1.

    Args:
        images: ``(B, C, H, W)`` float (any range).
        labels: ``(B, H, W)`` integer labels.

    Example:
        >>> x = torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]])
        >>> explained_variation(x, torch.tensor([[[0, 0, 1, 1]]])).item()
        1.0
    """
    stats = region_stats(images, labels)
    b = images.shape[0]
    x = images.double()
    mu = x.mean((2, 3))  # (B, C)
    total = (x - mu.view(b, -1, 1, 1)).pow(2).sum((1, 2, 3))
    between = (
        stats.count.double().unsqueeze(-1) * (stats.mean.double() - mu.unsqueeze(1)).pow(2)
    ).sum((1, 2))
    return torch.where(total > 0, between / total.clamp_min(1e-300), torch.ones_like(total))
