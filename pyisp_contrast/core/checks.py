"""Input validation shared by every module.

All checks live here so that messages read the same everywhere and say what to do. Shape and dtype
checks are free; value checks (NaN/inf, range) need one reduction and, on a GPU, one host sync.
They are on by default; a training loop that has already validated its data can switch them off
with :func:`value_checks` (``with value_checks(False): ...``).

Arguments other than tensors are checked with :func:`check_int`, :func:`check_float`,
:func:`check_choice` and :func:`check_callable`, so every module words a bad argument the same way
(``"`name` must be <what>, got <value>."``); a wrong type raises :class:`InvalidTypeError`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "InvalidTypeError",
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
    "check_plain_metadata",
    "keep_input_dtype",
    "module_dtype",
    "per_image_amount",
    "unbatch",
    "value_checks",
    "value_checks_enabled",
]

_state = threading.local()

#: Values this far outside [0, 1] are still accepted as in range (float rounding of sRGB encodes).
RANGE_TOLERANCE = 1e-4


def value_checks_enabled() -> bool:
    """Whether value checks (NaN/inf and range) currently run."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def value_checks(enabled: bool) -> Iterator[None]:
    """Context manager that switches value checks on or off in this thread.

    Example:
        >>> import torch
        >>> from pyisp_contrast.core.checks import check_image, value_checks
        >>> with value_checks(False):
        ...     x, _ = check_image(torch.full((1, 3, 2, 2), 2.0))  # out of range, but not checked
    """
    previous = value_checks_enabled()
    _state.enabled = bool(enabled)
    try:
        yield
    finally:
        _state.enabled = previous


