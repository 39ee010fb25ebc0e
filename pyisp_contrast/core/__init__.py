"""Shared plumbing: input checks, device names, atomic file writes, colour constants, image I/O, resizing tables and the CPU thread
setting of the numba kernels."""

from .checks import (
    InvalidTypeError,
    as_batch_param,
    check_callable,
    check_choice,
    check_extremes,
    check_finite,
    check_float,
    check_generator,
    check_image,
    check_int,
    check_labels,
    keep_input_dtype,
    per_image_amount,
    unbatch,
    value_checks,
    value_checks_enabled,
)
from .color import LUMA_WEIGHTS, luma
from .devices import DeviceError, resolve_device
from .files import partial_path, written_atomically
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
from .threads import cpu_kernel_applies, follow_torch_threads

__all__ = [
    "HEIF_SUFFIXES",
    "IMAGE_SUFFIXES",
    "LUMA_WEIGHTS",
    "DeviceError",
    "ImageInfo",
    "ImageReadError",
    "InvalidTypeError",
    "Photo",
    "as_batch_param",
    "check_callable",
    "check_choice",
    "check_extremes",
    "check_finite",
    "check_float",
    "check_generator",
    "check_image",
    "check_int",
    "check_labels",
    "cpu_kernel_applies",
    "find_images",
    "follow_torch_threads",
    "keep_input_dtype",
    "linear_resize_indices",
    "luma",
    "partial_path",
    "per_image_amount",
    "read_image",
    "read_photo",
    "read_png_text",
    "resize_rows",
    "resolve_device",
    "unbatch",
    "value_checks",
    "value_checks_enabled",
    "write_image",
    "written_atomically",
]
