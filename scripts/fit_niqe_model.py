#!/usr/bin/env python3
"""Fit the pristine NIQE model shipped in ``pyisp_contrast/metrics/niqe_pristine.npz``.

usage: python scripts/fit_niqe_model.py [DATA_DIR ...] [-o OUT.npz] [--holdout-every 5]

Reads every image under DATA_DIR (recursively; default ../shared/data/normal), keeps the TRAINING
split (sorted by path, every 5th image held out, the same split the trainer uses) and fits the mean and
covariance of the NIQE features of their sharpest blocks (:func:`pyisp_contrast.metrics.fit_niqe_model`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.metrics.niqe import NIQEModel, fit_niqe_model
from pyisp_contrast.train.datasets import split_paths

DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "pyisp_contrast" / "metrics" / "niqe_pristine.npz"
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("data", nargs="*", default=["../shared/data/normal"])
    ap.add_argument("-o", "--out", default=str(DEFAULT_OUT))
    ap.add_argument("--holdout-every", type=int, default=5)
    ap.add_argument("--sharpness-threshold", type=float, default=0.75)
    a = ap.parse_args()
    paths = split_paths(find_images(a.data, recursive=True), "train", a.holdout_every)
    t0 = time.perf_counter()
    model = fit_niqe_model(
        (read_image(p) for p in paths), sharpness_threshold=a.sharpness_threshold
    )
    model.save(a.out)
    check = NIQEModel.load(a.out)
    print(
        f"fitted on {len(paths)} training images ({model.num_blocks} blocks) in "
        f"{time.perf_counter() - t0:.1f} s -> {a.out} (mean[:4] = {check.mean[:4].tolist()})"
    )


if __name__ == "__main__":
    main()