def check_finite(x: Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or inf (when value checks are on)."""
    if value_checks_enabled() and x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(
            f"`{name}` contains NaN or inf values; clean the input (e.g. torch.nan_to_num)."
        )


class InvalidTypeError(TypeError, ValueError):
    """An argument of the wrong type, raised by :func:`check_int` and :func:`check_float`.

    A ``TypeError``, as Python's convention wants, and also a ``ValueError``: before the checks
    were shared, many of them raised ``ValueError`` for a wrong type, and code that catches
    either keeps working.
    """


def _int_description(low: int | None, high: int | None, odd: bool = False) -> str:
    kind = "odd int" if odd else "int"
    if low is not None and high is not None:
        return f"an {kind} in [{low}, {high}]"
    if low == 1:
        return f"a positive {kind}"
    if low == 0:
        return f"a non-negative {kind}"
    if low is not None:
        return f"an {kind} >= {low}"
    if high is not None:
        return f"an {kind} <= {high}"
    return f"an {kind}"


def check_int(
    value: object,
    name: str,
    low: int | None = None,
    high: int | None = None,
    *,
    hint: str | None = None,
    optional: bool = False,
    allow_numpy: bool = False,
    odd: bool = False,
) -> Any:
    """Check that ``value`` is an int (not a bool) in ``[low, high]``; return it as an ``int``.

    Args:
        value: the argument.
        name: its name, for the message.
        low, high: inclusive bounds, ``None`` for none.
        hint: what the number means, added to the message in parentheses.
        optional: accept ``None`` too (and return it).
        allow_numpy: accept numpy integers too.
        odd: accept odd values only (window sides that have a centre).

    Raises:
        InvalidTypeError: not an int (a ``TypeError`` and a ``ValueError``).
        ValueError: out of range, or even with ``odd``.

    Example:
        >>> check_int(3, "tile", 1)
        3
        >>> check_int(0, "k", 1, hint="negatives per image")
        Traceback (most recent call last):
        ...
        ValueError: `k` must be a positive int (negatives per image), got 0.
        >>> check_int(4, "window_size", 1, odd=True)
        Traceback (most recent call last):
        ...
        ValueError: `window_size` must be a positive odd int, got 4.
    """
    if optional and value is None:
        return None
    kinds: tuple[type, ...] = (int, np.integer) if allow_numpy else (int,)
    ok_type = isinstance(value, kinds) and not isinstance(value, bool)
    bad = not ok_type or (low is not None and value < low) or (high is not None and value > high)
    if bad or (odd and value % 2 == 0):
        what = _int_description(low, high, odd) + (" or None" if optional else "")
        what += f" ({hint})" if hint else ""
        error = ValueError if ok_type else InvalidTypeError
        raise error(f"`{name}` must be {what}, got {value!r}.")
    return int(value)  # type: ignore[call-overload]


def _float_description(
    low: float | None, high: float | None, low_open: bool, high_open: bool, finite: bool
) -> str:
    if low is not None and high is not None:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        return f"a number in {lb}{low:g}, {high:g}{hb}"
    number = "finite number" if finite else "number"
    if low == 0 and low_open:
        return f"a positive {number}"
    if low is not None:
        return f"a {number} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a {number} {'<' if high_open else '<='} {high:g}"
    return f"a {number}"


def check_float(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    hint: str | None = None,
    optional: bool = False,
) -> Any:
    """Check that ``value`` is a real number (an int or float, not a bool) in range; return it as a
    ``float``.

    NaN is always refused; infinities only pass with ``finite=False`` (and no bound excluding them).

    Args:
        value: the argument.
        name: its name, for the message.
        low, high: bounds, ``None`` for none; inclusive unless ``low_open`` / ``high_open``.
        finite: refuse infinities.
        hint: what the number means, added to the message in parentheses.
        optional: accept ``None`` too (and return it).

    Raises:
        InvalidTypeError: not a number (a ``TypeError`` and a ``ValueError``).
        ValueError: NaN, infinite (with ``finite``) or out of range.

    Example:
        >>> check_float(2, "gamma", 0.0, low_open=True)
        2.0
        >>> check_float(1.5, "omega", 0.0, 1.0, low_open=True)
        Traceback (most recent call last):
        ...
        ValueError: `omega` must be a number in (0, 1], got 1.5.
    """
    if optional and value is None:
        return None
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if ok_type:
        v = float(value)  # type: ignore[arg-type]
        ok = not math.isnan(v) and not (finite and math.isinf(v))
        if low is not None:
            ok = ok and (v > low if low_open else v >= low)
        if high is not None:
            ok = ok and (v < high if high_open else v <= high)
        if ok:
            return v
    what = _float_description(low, high, low_open, high_open, finite)
    what += (" or None" if optional else "") + (f" ({hint})" if hint else "")
    error = ValueError if ok_type else InvalidTypeError
    raise error(f"`{name}` must be {what}, got {value!r}.")


def check_choice(value: object, name: str, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``; return it.

    Example:
        >>> check_choice("sgd", "optimizer", ("adam", "sgd"))
        'sgd'
        >>> check_choice("rmsprop", "optimizer", ("adam", "sgd"))
        Traceback (most recent call last):
        ...
        ValueError: `optimizer` must be one of 'adam', 'sgd', got 'rmsprop'.
    """
    options = tuple(choices)
    if value not in options:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(c) for c in options)}, got {value!r}."
        )
    return value


def check_callable(value: object, name: str, usage: str, *, optional: bool = False) -> Any:
    """Check that ``value`` is callable (or ``None`` with ``optional``); return it.

    ``usage`` shows how it is called, for the message.

    Example:
        >>> check_callable(len, "size", "size(x) -> int") is len
        True
        >>> check_callable(3, "size", "size(x) -> int")
        Traceback (most recent call last):
        ...
        TypeError: `size` must be callable: size(x) -> int; got int.
    """
    if not (callable(value) or (optional and value is None)):
        raise TypeError(f"`{name}` must be callable: {usage}; got {type(value).__name__}.")
    return value


def _check_float_tensor(images: object, name: str) -> None:
    if not isinstance(images, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(images).__name__}.")
    if not images.is_floating_point():
        raise TypeError(
            f"`{name}` must be a floating-point tensor with values in [0, 1], got dtype {images.dtype}; "
            "convert uint8 images with `images.float() / 255`."
        )


