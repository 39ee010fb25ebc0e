"""
Contrastive losses from swappable parts
=======================================

A contrastive loss for images has three parts that :mod:`pyisp_contrast.contrastive` keeps apart:
an *embedder* (images to a list of feature maps), a *distance* between feature lists, and the
*loss* that turns anchor-positive and anchor-negative distances into one number. Any part can be
swapped without touching the others.

This example

1. shows how the shipped :class:`~pyisp_contrast.contrastive.ExposureEncoder` orders exposure:
   the Gram distance from a well-exposed photo to its re-exposed versions grows with the exposure
   error, also when the reference is a *different* well-exposed photo, as in PIE where positives
   are unrelated images;
2. uses PIE's contrastive term (:class:`~pyisp_contrast.contrastive.InfoNCELoss` with one
   positive and one negative is ``softplus(D(a, p) - D(a, n))``) plus its grey-level hinge to fit
   a single brightening curve to an under-exposed photo, with no paired ground truth.
"""

# %%
# Exposure ladders
# ----------------
# Three scikit-image photos; ``coffee`` is re-exposed from -3 to +3 stops in linear light
# (:func:`~pyisp_contrast.isp.curves.exposure`).
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from skimage import data

from pyisp_contrast.contrastive import (
    ExposureEncoder,
    GramMSEDistance,
    InfoNCELoss,
    IntensityHingeLoss,
)
from pyisp_contrast.isp.curves import exposure, gamma


def load(img, size=96):
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


coffee, astronaut, chelsea = load(data.coffee()), load(data.astronaut()), load(data.chelsea())
evs = torch.linspace(-3, 3, 13)
ladder = torch.cat([exposure(coffee, float(e)) for e in evs])

encoder = ExposureEncoder.pretrained()
dist = GramMSEDistance()
with torch.no_grad():
    f_ladder = encoder(ladder)
    same = dist(encoder(coffee), f_ladder)
    other = dist(encoder(astronaut), f_ladder)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].plot(evs, same, "o-", label="reference: coffee itself")
axes[0].plot(evs, other, "s-", label="reference: astronaut (other content)")
axes[0].set_xlabel("exposure change of coffee (stops)")
axes[0].set_ylabel("Gram distance (ExposureEncoder)")
axes[0].legend()
axes[1].imshow(torch.cat(list(ladder[::3].permute(0, 2, 3, 1)), dim=1).numpy())
axes[1].set_title("EV -3, -1.5, 0, +1.5, +3")
axes[1].axis("off")
fig.tight_layout()

# %%
# Fitting a curve with PIE's contrastive term
# -------------------------------------------
# The anchor is an under-exposed ``chelsea`` brightened by a gamma curve whose exponent is the
# only parameter. Positives are unrelated well-exposed photos (shared by the batch, a 4-D
# tensor); negatives are under- and over-exposed versions of them. The contrastive term on the
# ExposureEncoder pulls the anchor toward "well exposed", the grey-level hinge toward the
# positives' brightness. The same loss object would train a whole network.
dark = exposure(chelsea, -3.0)
positives = torch.cat([coffee, astronaut])  # (P, C, H, W): shared by every anchor
negatives = torch.stack([exposure(positives, -3.0), exposure(positives, 2.5)], dim=1)[:1]
# one anchor: negatives (1, N, C, H, W), its own under- and over-exposed pair

contrastive = InfoNCELoss(encoder, GramMSEDistance(), temperature=1.0)
intensity = IntensityHingeLoss(margin=0.3)
log_gamma = torch.zeros(1, requires_grad=True)  # gamma = exp(log_gamma), starts at identity
opt = torch.optim.Adam([log_gamma], lr=0.08)
history = []
for _ in range(40):
    out = gamma(dark, log_gamma.exp())
    loss = contrastive(out, positives, negatives) + intensity(out, positives, negatives)
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append((loss.item(), log_gamma.exp().item()))

print(f"fitted gamma: {history[-1][1]:.3f}; loss {history[0][0]:.3f} -> {history[-1][0]:.3f}")

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, img, title in zip(
    axes[:3],
    (dark, gamma(dark, history[-1][1]), chelsea),
    ("input (EV -3)", f"gamma {history[-1][1]:.2f} fitted", "original (never seen)"),
):
    ax.imshow(img[0].permute(1, 2, 0).detach().numpy())
    ax.set_title(title)
    ax.axis("off")
axes[3].plot([h[0] for h in history])
axes[3].set_xlabel("step")
axes[3].set_ylabel("loss")
fig.tight_layout()

# %%
# Swapping parts
# --------------
# Any part can change without touching the others: ``VGG16Features`` (with torchvision's ImageNet
# file) instead of the encoder, ``PixelStatistics`` for a weight-free term, ``RatioContrastiveLoss``
# or ``TripletHingeLoss`` instead of InfoNCE. The guide page *Contrastive losses* shows how, and how
# to write a loss or a distance of your own.
