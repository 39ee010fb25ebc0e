"""
How hard to denoise: a strength per photo from its measured noise
=================================================================

A dark photo from a phone at night and a mildly under-exposed one from a good camera need different
denoising: the first is mostly noise in the shadows, the second mostly texture that should stay.
:func:`pyisp_contrast.isp.noise_to_signal` measures which kind a photo is, from the photo alone:
Immerkær's noise estimate of the grey level divided by its mean, a number that does not change
with the exposure. The bundled enhancer, ``pie-physics``, scales its denoiser by it
(``GuidedGainEnhancer(denoise_nsr=..., denoise_knee=...)``): in proportion to the ratio for photos
as noisy as real dark photos are, faster above that, up to full strength.

This example darkens one clean photo twice with the library's physics
(:func:`pyisp_contrast.isp.degrade.low_light`): mildly, with a good sensor's noise, and deeply,
with a phone's. It measures both, then enhances both with one fixed strength for every photo
(how the model ran before) and with the per-photo strength, and shows a crop of each.
"""

# %%
# Two dark copies of scikit-image's astronaut, with fixed seeds.
import matplotlib.pyplot as plt
import skimage.data
import torch

from pyisp_contrast.isp import noise_to_signal
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.metrics import psnr, ssim
from pyisp_contrast.models import load_pretrained

clean = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float().div(255)[None]
settings = {
    "mild, clean sensor": {"ev_range": -2.0, "shot_noise": 2e-5, "read_noise": 2e-4},
    "deep, noisy sensor": {"ev_range": -5.0, "shot_noise": 3e-3, "read_noise": 5e-3},
}
darks = {
    name: low_light(clean, generator=torch.Generator().manual_seed(3), **kwargs)[0]
    for name, kwargs in settings.items()
}

# %%
# What the model measures, and the denoiser strength it takes from it (a fraction of the
# network's own noise estimate).
model = load_pretrained("pie-physics")
for name, dark in darks.items():
    ratio = noise_to_signal(dark).item()
    strength = model.denoise_strength(dark.mean(1, keepdim=True)).item()
    print(f"{name}: noise-to-signal {ratio:.3f}, denoiser strength {strength:.4f}")

# %%
# Enhance each photo twice: per photo (the shipped setting), and with one strength for all
# photos (``denoise_nsr=None``, ``denoise_scale`` 1/16, the value the model used before).
per_photo = {name: model.enhance(dark) for name, dark in darks.items()}
nsr, scale = model.denoise_nsr, model.denoise_scale
model.denoise_nsr, model.denoise_scale = None, 1 / 16
fixed = {name: model.enhance(dark) for name, dark in darks.items()}
model.denoise_nsr, model.denoise_scale = nsr, scale

# %%
# A crop of each (the astronaut's collar and suit), with PSNR and SSIM against the clean photo.
# The mild photo gets a sixtieth of the network's denoising instead of a sixteenth, so what
# texture it has is left alone; the deep one, far noisier than the real dark photos the rule was
# calibrated on, gets ten times the fixed strength and loses much of the speckle. Some grain
# stays: the denoiser is kept light so that texture survives. For still noisier photos raise
# the strength by hand: ``pyisp_contrast.models.scale_denoiser(model, 4)`` (``pyisp-contrast
# enhance --denoise 4``) denoises four times as hard.
crop = (..., slice(160, 320), slice(200, 360))
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for row, name in enumerate(darks):
    panels = [
        ("input", darks[name]),
        ("one strength for all", fixed[name]),
        ("strength per photo", per_photo[name]),
        ("clean", clean),
    ]
    for ax, (title, img) in zip(axes[row], panels):
        ax.imshow(img[crop][0].permute(1, 2, 0).clamp(0, 1).numpy())
        score = ""
        if title not in ("input", "clean"):
            score = f", {psnr(img, clean).item():.1f} dB / {ssim(img, clean).item():.2f}"
        ax.set_title(f"{name}\n{title}{score}", fontsize=9)
        ax.axis("off")
fig.tight_layout()
plt.show()
