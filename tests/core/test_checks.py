"""Tests for pyisp_contrast.core.checks."""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

import numpy as np
import pytest
import torch

from pyisp_contrast.core.checks import (
    RANGE_TOLERANCE,
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
    check_plain_metadata,
    keep_input_dtype,
    per_image_amount,
    unbatch,
    value_checks,
    value_checks_enabled,
)

# ----------------------------------------------------------------------------------- check_image


def test_check_image_batched_and_unbatched(device, dtype) -> None:
    x = torch.rand(2, 3, 4, 5, device=device, dtype=dtype)
    y, unb = check_image(x)
    assert y is x and unb is False
    y, unb = check_image(x[0])
    assert y.shape == (1, 3, 4, 5) and unb is True
    assert unbatch(y, unb).shape == (3, 4, 5)
    assert unbatch(x, False) is x


def test_check_image_accepts_grey_and_any_channels_when_asked() -> None:
    check_image(torch.rand(1, 1, 2, 2))
    check_image(torch.rand(1, 5, 2, 2), channels=None)
    with pytest.raises(ValueError, match="3 channels"):
        check_image(torch.rand(1, 1, 2, 2), channels=(3,))


@pytest.mark.parametrize(
    "x,exc,match",
    [
        ([[0.5]], TypeError, "must be a torch.Tensor"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), TypeError, "images.float"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.bool), TypeError, "floating-point"),
        (torch.zeros(2, 2), ValueError, r"\(B, C, H, W\) or \(C, H, W\)"),
        (torch.zeros(1, 1, 3, 2, 2), ValueError, "shape"),
        (torch.zeros(0, 3, 2, 2), ValueError, "empty batch"),
        (torch.zeros(1, 3, 0, 2), ValueError, "empty spatial size"),
        (torch.zeros(1, 2, 2, 2), ValueError, "1 or 3 channels"),
        (torch.full((1, 3, 2, 2), float("nan")), ValueError, "NaN or inf"),
        (torch.full((1, 3, 2, 2), float("inf")), ValueError, "NaN or inf"),
        (torch.full((1, 3, 2, 2), 1.5), ValueError, r"\[0, 1\].*max 1\.5"),
        (torch.full((1, 3, 2, 2), -0.5), ValueError, r"min -0\.5"),
    ],
)
def test_check_image_errors(x, exc, match) -> None:
    with pytest.raises(exc, match=match):
        check_image(x, "images")


@pytest.mark.parametrize(
    "bad",
    [
        (float("nan"), 0.5),
        (0.0, float("inf")),
        (-float("inf"), 0.5),
        (-0.2, 0.5),
        (0.0, 1.5),
    ],
)
def test_check_extremes_raises_check_images_errors(bad) -> None:
    """The extremes of an image give the same error, word for word, as the image itself, so
    code that has them already (a kernel's statistics, SLIC's per-image minima) can check once."""
    lo, hi = bad
    image = torch.tensor([lo, hi, 0.5]).view(1, 1, 1, 3)
    with pytest.raises(ValueError) as from_image:
        check_image(image, "photo", channels=None)
    with pytest.raises(ValueError) as from_extremes:
        check_extremes(lo, hi, "photo")
    assert str(from_extremes.value) == str(from_image.value)


def test_check_extremes_passes_in_range_and_can_skip_the_range() -> None:
    check_extremes(0.0, 1.0)
    check_extremes(-RANGE_TOLERANCE, 1 + RANGE_TOLERANCE)
    check_extremes(-3.0, 7.0, check_range=False)
    with pytest.raises(ValueError, match="NaN or inf"):
        check_extremes(0.0, float("nan"), check_range=False)


def test_check_image_names_the_argument_and_batched_only() -> None:
    with pytest.raises(ValueError, match="`positives`"):
        check_image(torch.full((1, 3, 2, 2), 2.0), "positives")
    with pytest.raises(ValueError, match=r"\(B, C, H, W\), got"):
        check_image(torch.rand(3, 2, 2), allow_unbatched=False)


