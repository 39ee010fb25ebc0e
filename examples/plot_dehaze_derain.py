"""
Dehazing and deraining with the bundled compositions
====================================================

The library's parts compose more than low-light enhancement. This example degrades a photo with
the library's own physics -- the atmospheric scattering model
(:func:`pyisp_contrast.isp.degrade.haze`) and screen-blended rain streaks
(:func:`pyisp_contrast.isp.degrade.rain`) -- and restores it three ways:

- doing nothing (the degraded input);
- a classical method: the dark channel prior with guided-filter refinement for haze (He et al.
  2009/2010, :func:`pyisp_contrast.classical.dark_channel_dehaze`), and an edge-preserving
  self-guided filter for rain;
- the bundled compositions, :class:`~pyisp_contrast.models.dehaze.Dehazer` (predicts transmission
  and airlight, then inverts the scattering model) and
  :class:`~pyisp_contrast.models.derain.Derainer` (predicts the rain layer and subtracts it).

Each panel's title gives its PSNR against the clean photo. See :doc:`/guide/new_task` for how the
dehazing composition is built.
"""

# %%
# A clean photo, then haze and rain made from it with fixed seeds.
import matplotlib.pyplot as plt
import skimage.data
import torch

from pyisp_contrast.classical import dark_channel_dehaze, guided_filter
from pyisp_contrast.isp.degrade import haze, rain
from pyisp_contrast.metrics import psnr
from pyisp_contrast.models import load_pretrained
from pyisp_contrast.models.dehaze import Dehazer  # noqa: F401  (registers the architecture)
from pyisp_contrast.models.derain import Derainer  # noqa: F401

clean = torch.from_numpy(skimage.data.rocket()).permute(2, 0, 1).float().div(255)[None]
hazy, haze_params = haze(clean, generator=torch.Generator().manual_seed(3))
rainy, _ = rain(clean, generator=torch.Generator().manual_seed(4))
print(
    f"haze: beta = {haze_params['beta'].item():.2f}, airlight = {haze_params['airlight'][0].tolist()}"
)

# %%
# Restore with the classical methods and with the bundled weights.
dehazer = load_pretrained("dehaze-default")
derainer = load_pretrained("derain-default")
with torch.no_grad():
    rows = [
        [
            ("clean", clean),
            ("hazy", hazy),
            ("dark channel prior", dark_channel_dehaze(hazy)),
            ("Dehazer", dehazer.enhance(hazy)),
        ],
        [
            ("clean", clean),
            ("rainy", rainy),
            ("self-guided filter", guided_filter(rainy, rainy, 2, 1e-2)),
            ("Derainer", derainer.enhance(rainy)),
        ],
    ]

# %%
# Before and after, with PSNR against the clean photo.
fig, axes = plt.subplots(2, 4, figsize=(13, 5.2))
for ax_row, row in zip(axes, rows):
    for ax, (name, img) in zip(ax_row, row):
        ax.imshow(img[0].permute(1, 2, 0).clamp(0, 1).numpy())
        score = "" if name == "clean" else f"\n{psnr(img.clamp(0, 1), clean).item():.2f} dB"
        ax.set_title(name + score, fontsize=10)
        ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The dehazer's estimates: where it thinks the haze is thick, and the airlight colour.
with torch.no_grad():
    t, airlight = dehazer.estimate(hazy)
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.4))
ax0.imshow(haze_params["transmission"][0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
ax0.set_title("true transmission")
ax1.imshow(t.detach()[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
ax1.set_title(f"estimated; airlight {[round(v, 2) for v in airlight[0].tolist()]}")
for ax in (ax0, ax1):
    ax.axis("off")
fig.tight_layout()
plt.show()
