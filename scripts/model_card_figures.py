"""Failure cases of an enhancer, as pictures for its model card.

For each set it enhances every image and keeps the worst ones: on the dev pairs (LOL) the lowest
PSNR, on the real photos (DICM, LIME) the highest lightness-order error (LOE). Each row shows the
input, the output and, for pairs, the reference, with the score in the title. Reporting only: no
choice is made from these images.

Usage::

    python scripts/model_card_figures.py --weights pie-physics \\
        --out docs/_static/pie_physics_failures.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from pyisp_contrast.cli.evaluate import load_resized
from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.metrics import loe, psnr
from pyisp_contrast.models import load_pretrained

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _small(x: torch.Tensor, side: int = 320) -> torch.Tensor:
    s = side / max(x.shape[-2:])
    return F.interpolate(x[None], scale_factor=s, mode="bilinear", antialias=True)[0].clamp(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="pie-physics")
    ap.add_argument("--lol", type=Path, default=SHARED / "lowlight_paired" / "LOL_train50")
    ap.add_argument("--real", type=Path, default=SHARED / "lowlight")
    ap.add_argument("--per-set", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("docs/_static/pie_physics_failures.png"))
    a = ap.parse_args()
    model = load_pretrained(a.weights)
    rows = []  # (title, [panels])
    scored = []
    for p in find_images([a.lol / "low"]):
        x, ref = read_image(p)[None], read_image(a.lol / "high" / p.name)[None]
        y = model.enhance(x)
        scored.append((float(psnr(y, ref)), p.name, x[0], y[0], ref[0]))
    for score, name, x, y, ref in sorted(scored, key=lambda t: t[0])[: a.per_set]:
        rows.append((f"LOL {name}: PSNR {score:.1f} dB", [x, y, ref]))
    for set_name in ("DICM", "LIME"):
        scored = []
        for p in find_images([a.real / set_name]):
            x = load_resized(p, 1200)[None]
            y = model.enhance(x)
            scored.append((float(loe(x, y)), p.name, x[0], y[0]))
        for score, name, x, y in sorted(scored, key=lambda t: -t[0])[: a.per_set]:
            rows.append((f"{set_name} {name}: LOE {score:.0f}", [x, y]))
        print(f"{set_name}: {len(scored)} images", file=sys.stderr)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 3, figsize=(7.5, 2.0 * len(rows)), squeeze=False)
    for r, (title, panels) in enumerate(rows):
        for c in range(3):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(panels):
                ax.imshow(_small(panels[c]).permute(1, 2, 0).numpy())
                ax.set_title(
                    [title, "output", "reference"][c] if c else f"{title}\ninput", fontsize=7
                )
            else:
                ax.axis("off")
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=72)
    plt.close(fig)
    # Keep the picture small for the repository (<= 300 KB): if the plain PNG is larger, an
    # adaptive 256-colour palette with dithering (no posterised bands that the model did not make).
    from PIL import Image

    if a.out.stat().st_size > 300 * 1024:
        rgb = Image.open(a.out).convert("RGB")
        rgb.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(a.out, optimize=True)
    print(f"wrote {a.out} ({a.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