def test_range_tolerance_and_range_switch() -> None:
    check_image(torch.full((1, 1, 1, 1), 1 + RANGE_TOLERANCE / 2))
    check_image(torch.full((1, 1, 1, 1), -RANGE_TOLERANCE / 2))
    check_image(torch.full((1, 1, 1, 1), 7.0), check_range=False)
    with pytest.raises(ValueError, match="NaN"):  # finiteness is still checked
        check_image(torch.full((1, 1, 1, 1), float("nan")), check_range=False)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("check_range", [True, False])
def test_one_non_finite_pixel_among_valid_ones_is_refused(bad: float, check_range: bool) -> None:
    """The finiteness check comes from the min and max (NaN propagates, inf reaches one of them):
    one bad pixel anywhere, with or without the range check, in any float dtype."""
    for dtype in (torch.float16, torch.float32, torch.float64):
        x = torch.rand(2, 3, 17, 19, dtype=dtype)
        x[1, 2, 16, 3] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            check_image(x, check_range=check_range)


def test_value_checks_context_switches_off_and_restores() -> None:
    assert value_checks_enabled()
    with value_checks(False):
        assert not value_checks_enabled()
        check_image(torch.full((1, 3, 2, 2), float("nan")))  # not checked
        check_finite(torch.tensor([float("inf")]), "x")
        with value_checks(True):
            assert value_checks_enabled()
        assert not value_checks_enabled()
    assert value_checks_enabled()


def test_value_checks_restored_after_exception() -> None:
    with pytest.raises(RuntimeError), value_checks(False):
        raise RuntimeError
    assert value_checks_enabled()


