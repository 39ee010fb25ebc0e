"""Numbers given to the library are checked by core.checks everywhere, with its messages: NaN,
infinities and wrong types are refused where hand-written comparisons used to let them through."""

from __future__ import annotations

import math

import pytest
import torch

from pyisp_contrast.classical import dark_channel
from pyisp_contrast.contrastive import (
    L1Distance,
    PixelStatistics,
    RatioContrastiveLoss,
    TripletHingeLoss,
)
from pyisp_contrast.core.checks import InvalidTypeError
from pyisp_contrast.isp import inverse_scatter
from pyisp_contrast.losses import BrightnessWeighting
from pyisp_contrast.metrics import psnr, ssim
from pyisp_contrast.models import FastCurveEstimator
from pyisp_contrast.train.datasets import ResumableSampler

X = torch.full((1, 3, 16, 16), 0.5)


def _embed():
    return PixelStatistics(scales=(4,)), L1Distance()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: psnr(X, X, max_val=math.nan), "`max_val` must be a positive finite number"),
        (lambda: psnr(X, X, max_val=math.inf), "`max_val` must be a positive finite number"),
        (lambda: ssim(X, X, window_size=4), "`window_size` must be a positive odd int, got 4"),
        (lambda: ssim(X, X, max_val=0), "`max_val` must be a positive finite number"),
        (lambda: dark_channel(X, patch_size=0), "`patch_size` must be a positive odd int"),
        (lambda: RatioContrastiveLoss(*_embed(), eps=math.nan), "`eps` must be a positive"),
        (lambda: TripletHingeLoss(*_embed(), margin=math.inf), "`margin` must be a finite number"),
        (lambda: BrightnessWeighting(exponent=math.nan), "`exponent` must be a finite number"),
        (lambda: inverse_scatter(X, 0.5, 0.8, t_min=0.0), r"`t_min` must be a number in \(0, 1\]"),
        (
            lambda: FastCurveEstimator(working_side=None, scale_factor=0.5),
            "`scale_factor` must be a finite number >= 1",
        ),
        (
            lambda: ResumableSampler(10, batch_size=2, rank=2, world_size=2),
            r"`rank` must be an int in \[0, 1\] \(one of the 2 processes\), got 2",
        ),
    ],
)
def test_out_of_range_numbers_are_refused_with_the_shared_messages(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: psnr(X, X, max_val="1"),
        lambda: ssim(X, X, window_size=11.0),
        lambda: TripletHingeLoss(*_embed(), margin="0.1"),
        lambda: ResumableSampler(10, batch_size=2.0),
    ],
)
def test_wrong_types_are_invalid_type_errors(call) -> None:
    with pytest.raises(InvalidTypeError):
        call()