def check_extremes(lo: float, hi: float, name: str = "images", *, check_range: bool = True) -> None:
    """Raise :func:`check_image`'s value errors from an image's minimum ``lo`` and maximum ``hi``.

    For code that has the extremes already (one ``aminmax``, a kernel's statistics): min and max
    propagate NaN and reach any inf, so the two numbers say whether every value is finite, and the
    messages are the same as :func:`check_image`'s wherever the check is made.

    Example:
        >>> check_extremes(0.0, 1.0)
        >>> check_extremes(0.0, float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: `images` contains NaN or inf values; clean the input (e.g. torch.nan_to_num).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"`{name}` contains NaN or inf values; clean the input (e.g. torch.nan_to_num)."
        )
    if check_range and (lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE):
        raise ValueError(
            f"`{name}` must hold values in [0, 1], got min {lo:.4g} and max {hi:.4g}; "
            "divide 8-bit images by 255 or clamp with `images.clamp(0, 1)`."
        )


def check_image(
    images: Tensor,
    name: str = "images",
    *,
    channels: Sequence[int] | None = (1, 3),
    allow_unbatched: bool = True,
    check_range: bool = True,
) -> tuple[Tensor, bool]:
    """Validate an image tensor and return it as ``(B, C, H, W)``.

    Args:
        images: tensor of shape ``(B, C, H, W)`` or, when ``allow_unbatched``, ``(C, H, W)``.
        name: argument name used in error messages.
        channels: accepted channel counts, or ``None`` for any.
        allow_unbatched: accept ``(C, H, W)`` and add a batch dimension.
        check_range: require values in ``[0, 1]`` (only while value checks are on).

    Returns:
        The batched tensor and whether a batch dimension was added (pass it to :func:`unbatch`).

    Raises:
        TypeError: not a floating-point tensor.
        ValueError: wrong rank, channel count, empty batch or spatial size, NaN/inf, out of range.
    """
    _check_float_tensor(images, name)
    unbatched = images.ndim == 3 and allow_unbatched
    if unbatched:
        images = images.unsqueeze(0)
    if images.ndim != 4:
        expected = "(B, C, H, W) or (C, H, W)" if allow_unbatched else "(B, C, H, W)"
        raise ValueError(f"`{name}` must have shape {expected}, got {tuple(images.shape)}.")
    b, c, h, w = images.shape
    if b == 0:
        raise ValueError(f"`{name}` is an empty batch (B = 0); pass at least one image.")
    if h == 0 or w == 0:
        raise ValueError(f"`{name}` has an empty spatial size {h}x{w}.")
    if channels is not None and c not in channels:
        allowed = " or ".join(str(k) for k in channels)
        raise ValueError(
            f"`{name}` must have {allowed} channels in dimension -3, got {c} (shape {tuple(images.shape)})."
        )
    if value_checks_enabled():
        # Two reductions, one host sync on GPU. min and max propagate NaN and reach any inf, so
        # they also say whether every value is finite (torch.isfinite(images).all() cost 3.6 ms
        # on a 1200 x 900 photo where these two take 0.15 ms).
        lo, hi = torch.stack([images.amin(), images.amax()]).tolist()
        check_extremes(lo, hi, name, check_range=check_range)
    return images, unbatched


def unbatch(x: Tensor, unbatched: bool) -> Tensor:
    """Undo the batch dimension added by :func:`check_image`."""
    return x.squeeze(0) if unbatched else x


_Method = TypeVar("_Method", bound=Callable[..., Any])


def module_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype of the module's first floating-point parameter (or buffer); ``None`` if it has none.

    Example:
        >>> module_dtype(torch.nn.Linear(2, 2).double()), module_dtype(torch.nn.ReLU())
        (torch.float64, None)
    """
    for tensors in (module.parameters(), module.buffers()):
        for t in tensors:
            if t.is_floating_point():
                return t.dtype
    return None


def _cast_floats(out: Any, dtype: torch.dtype) -> Any:
    """``out`` with every floating-point tensor in it (also inside tuples, named tuples, lists and
    dicts) cast to ``dtype``."""
    if isinstance(out, Tensor):
        return out.to(dtype) if out.is_floating_point() and out.dtype != dtype else out
    if isinstance(out, tuple) and hasattr(out, "_fields"):  # NamedTuple, e.g. CurveOutput
        return type(out)(*(_cast_floats(v, dtype) for v in out))
    if isinstance(out, tuple | list):
        return type(out)(_cast_floats(v, dtype) for v in out)
    if isinstance(out, dict):
        return {k: _cast_floats(v, dtype) for k, v in out.items()}
    return out