def test_value_checks_are_per_thread() -> None:
    seen = []
    with value_checks(False):
        t = threading.Thread(target=lambda: seen.append(value_checks_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_check_finite() -> None:
    check_finite(torch.zeros(3), "x")
    check_finite(torch.zeros(0), "x")
    with pytest.raises(ValueError, match="`weights` contains NaN"):
        check_finite(torch.tensor([1.0, float("nan")]), "weights")


# -------------------------------------------------------------------------------- as_batch_param


def test_as_batch_param_forms(dtype) -> None:
    like = torch.zeros(3, 1, 2, 2, dtype=dtype)
    p = as_batch_param(2.0, 3, "g", like=like)
    assert p.shape == (3, 1, 1, 1) and p.dtype == dtype and p.flatten().tolist() == [2.0] * 3
    p = as_batch_param(2, 3, "g", like=like)  # ints are numbers too
    assert p.flatten().tolist() == [2.0] * 3
    p = as_batch_param(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), 3, "g", like=like)
    assert p.dtype == dtype and p.flatten().tolist() == [1.0, 2.0, 3.0]
    p = as_batch_param(torch.tensor(4.0), 3, "g", like=like)
    assert p.flatten().tolist() == [4.0] * 3
    p = as_batch_param(torch.tensor([5.0]), 3, "g", like=like)
    assert p.flatten().tolist() == [5.0] * 3


def test_as_batch_param_keeps_gradients() -> None:
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    p = as_batch_param(v, 2, "g", like=torch.zeros(2, 1, 1, 1))
    (p.sum() * 3).backward()
    assert v.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "value,kwargs,exc,match",
    [
        (True, {}, TypeError, "float or a"),
        ("2", {}, TypeError, "float or a"),
        (None, {}, TypeError, "float or a"),
        (torch.ones(2), {}, ValueError, r"shape \(3,\)"),
        (torch.ones(3, 1), {}, ValueError, "one value per image"),
        (torch.ones(3, dtype=torch.complex64), {}, TypeError, "real"),
        (float("nan"), {}, ValueError, "finite"),
        (float("inf"), {}, ValueError, "finite"),
        (0.0, {"low": 0.0, "low_inclusive": False}, ValueError, r"must lie in \(0, inf"),
        (-1.0, {"low": 0.0}, ValueError, r"\[0, inf\]"),
        (2.0, {"low": 0.0, "high": 1.0}, ValueError, r"\[0, 1\]"),
        (1.0, {"high": 1.0, "high_inclusive": False}, ValueError, r"must lie in .-inf, 1\)"),
        (torch.tensor([0.5, 0.5, 3.0]), {"high": 1.0}, ValueError, r"got \[0\.5, 0\.5, 3\.0\]"),
    ],
)
def test_as_batch_param_errors(value, kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        as_batch_param(value, 3, "gamma", like=torch.zeros(3, 1, 1, 1), **kwargs)


def test_as_batch_param_bounds_inclusive_by_default_and_skipped_when_off() -> None:
    like = torch.zeros(1, 1, 1, 1)
    as_batch_param(0.0, 1, "g", like=like, low=0.0, high=1.0)
    as_batch_param(1.0, 1, "g", like=like, low=0.0, high=1.0)
    with value_checks(False):
        assert float(as_batch_param(5.0, 1, "g", like=like, high=1.0)) == 5.0


# ----------------------------------------------------------------------------------- check_labels


def test_check_labels() -> None:
    lab = torch.zeros(2, 3, 4, dtype=torch.int32)
    out = check_labels(lab, shape=(2, 3, 4))
    assert out.dtype == torch.int64 and out.shape == (2, 3, 4)


@pytest.mark.parametrize(
    "labels,kwargs,exc,match",
    [
        (torch.zeros(2, 3, 4), {}, TypeError, "integer tensor"),
        (torch.zeros(2, 3, 4, dtype=torch.bool), {}, TypeError, "integer tensor"),
        (torch.zeros(3, 4, dtype=torch.long), {}, ValueError, r"\(B, H, W\)"),
        (torch.zeros(2, 3, 4, dtype=torch.long), {"shape": (2, 3, 5)}, ValueError, "need"),
        (torch.zeros(0, 3, 4, dtype=torch.long), {}, ValueError, "empty"),
        (-torch.ones(1, 2, 2, dtype=torch.long), {}, ValueError, "non-negative"),
        ([[0]], {}, TypeError, "torch.Tensor"),
    ],
)
def test_check_labels_errors(labels, kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        check_labels(labels, "labels", **kwargs)


# -------------------------------------------------------------------------------- check_generator


def test_check_generator() -> None:
    assert check_generator(None, torch.device("cpu")) is None
    g = torch.Generator()
    assert check_generator(g, torch.device("cpu")) is g
    assert check_generator(g, "cpu") is g
    with pytest.raises(TypeError, match=r"torch\.Generator or None"):
        check_generator(0, torch.device("cpu"))
    with pytest.raises(ValueError, match="device='cuda'"):
        check_generator(g, torch.device("cuda"))


# -------------------------------------------------------------------------- check_plain_metadata


def test_check_plain_metadata_names_the_offending_entry() -> None:
    check_plain_metadata({"a": 1, "b": [1.5, "x", None, True], "c": {"d": (1, 2)}})
    with pytest.raises(TypeError, match=r"""metadata "c\['d'\]\[1\]" is a Tensor"""):
        check_plain_metadata({"c": {"d": (1, torch.tensor(2))}})
    with pytest.raises(TypeError, match=r"metadata 'v' is a TorchVersion"):
        check_plain_metadata({"v": torch.__version__})
    with pytest.raises(TypeError, match="non-str key 3"):
        check_plain_metadata({"c": {3: 1}})


# ------------------------------------------------------------------------------ keep_input_dtype


class _Pair(NamedTuple):
    image: torch.Tensor
    index: torch.Tensor


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.full((1, 3, 1, 1), 0.5))
        self.seen: list[torch.dtype] = []

    @keep_input_dtype
    def forward(self, images: torch.Tensor, *, offset: float = 0.0) -> _Pair:
        self.seen.append(images.dtype)
        return _Pair(images * self.scale + offset, torch.zeros(2, dtype=torch.long))

    @keep_input_dtype
    def nested(self, images: torch.Tensor) -> dict:
        return {"out": [images * self.scale, (images.sum(),)], "n": 3}

    @keep_input_dtype
    def same(self, images: torch.Tensor) -> torch.Tensor:
        return images


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_keep_input_dtype_computes_in_the_module_dtype(dtype) -> None:
    net = _Net()
    x = torch.rand(2, 3, 4, 4)
    out = net(x.to(dtype), offset=0.25)
    assert net.seen == [torch.float32]  # the method ran on a float32 copy
    assert type(out) is _Pair and out.image.dtype == dtype
    assert out.index.dtype == torch.long  # integer results are left alone
    torch.testing.assert_close(out.image, (x * 0.5 + 0.25).to(dtype))
    nested = net.nested(x.to(dtype))
    assert nested["n"] == 3
    assert [t.dtype for t in (nested["out"][0], nested["out"][1][0])] == [dtype, dtype]
    assert isinstance(nested["out"], list) and isinstance(nested["out"][1], tuple)


def test_keep_input_dtype_copies_nothing_when_dtypes_agree() -> None:
    net = _Net()
    x = torch.rand(1, 3, 2, 2)
    assert net.same(x) is x
    assert net.double().same(x.double()).dtype == torch.float64
    # a float64 module computes in float64 and returns the input's float32
    assert net.same(x).dtype == torch.float32


def test_keep_input_dtype_without_parameters_keeps_the_input() -> None:
    class Plain(torch.nn.Module):
        @keep_input_dtype
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return images * 2

    x = torch.rand(3, 2, 2, dtype=torch.float64)
    assert Plain()(x).dtype == torch.float64


def test_keep_input_dtype_gradients_reach_the_input() -> None:
    net = _Net()
    x = torch.rand(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    net(x).image.sum().backward()
    assert x.grad.dtype == torch.float64
    torch.testing.assert_close(x.grad, torch.full_like(x, 0.5))
    assert net.scale.grad.dtype == torch.float32


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.zeros(3, 2, 2, dtype=torch.uint8), r"floating-point .* \[0, 1\].*float\(\) / 255"),
        (torch.zeros(3, 2, 2, dtype=torch.int32), "got dtype torch.int32"),
        (torch.zeros(3, 2, 2, dtype=torch.bool), "got dtype torch.bool"),
        (torch.zeros(3, 2, 2, dtype=torch.complex64), "got dtype torch.complex64"),
        ([[0.5]], "must be a torch.Tensor, got list"),
    ],
    ids=["uint8", "int32", "bool", "complex", "list"],
)
def test_keep_input_dtype_refuses_non_float_images(images, match) -> None:
    with pytest.raises(TypeError, match=match):
        _Net()(images)


