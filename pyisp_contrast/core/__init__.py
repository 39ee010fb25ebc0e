"""Shared plumbing: input checks, colour constants, image I/O and resizing tables."""

from .checks import (
    as_batch_param,
    check_finite,
    check_generator,
    check_image,
    check_labels,
    keep_input_dtype,
    unbatch,
    value_checks,
    value_checks_enabled,
)
from .color import LUMA_WEIGHTS, luma
from .io import (
    HEIF_SUFFIXES,
    IMAGE_SUFFIXES,
    ImageInfo,
    ImageReadError,
    Photo,
    find_images,
    read_image,
    read_photo,
    read_png_text,
    write_image,
)
from .resize import linear_resize_indices, resize_rows

__all__ = [
    "HEIF_SUFFIXES",
    "IMAGE_SUFFIXES",
    "LUMA_WEIGHTS",
    "ImageInfo",
    "ImageReadError",
    "Photo",
    "as_batch_param",
    "check_finite",
    "check_generator",
    "check_image",
    "check_labels",
    "find_images",
    "keep_input_dtype",
    "linear_resize_indices",
    "luma",
    "read_image",
    "read_photo",
    "read_png_text",
    "resize_rows",
    "unbatch",
    "value_checks",
    "value_checks_enabled",
    "write_image",
]
