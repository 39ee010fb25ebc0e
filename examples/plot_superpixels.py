"""
Superpixels of a dark photo
===========================

PIE's regional brightness term asks the enhanced image to keep each *region* evenly lit, with
regions taken from an unsupervised segmentation of the input. Those regions come from
:func:`~pyisp_contrast.segmentation.slic`, a batched SLIC (Achanta et al., TPAMI 2012) that runs
numba kernels on the CPU and plain torch on a GPU.

Two of its conventions matter for dark photos:

* every image is rescaled by its own minimum and maximum before the Lab conversion, so a pure
  exposure change (a multiplication) gives exactly the same superpixels and ``compactness``
  means the same on dark and bright photos;
* the number of segments is predictable: ``n_segments = 400`` on a square image gives a 20 x 20
  seed grid (:func:`~pyisp_contrast.segmentation.slic_grid`), and about 400 segments after
  connectivity enforcement.

This example darkens a scikit-image photo with a plain gamma, segments it, paints the region
means back (:func:`~pyisp_contrast.segmentation.region_stats` and
:func:`~pyisp_contrast.segmentation.paint`) and draws the boundaries.
"""

# %%
# A dark photo
# ------------
# A gamma of 3 pushes most of the photo into the bottom of the range, as a low-light capture
# would be.
import matplotlib.pyplot as plt
import torch
from skimage import data

from pyisp_contrast.isp import curves
from pyisp_contrast.segmentation import (
    boundaries,
    metrics,
    paint,
    region_stats,
    slic,
    slic_grid,
)

photo = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
photo = torch.nn.functional.interpolate(photo[None], size=(256, 256), mode="area")[0]
dark = curves.gamma(photo, 3.0)
print(f"mean brightness: original {photo.mean():.3f}, dark {dark.mean():.3f}")

# %%
# Superpixels
# -----------
# One call segments the batch; labels are numbered 0..K-1 per image.
sp = slic(torch.stack([dark, photo]), n_segments=400, compactness=10.0)
print("seed grid:", slic_grid(256, 256, 400), "segments:", sp.num_segments.tolist())
# A gamma is not a pure exposure change, so the two segmentations differ in detail; the
# achievable segmentation accuracy of one against the other says how well they still agree.
asa = metrics.achievable_segmentation_accuracy(sp.labels[:1], sp.labels[1:]).item()
print(f"dark superpixels explain the original's segmentation with accuracy {asa:.3f}")

# %%
# Region means and boundaries
# ---------------------------
# :func:`region_stats` reduces every region of every image at once (count, mean and variance
# per channel); :func:`paint` writes the per-region means back onto the pixels. The regional
# loss of PIE penalises the variance of the enhanced image's brightness inside each region.
stats = region_stats(dark[None], sp.labels[:1])
means = paint(stats.mean, sp.labels[:1])[0]
edges = boundaries(sp.labels[:1])[0]
overlay = dark.clone()
overlay[:, edges] = torch.tensor([1.0, 0.8, 0.0]).view(3, 1)

brighten = 1 / 3  # undo the gamma only for display
fig, axes = plt.subplots(1, 3, figsize=(11, 4))
for ax, img, title in (
    (axes[0], dark, "dark input"),
    (axes[1], overlay.clamp(0, 1) ** brighten, "superpixel boundaries (display brightened)"),
    (axes[2], means.clamp(0, 1) ** brighten, "region means painted back (brightened)"),
):
    ax.imshow(img.permute(1, 2, 0).numpy())
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
plt.show()
