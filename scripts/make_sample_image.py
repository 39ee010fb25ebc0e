"""Regenerate ``pyisp_contrast/data/sample_lowlight.png``, the bundled low-light sample.

scikit-image's ``astronaut`` photo (public domain), resized to 384 x 384 with antialiasing, then
darkened by the library's own physics-based synthesis (:func:`pyisp_contrast.isp.degrade.low_light`)
with a fixed seed: 3 to 4 stops less light, mild shot and read noise, a slight colour cast.

Run ``python scripts/make_sample_image.py [--out PATH] [--seed N]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from skimage import data

from pyisp_contrast.core.io import write_image
from pyisp_contrast.isp.degrade import low_light

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "pyisp_contrast" / "data" / "sample_lowlight.png"
)
SIZE = 384


def make(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean photo and its low-light version, both ``(3, SIZE, SIZE)`` in [0, 1]."""
    clean = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    clean = F.interpolate(
        clean, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False
    )
    clean = clean.clamp(0, 1)
    g = torch.Generator().manual_seed(seed)
    dark, _ = low_light(
        clean,
        ev_range=(-4.0, -3.0),
        shot_noise=(5e-4, 1e-3),
        read_noise=(1e-3, 2e-3),
        color_cast=(0.95, 1.05),
        generator=g,
    )
    return clean[0], dark[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _, dark = make(args.seed)
    write_image(args.out, dark)
    print(f"wrote {args.out} (mean {float(dark.mean()):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
