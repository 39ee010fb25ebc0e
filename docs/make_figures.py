"""Make the home-page figure ``docs/_static/overview.png``.

A well-exposed scikit-image sample photo is made dark with the library's physics-based low-light
synthesis; then its SLIC superpixels, Bag-of-Curves negatives made from the well-exposed photo,
and the bundled enhancer's result are shown side by side. Run from the repository root::

    python docs/make_figures.py

The PNG is committed (it is small), so building the docs does not need to run this.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from skimage import data

OUT = Path(__file__).resolve().parent / "_static" / "overview.png"


def _photo(height: int) -> torch.Tensor:
    img = Image.fromarray(data.coffee())
    w = round(img.width * height / img.height)
    img = img.resize((w, height), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float().div(255.0)


def _to_np(x: torch.Tensor) -> np.ndarray:
    return x.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def make(out: Path = OUT, height: int = 200, seed: int = 0) -> Path:
    from pyisp_contrast.isp import BagOfCurves
    from pyisp_contrast.isp.degrade import low_light
    from pyisp_contrast.models import load_pretrained
    from pyisp_contrast.segmentation import boundaries
    from pyisp_contrast.segmentation.slic import slic

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    clean = _photo(height).unsqueeze(0)
    dark, _params = low_light(clean, generator=g)
    labels, _n = slic(dark, n_segments=150)
    edges = boundaries(labels)[:, None].bool()
    # brightened for display only; the superpixels are computed on `dark` itself
    shown = (dark / dark.amax().clamp_min(1e-6)).clamp(0, 1) ** (1 / 2.2)
    sp_view = torch.where(edges, torch.tensor([1.0, 0.85, 0.0]).view(1, 3, 1, 1), shown)
    for _ in range(20):  # show one under- and one over-exposed negative
        negatives, record = BagOfCurves.pie().sample(clean, k=2, generator=g)
        if record.exposure[0, 0] != record.exposure[0, 1]:
            break
    panels = [
        (dark[0], "dark input"),
        (sp_view[0], "its SLIC superpixels"),
        (negatives[0, 0], "BoC negative"),
        (negatives[0, 1], "BoC negative"),
    ]
    try:
        model = load_pretrained().eval()
    except FileNotFoundError as exc:  # weights not bundled (a development checkout)
        print(f"warning: no enhanced panel: {exc}")
    else:
        with torch.no_grad():
            panels.append((model.enhance(dark)[0], "enhanced (bundled default)"))
    enhanced = len(panels) == 5
    caption = (
        "From left to right: a dark photo (synthesised from a scikit-image sample with "
        ":func:`~pyisp_contrast.isp.low_light`), its SLIC superpixels (shown brightened), "
        + ("" if enhanced else "and ")
        + "two Bag-of-Curves negatives (under- and over-exposed) made from the well-exposed photo"
        + (", and the bundled enhancer's result" if enhanced else "")
        + ". Made by ``docs/make_figures.py``."
    )
    # the page includes this caption, so it always describes the figure as it was made
    (out.parent / "overview_caption.rst.inc").write_text(caption + "\n")
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.2))
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(_to_np(img))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    # a 256-colour palette keeps the committed PNG small with no visible loss at this size
    Image.open(out).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        out, optimize=True
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    path = make(args.out)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
