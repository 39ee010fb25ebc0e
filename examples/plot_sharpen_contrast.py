"""
Fine detail and local contrast after a lift, without colour shifts
==================================================================

Lifting a dark photo with a smooth gain brings its light back but leaves it looking flat: the dark
8-bit copy lost the finest detail's amplitude to rounding and compression, and a gain map that is
smooth over regions (and, in the bundled enhancer, projected so a dark region is never lifted past
a lit one) flattens the contrast between neighbouring details. An ISP sharpens after tone mapping;
:func:`pyisp_contrast.isp.sharpen_luma` does it on the luma only, in two bands:

* ``amount`` adds the finest band, ``Y - G_1 * Y`` (a Gaussian of ``sigma`` = 1 px): edges and
  texture, and also pixel noise, which is why the bundled enhancer gives it only to clean photos;
* ``contrast`` adds the band above it, ``G_1 * Y - L``, with ``L`` a wide low-pass of
  ``contrast_sigma`` pixels (:func:`pyisp_contrast.isp.sharpen.cell_blur`, as cheap for 60 px as
  for 6): local contrast, "clarity", which leaves pixel noise alone.

Every channel is scaled by the luma's ratio, so chromaticity is kept and a grey stays exactly grey.
This example shows the two bands of one photo, then what they do after the bundled enhancer's lift
(``pie-physics`` runs both: ``detail``, and ``contrast`` in proportion to how far it lifts the
photo, up to ``contrast_lift`` stops: a photo it leaves as it is lost no contrast to the lift).
"""

# %%
# A clean photo and a mildly dark copy of it (two stops, a good sensor's noise), fixed seed.
import matplotlib.pyplot as plt
import skimage.data
import torch

from pyisp_contrast.isp import SharpenLuma, sharpen_luma
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.isp.sharpen import cell_blur, cell_taps, gaussian_taps, luma, separable_blur
from pyisp_contrast.metrics import psnr, ssim
from pyisp_contrast.models import load_pretrained
from pyisp_contrast.models.gain_net import lift_fraction

clean = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float().div(255)[None]
dark, _ = low_light(
    clean,
    ev_range=-2.0,
    shot_noise=2e-5,
    read_noise=2e-4,
    generator=torch.Generator().manual_seed(0),
)

# %%
# The two bands of the clean photo's luma: the fine one holds edges and texture, the wide one
# (24 px here, as in the bundled weights) the shading of each object against its neighbours.
y = luma(clean)
fine = separable_blur(y, gaussian_taps(1.0))
low = cell_blur(y, cell_taps(24.0))
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, (title, img) in zip(
    axes,
    [
        ("luma Y", y),
        ("fine band Y - G1 Y (x4)", y - fine),
        ("contrast band G1 Y - L (x4)", fine - low),
    ],
):
    shown = img[0, 0] if title.startswith("luma") else 0.5 + 4 * img[0, 0]  # bands x4, grey = 0
    ax.imshow(shown.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
fig.tight_layout()

# %%
# The enhancer with both bands (as shipped), with the local contrast off, and with both off
# (``model.contrast`` and ``model.detail`` are plain settings, checked when set; the model's
# tone curve, ``model.tone``, stays on in all three). Scores are against the clean photo.
model = load_pretrained("pie-physics")
grey_level = dark.mean(1, keepdim=True)
log_gain = model.low_res_maps(dark)[1]  # the gain map the model lifts this photo by
print(
    f"shipped: detail {model.detail} (this photo: {model.detail_amount(grey_level).item():.2f}), "
    f"contrast {model.contrast} at {model.contrast_sigma} px, in full from a lift of "
    f"{model.contrast_lift} stops (this photo: {lift_fraction(log_gain, model.contrast_lift).item():.2f} of it)"
)
outputs = {"both bands (shipped)": model.enhance(dark)}
detail, contrast = model.detail, model.contrast
model.contrast = 0.0
outputs["no local contrast"] = model.enhance(dark)
model.detail = 0.0
outputs["neither"] = model.enhance(dark)
model.detail, model.contrast = detail, contrast
for name, out in outputs.items():
    print(f"{name:22s} {psnr(out, clean).item():.2f} dB, SSIM {ssim(out, clean).item():.3f}")

# %%
# A crop of each. The differences are small on purpose (0.2 of the contrast band; of the fine
# band 0.25 for a noiseless photo, less as the measured noise rises, about half that here):
# enough to give back what the lift flattened, not a look of its own.
crop = (..., slice(60, 260), slice(120, 420))
panels = [("dark input", dark), *outputs.items(), ("clean", clean)]
fig, axes = plt.subplots(1, len(panels), figsize=(15, 2.8))
for ax, (title, img) in zip(axes, panels):
    ax.imshow(img[crop][0].permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# On its own, :class:`~pyisp_contrast.isp.SharpenLuma` is the same operation as a module, for a
# pipeline of your own; a grey image stays exactly grey whatever the amounts.
clarity = SharpenLuma(0.0, contrast=0.5, contrast_sigma=12.0)
grey = clean.mean(1, keepdim=True).expand(1, 3, *clean.shape[-2:])
out = clarity(grey)
print("grey stays grey:", bool((out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all()))
assert torch.equal(out, sharpen_luma(grey, 0.0, contrast=0.5, contrast_sigma=12.0))
plt.show()