def keep_input_dtype(method: _Method) -> _Method:
    """Decorator for a model's image method: any float dtype in, the same dtype out.

    The decorated method is called as ``method(self, images, ...)`` where ``self`` is an
    ``nn.Module``. ``images`` must be a floating-point tensor (else ``TypeError`` saying to convert
    to float in [0, 1]); it is cast to the dtype of the module's parameters, the method computes in
    that dtype, and every floating-point tensor of its result (a tensor, or one inside a tuple,
    named tuple, list or dict) is cast back to the input's dtype. When the dtypes already agree
    nothing is copied. Casts are differentiable, so gradients reach the input in its own dtype.

    Example:
        >>> class Net(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.linear = torch.nn.Linear(2, 2)  # float32 weights
        ...
        ...     @keep_input_dtype
        ...     def forward(self, images):
        ...         return self.linear(images)  # a float64 input alone would raise here
        >>> Net()(torch.rand(3, 2, dtype=torch.float64)).dtype
        torch.float64
        >>> Net()(torch.ones(3, 2, dtype=torch.uint8))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: `images` must be a floating-point tensor with values in [0, 1], got dtype torch.uint8; ...
    """

    @functools.wraps(method)
    def wrapper(self: nn.Module, images: Tensor, *args: Any, **kwargs: Any) -> Any:
        _check_float_tensor(images, "images")
        dtype = module_dtype(self)
        if dtype is None or dtype == images.dtype:
            return method(self, images, *args, **kwargs)
        out = method(self, images.to(dtype), *args, **kwargs)
        return _cast_floats(out, images.dtype)

    return wrapper  # type: ignore[return-value]


def per_image_amount(
    value: float | Tensor,
    name: str,
    like: Tensor,
    *,
    high: float | None = None,
    hint: str | None = None,
) -> Tensor:
    """An amount for each image of ``like`` ``(B, ...)``: a number, or a ``(B,)`` tensor, finite
    and in ``[0, high]`` (``>= 0`` without ``high``); returned as ``(B,)`` on ``like``'s device
    and dtype.

    Stricter than :func:`as_batch_param`: a tensor must hold exactly one value per image (no
    broadcast of one value), as the per-image amounts of sharpening and tone curves take them.

    Example:
        >>> import torch
        >>> per_image_amount(0.5, "amount", torch.zeros(3, 1, 2, 2)).tolist()
        [0.5, 0.5, 0.5]
    """
    batch = like.shape[0]
    if isinstance(value, Tensor):
        if value.shape != (batch,):
            raise ValueError(
                f"`{name}` must be a number or hold one value per image, shape ({batch},); "
                f"got shape {tuple(value.shape)}."
            )
        bad = value < 0 if high is None else (value < 0) | (value > high)
        if not bool(torch.isfinite(value).all()) or bool(bad.any()):
            span = ">= 0" if high is None else f"in [0, {high:g}]"
            raise ValueError(f"`{name}` must be finite and {span}, got {value.tolist()}.")
        return value.to(device=like.device, dtype=like.dtype)
    return like.new_full((batch,), check_float(value, name, 0.0, high, hint=hint))