# ------------------------------------------------------------------------------------------------
# Shared argument validators: check_int, check_float, check_choice (issue 15, item 5)
# ------------------------------------------------------------------------------------------------
def test_check_int_accepts_and_returns_int():
    assert check_int(3, "n", 1) == 3
    assert check_int(0, "n", 0) == 0
    assert check_int(-5, "n") == -5
    assert check_int(None, "n", 1, optional=True) is None
    out = check_int(np.int64(4), "n", 1, allow_numpy=True)
    assert out == 4 and type(out) is int


@pytest.mark.parametrize(
    ("value", "kwargs", "exc", "message"),
    [
        (0, {"low": 1}, ValueError, "`n` must be a positive int, got 0."),
        (-1, {"low": 0}, ValueError, "`n` must be a non-negative int, got -1."),
        (15, {"low": 16}, ValueError, "`n` must be an int >= 16, got 15."),
        (9, {"low": 1, "high": 8}, ValueError, "`n` must be an int in [1, 8], got 9."),
        (9, {"high": 8}, ValueError, "`n` must be an int <= 8, got 9."),
        (0, {"low": 1, "hint": "grid cells"}, ValueError, "a positive int (grid cells), got 0."),
        (0, {"low": 1, "optional": True}, ValueError, "a positive int or None, got 0."),
        (2.0, {"low": 1}, TypeError, "`n` must be a positive int, got 2.0."),
        (True, {}, TypeError, "`n` must be an int, got True."),
        ("3", {}, TypeError, "got '3'."),
        (None, {}, TypeError, "`n` must be an int, got None."),
    ],
)
def test_check_int_refuses(value, kwargs, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        check_int(value, "n", **kwargs)


def test_check_int_numpy_only_when_allowed():
    with pytest.raises(TypeError, match="int"):
        check_int(np.int64(3), "n")


def test_wrong_type_is_both_type_and_value_error():
    # validators that raised ValueError for a wrong type before they were shared keep working
    for call in (lambda: check_int(2.5, "n"), lambda: check_float("x", "v")):
        with pytest.raises(InvalidTypeError) as info:
            call()
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_check_float_accepts_and_returns_float():
    out = check_float(2, "x", 0.0, low_open=True)
    assert out == 2.0 and type(out) is float
    assert check_float(0.0, "x", 0.0) == 0.0
    assert check_float(1.0, "x", 0.0, 1.0, low_open=True) == 1.0
    assert check_float(float("inf"), "x", 0.0, finite=False) == float("inf")
    assert check_float(None, "x", optional=True) is None


@pytest.mark.parametrize(
    ("value", "kwargs", "exc", "message"),
    [
        (0.0, {"low": 0.0, "low_open": True}, ValueError, "`x` must be a positive finite number"),
        (-1, {"low": 0.0, "finite": False}, ValueError, "`x` must be a number >= 0, got -1."),
        (0.5, {"low": 1.0}, ValueError, "`x` must be a finite number >= 1, got 0.5."),
        (1.0, {"low": 0.0, "high": 1.0, "high_open": True}, ValueError, "in [0, 1), got 1.0."),
        (0.0, {"low": 0.0, "high": 1.0, "low_open": True}, ValueError, "in (0, 1], got 0.0."),
        (float("inf"), {"low": 0.0}, ValueError, "finite number >= 0, got inf."),
        (float("nan"), {"low": 0.0, "finite": False}, ValueError, "got nan."),
        (float("nan"), {}, ValueError, "`x` must be a finite number, got nan."),
        (0.0, {"low": 0.0, "low_open": True, "hint": "a variance"}, ValueError, "(a variance)"),
        (True, {}, TypeError, "`x` must be a finite number, got True."),
        ("1", {}, TypeError, "got '1'."),
        (torch.tensor(1.0), {}, TypeError, "`x` must be a finite number"),
    ],
)
def test_check_float_refuses(value, kwargs, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        check_float(value, "x", **kwargs)


def test_check_choice():
    assert check_choice("b", "mode", ("a", "b")) == "b"
    assert check_choice(2, "k", {1, 2}) == 2
    with pytest.raises(ValueError, match=r"`mode` must be one of 'a', 'b', got 'c'\."):
        check_choice("c", "mode", ("a", "b"))
    with pytest.raises(ValueError, match=r"got \['a'\]"):
        check_choice(["a"], "mode", ("a", "b"))  # unhashable: compared, not looked up


def test_check_callable():
    assert check_callable(len, "f", "f(x)") is len
    assert check_callable(None, "f", "f(x)", optional=True) is None
    with pytest.raises(TypeError, match=r"`f` must be callable: f\(x\); got int\."):
        check_callable(3, "f", "f(x)")
    with pytest.raises(TypeError, match="got NoneType"):
        check_callable(None, "f", "f(x)")


def test_per_image_amount_takes_one_value_per_image_and_checks_the_range() -> None:
    like = torch.zeros(3, 1, 2, 2, dtype=torch.float64)
    assert per_image_amount(0.5, "amount", like).tolist() == [0.5, 0.5, 0.5]
    out = per_image_amount(torch.tensor([0.0, 1.0, 0.25]), "amount", like, high=1.0)
    assert out.dtype == torch.float64 and out.tolist() == [0.0, 1.0, 0.25]
    for bad, match in [
        (torch.tensor([0.5]), r"one value per image, shape \(3,\)"),  # no broadcast
        (torch.tensor([0.1, -0.1, 0.2]), r"finite and >= 0"),
        (torch.tensor([0.1, float("nan"), 0.2]), "finite"),
        (-1.0, "amount"),
    ]:
        with pytest.raises(ValueError, match=match):
            per_image_amount(bad, "amount", like)
    with pytest.raises(ValueError, match=r"finite and in \[0, 1\]"):
        per_image_amount(torch.tensor([0.1, 1.5, 0.2]), "amount", like, high=1.0)
    with pytest.raises(ValueError, match="amount"):
        per_image_amount(1.5, "amount", like, high=1.0)
