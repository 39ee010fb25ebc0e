"""Any float dtype in, the same dtype out, for every model's forward / enhance (issue 14).

The models compute in their parameters' dtype and return the input's: a float64 or float16 photo
must not fail on a float32 network (``Input type (double) and bias type (float)``), and the values
must be the float32 ones up to the input's precision. Integer images are refused with a message
that says to convert them to float in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from pyisp_contrast.contrastive import PixelStatistics
from pyisp_contrast.models import (
    PIE,
    CurveEstimator,
    Dehazer,
    Derainer,
    FastCurveEstimator,
    GuidedGainEnhancer,
    HazeEstimator,
    RainEstimator,
    load_pretrained,
)

FLOATS = [torch.float16, torch.float32, torch.float64]
# float16 keeps 11 significant bits: the input alone moves by up to 2^-11 relative, the output
# rounds again; float64 and float32 inputs hold the same float32 values here, so they agree exactly.
TOL = {torch.float16: {"atol": 1e-2, "rtol": 1e-2}, torch.float64: {"atol": 1e-6, "rtol": 1e-6}}


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    derainer = Derainer(RainEstimator(width=4))
    nn.init.normal_(derainer.estimator.tail.weight, std=0.05)  # not the identity it starts as
    return {
        "dce": CurveEstimator(channels=4, iterations=2),
        "fast": FastCurveEstimator(channels=4, working_side=16),
        "guided-gain": GuidedGainEnhancer(channels=4, working_side=16),
        "haze-estimator": HazeEstimator(width=4),
        "dehazer": Dehazer(HazeEstimator(width=4)),
        "rain-estimator": RainEstimator(width=4),
        "derainer": derainer,
        "pie": PIE(
            "fast",
            network_kwargs={"channels": 4, "working_side": 16},
            embedder=PixelStatistics(scales=(2,)),
            n_segments=4,
        ),
        "pretrained": load_pretrained(),
    }


MODELS = _models()

# (model, method) pairs: every public image-in method of each model.
METHODS = [
    (name, method)
    for name, model in MODELS.items()
    for method in ("forward", "enhance", "estimate")
    if callable(getattr(model, method, None))
]


def _call(model: nn.Module, method: str, images: torch.Tensor):
    return model(images) if method == "forward" else getattr(model, method)(images)


def _tensors(out) -> list[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else list(out)


def _images(device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return (0.05 + 0.9 * torch.rand(2, 3, 24, 20, generator=g)).to(device)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize(("name", "method"), METHODS, ids=[f"{n}.{m}" for n, m in METHODS])
def test_output_dtype_is_the_input_dtype(name: str, method: str, dtype, device) -> None:
    model = MODELS[name].to(device).eval()
    x32 = _images(device)
    expected = _tensors(_call(model, method, x32))
    got = _tensors(_call(model, method, x32.to(dtype)))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == dtype
        assert g.shape == e.shape and g.device == e.device
        if dtype != torch.float32:
            torch.testing.assert_close(g.float(), e, **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64], ids=str)
def test_unbatched_enhance_keeps_dtype(dtype, device) -> None:
    model = MODELS["pretrained"].to(device)
    x = _images(device)[0]
    out = model.enhance(x.to(dtype))
    assert out.dtype == dtype and out.shape == x.shape
    torch.testing.assert_close(out.float(), model.enhance(x), **TOL[dtype])


def test_computation_runs_in_the_model_dtype() -> None:
    # A float64 network with a float32 photo: float64 arithmetic, a float32 answer.
    net = CurveEstimator(channels=4, iterations=2).double()
    x = _images(torch.device("cpu"))
    out = net.enhance(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, net.enhance(x.double()).float(), atol=0, rtol=0)


def test_gradients_reach_a_float64_input_through_a_float32_network() -> None:
    net = CurveEstimator(channels=4, iterations=2)
    x = _images(torch.device("cpu")).double().requires_grad_()
    net(x).enhanced.sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float64
    assert bool(torch.isfinite(x.grad).all())
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in net.parameters())


INTEGER_IMAGES: dict[str, Callable[[], torch.Tensor]] = {
    "uint8": lambda: torch.full((3, 16, 16), 128, dtype=torch.uint8),
    "int64": lambda: torch.ones(2, 3, 16, 16, dtype=torch.int64),
    "bool": lambda: torch.ones(2, 3, 16, 16, dtype=torch.bool),
}


@pytest.mark.parametrize("kind", sorted(INTEGER_IMAGES))
@pytest.mark.parametrize(("name", "method"), METHODS, ids=[f"{n}.{m}" for n, m in METHODS])
def test_integer_images_are_refused(name: str, method: str, kind: str) -> None:
    model = MODELS[name].cpu()
    with pytest.raises(TypeError, match=r"floating-point tensor with values in \[0, 1\]") as err:
        _call(model, method, INTEGER_IMAGES[kind]())
    assert "images.float() / 255" in str(err.value)
