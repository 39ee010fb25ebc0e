"""
The Bag of Curves: physically valid exposure negatives
======================================================

PIE (Liang et al., *Physics-inspired contrastive learning for low-light enhancement*, IJCV 2024,
`arXiv 2404.04586 <https://arxiv.org/abs/2404.04586>`_) learns to enhance low-light photos from
unpaired data. Its negatives are well-exposed photos pushed to a *wrong* exposure by ISP tone
curves: under-exposed (too dark) or over-exposed (washed out). Because every curve is monotone
and maps [0, 1] onto itself, a negative is the same scene photographed badly, never a different
scene, so the contrastive loss teaches exposure and nothing else.

This example plots the three curve families of the released PIE code, as
:func:`~pyisp_contrast.isp.bank.pie_families` defines them, and draws negatives from
:class:`~pyisp_contrast.isp.bank.BagOfCurves` for one scikit-image photo.
"""

# %%
# The curve families
# ------------------
# Each family has a darkening and a brightening setting: a power on the HSV value
# (``k = 6`` / ``0.1``), an RGB gamma (``gamma ~ U(5, 8)`` / ``U(0, 0.2)``) and PIE's log curve
# (``a = 10`` / ``40``, defined on 8-bit values and normalised here). All of them keep black at
# black; the log curve is the only one that moves white (``a = 40`` maps it to 0.87).
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from skimage import data

from pyisp_contrast.isp import BagOfCurves, curves

x = torch.linspace(0, 1, 256).view(1, 1, 1, -1)
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), sharey=True)
settings = {
    "HSV value power $V^k$": [(curves.gamma, {"gamma": k}, f"k = {k:g}") for k in (6.0, 0.1)],
    "RGB gamma $x^\\gamma$": [
        (curves.gamma, {"gamma": g}, f"$\\gamma$ = {g:g}") for g in (5.0, 8.0, 0.2, 0.02)
    ],
    "log curve $a\\ln(1 + 255x) / 255$": [
        (curves.log_curve, {"a": a}, f"a = {a:g}") for a in (10.0, 40.0)
    ],
}
for ax, (title, items) in zip(axes, settings.items(), strict=True):
    ax.plot(x.flatten(), x.flatten(), color="0.7", ls="--", label="identity")
    for fn, params, label in items:
        ax.plot(x.flatten(), fn(x, **params).flatten(), label=label)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input")
    ax.legend(fontsize=8)
axes[0].set_ylabel("output")
fig.tight_layout()

# %%
# Negatives of one photo
# ----------------------
# :meth:`~pyisp_contrast.isp.bank.BagOfCurves.sample` draws, per negative, a direction (dark or
# bright with equal odds), a family and a parameter, and returns a record of the draw. Draws that
# would leave the photo almost unchanged (mean absolute luma difference below 0.1) are redrawn.
photo = torch.from_numpy(data.coffee()).permute(2, 0, 1).float().div(255).unsqueeze(0)
photo = F.interpolate(photo, size=(200, 300), mode="bilinear", antialias=True).clamp(0, 1)

bank = BagOfCurves.pie()
negatives, record = bank.sample(photo, k=8, generator=torch.Generator().manual_seed(0))

fig, axes = plt.subplots(3, 3, figsize=(10, 7))
tiles = [("positive (original)", photo[0])]
for row, neg in zip(record.as_rows(), negatives[0], strict=True):
    label = f"{row['family']} {row['param']:.3g} ({row['exposure']})"
    tiles.append((label, neg))
for ax, (label, img) in zip(axes.flat, tiles, strict=True):
    ax.imshow(img.permute(1, 2, 0).numpy())
    ax.set_title(label, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# The record makes a run reproducible: it can be logged as plain JSON
# (:meth:`~pyisp_contrast.isp.bank.CurveRecord.to_dict`) and re-applied to the same images.
replayed = bank.apply_record(photo, record)
print("replayed == sampled:", torch.allclose(replayed, negatives))
for row in record.as_rows()[:3]:
    print(row)
