"""
What PIE's non-contrastive losses reward
========================================

Besides its contrastive terms, PIE (Liang et al., IJCV 2024,
`arXiv 2404.04586 <https://arxiv.org/abs/2404.04586>`_) trains its curve estimator with a
*regional brightness consistency* over superpixels of the input and Zero-DCE's auxiliaries
(Guo et al., CVPR 2020, `arXiv 2001.06826 <https://arxiv.org/abs/2001.06826>`_). This example
brightens one dark photo with a range of global gamma curves and plots how each loss responds:

- :func:`~pyisp_contrast.losses.exposure_control_loss` falls as the local brightness approaches
  the target level 0.6 and rises past it;
- :func:`~pyisp_contrast.losses.spatial_consistency_loss` grows with any change of the contrast
  between neighbouring blocks of the input, so it resists strong curves;
- :func:`~pyisp_contrast.losses.regional_brightness_consistency` measures the spread of brightness
  inside each SLIC superpixel of the input: brightening stretches that spread, and
  :class:`~pyisp_contrast.losses.BrightnessWeighting` relaxes the penalty on dark regions so they
  may be lifted more than bright ones.
"""

# %%
# A dark photo and its superpixels
# --------------------------------
# A scikit-image photo is darkened with the library's physics-based low-light synthesis
# (exposure drop in linear light plus sensor noise), then segmented with SLIC. The labels are a
# property of the *input*: the loss uses them, without gradient, to judge any output.
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from skimage import data

from pyisp_contrast.isp.curves import gamma
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.losses import (
    BrightnessWeighting,
    exposure_control_loss,
    regional_brightness_consistency,
    spatial_consistency_loss,
)
from pyisp_contrast.segmentation import boundaries, region_stats
from pyisp_contrast.segmentation.slic import slic

photo = torch.from_numpy(data.coffee()).permute(2, 0, 1).float().div(255)[None]
photo = F.interpolate(photo, size=(200, 300), mode="bilinear", antialias=True)
g = torch.Generator().manual_seed(0)
dark, _ = low_light(photo, ev_range=-3.5, generator=g)
labels = slic(dark, n_segments=100, compactness=10.0).labels

overlay = dark[0].permute(1, 2, 0).clone()
overlay[boundaries(labels)[0]] = torch.tensor([1.0, 0.8, 0.0])
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].imshow(photo[0].permute(1, 2, 0))
axes[0].set_title("well exposed")
axes[1].imshow(overlay.clamp(0, 1))
axes[1].set_title("synthetic low light + SLIC regions")
for ax in axes:
    ax.axis("off")
fig.tight_layout()

# %%
# Losses along a family of brightening curves
# -------------------------------------------
# ``gamma < 1`` brightens. For each curve the output's mean brightness is on the x axis. The
# weighted regional loss uses weights that grow with each region's input brightness.
gammas = torch.linspace(1.0, 0.2, 17)
grey = dark.mean(1, keepdim=True)
weights = BrightnessWeighting(exponent=1.0)(region_stats(grey, labels))
rows = []
for k in gammas:
    out = gamma(dark, float(k))
    rows.append(
        (
            out.mean().item(),
            exposure_control_loss(out).item(),
            spatial_consistency_loss(out, dark).item(),
            regional_brightness_consistency(out, labels).item(),
            regional_brightness_consistency(out, labels, region_weights=weights).item(),
        )
    )
mean, exposure, spatial, regional, weighted = (list(c) for c in zip(*rows))

fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].plot(mean, exposure, "o-")
axes[0].axvline(0.6, color="grey", ls="--", lw=1)
axes[0].set_title("exposure control (target 0.6)")
axes[1].plot(mean, spatial, "o-", color="C1")
axes[1].set_title("spatial consistency")
axes[2].plot(mean, regional, "o-", color="C2", label="uniform weights (PIE)")
axes[2].plot(mean, weighted, "s--", color="C3", label="brightness-weighted")
axes[2].set_title("regional brightness consistency")
axes[2].legend(fontsize=8)
for ax in axes:
    ax.set_xlabel("mean brightness of the output")
fig.tight_layout()

# %%
# Reading the plots
# -----------------
# No single term asks for "brighter": exposure control pulls towards a level, the consistency
# terms resist changes of local contrast. In PIE the push towards good exposure comes from the
# contrastive terms (well-exposed positives against Bag-of-Curves negatives); these terms keep
# the enhancement smooth, even within regions, and faithful to the input's structure.
plt.show()