def as_batch_param(
    value: float | Tensor,
    batch: int,
    name: str,
    *,
    like: Tensor,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Tensor:
    """Turn a float or a ``(B,)`` tensor into a ``(B, 1, 1, 1)`` tensor on ``like``'s device and dtype.

    A scalar or one-element tensor is broadcast to every image. Range bounds are checked (when value
    checks are on) and reported with the argument's name.

    Example:
        >>> import torch
        >>> as_batch_param(2.0, 3, "gamma", like=torch.zeros(3, 1, 4, 4)).shape
        torch.Size([3, 1, 1, 1])
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Tensor):
        raise TypeError(f"`{name}` must be a float or a (B,) tensor, got {type(value).__name__}.")
    if isinstance(value, Tensor):
        if value.ndim > 1 or (value.ndim == 1 and value.shape[0] not in (1, batch)):
            raise ValueError(
                f"`{name}` must be a float or a tensor of shape ({batch},) (one value per image), "
                f"got shape {tuple(value.shape)}."
            )
        if value.is_complex():
            raise TypeError(f"`{name}` must be real, got dtype {value.dtype}.")
        t = value.to(device=like.device, dtype=like.dtype).reshape(-1)
    else:
        t = torch.tensor([float(value)], device=like.device, dtype=like.dtype)
    if value_checks_enabled():
        vals = t.detach()
        if not bool(torch.isfinite(vals).all()):
            raise ValueError(f"`{name}` must be finite, got {value}.")
        bad = torch.zeros_like(vals, dtype=torch.bool)
        if low is not None:
            bad |= (vals < low) if low_inclusive else (vals <= low)
        if high is not None:
            bad |= (vals > high) if high_inclusive else (vals >= high)
        if bool(bad.any()):
            lb = "[" if low_inclusive else "("
            hb = "]" if high_inclusive else ")"
            lo_s = "-inf" if low is None else f"{low:g}"
            hi_s = "inf" if high is None else f"{high:g}"
            raise ValueError(f"`{name}` must lie in {lb}{lo_s}, {hi_s}{hb}, got {vals.tolist()}.")
    return t.expand(batch).reshape(batch, 1, 1, 1)


def check_labels(
    labels: Tensor, name: str = "labels", *, shape: Sequence[int] | None = None
) -> Tensor:
    """Validate a ``(B, H, W)`` integer label tensor (non-negative); returns it as int64.

    Args:
        labels: region labels per pixel.
        name: argument name for messages.
        shape: expected ``(B, H, W)``, e.g. taken from the images the labels belong to.
    """
    if not isinstance(labels, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(labels).__name__}.")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(
            f"`{name}` must be an integer tensor (int64 preferred), got dtype {labels.dtype}."
        )
    if labels.ndim != 3:
        raise ValueError(f"`{name}` must have shape (B, H, W), got {tuple(labels.shape)}.")
    if shape is not None and tuple(labels.shape) != tuple(shape):
        raise ValueError(
            f"`{name}` has shape {tuple(labels.shape)} but the images need {tuple(shape)}."
        )
    if labels.numel() == 0:
        raise ValueError(f"`{name}` is empty.")
    if value_checks_enabled() and bool((labels < 0).any()):
        raise ValueError(f"`{name}` must be non-negative region indices.")
    return labels.long()


def check_generator(
    generator: torch.Generator | None, device: torch.device
) -> torch.Generator | None:
    """Check that ``generator`` (if given) lives on ``device``'s type, as torch's samplers require."""
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` must be a torch.Generator or None, got {type(generator).__name__}."
        )
    if generator.device.type != torch.device(device).type:
        raise ValueError(
            f"`generator` is on {generator.device.type} but the images are on {torch.device(device).type}; "
            f"create it with torch.Generator(device={torch.device(device).type!r})."
        )
    return generator


_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: object, where: str) -> None:
    if type(value) in _PLAIN:
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for k, item in value.items():
            if type(k) is not str:
                raise TypeError(f"metadata {where!r} has a non-str key {k!r}.")
            _check_plain(item, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"metadata {where!r} is a {type(value).__name__}; store plain str, int, float, bool, None, "
        "lists and dicts of those (e.g. str(torch.__version__)), which weights_only=True loading accepts."
    )


def check_plain_metadata(metadata: Mapping[str, object]) -> None:
    """Raise ``TypeError`` naming the key unless every value is plain (str, int, float, bool, None,
    and lists, tuples and str-keyed dicts of those).

    Weight files are read with ``torch.load(..., weights_only=True)``, which refuses a whole file
    over one non-plain value (``torch.__version__`` is a ``str`` subclass it rejects), so savers
    check their metadata before writing.

    Example:
        >>> check_plain_metadata({"steps": 100, "data": {"normal": ["a", "b"]}})
        >>> check_plain_metadata({"torch": torch.__version__})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: metadata 'torch' is a TorchVersion; ...
    """
    for key, value in metadata.items():
        _check_plain(value, key)
