"""One DCE-Net body for both curve estimators (issue 15, item 5), with the weights' names unchanged.

:class:`CurveEstimator`, :class:`FastCurveEstimator` and the exported inference module share
:class:`~pyisp_contrast.models.curve_net.DCEBody`. The refactor must not move a single weight: the
authors' checkpoints (``e_conv1.weight`` .. ``e_conv7.bias``, maybe with ``module.``) and every
bundled weight file load bit-exactly, and ``pie-default`` still enhances to the numbers recorded
from the code before the change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import pyisp_contrast.models as models
from pyisp_contrast.export import inference_module
from pyisp_contrast.models import (
    CurveEstimator,
    FastCurveEstimator,
    available_weights,
    load_pretrained,
)
from pyisp_contrast.models.curve_net import DCEBody

WEIGHTS = Path(models.__file__).parent / "weights"

DCE_KEYS = [f"e_conv{i}.{t}" for i in range(1, 8) for t in ("weight", "bias")]
FAST_KEYS = [
    f"e_conv{i}.{part}.{t}"
    for i in range(1, 8)
    for part in ("depthwise", "pointwise")
    for t in ("weight", "bias")
]


def _written_out_body(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """DCE-Net's body as in the Zero-DCE paper (Fig. 2), independent of the classes."""
    x1 = F.relu(net.e_conv1(x))
    x2 = F.relu(net.e_conv2(x1))
    x3 = F.relu(net.e_conv3(x2))
    x4 = F.relu(net.e_conv4(x3))
    x5 = F.relu(net.e_conv5(torch.cat([x3, x4], 1)))
    x6 = F.relu(net.e_conv6(torch.cat([x2, x5], 1)))
    return torch.tanh(net.e_conv7(torch.cat([x1, x6], 1)))


def _image(h: int = 48, w: int = 64) -> torch.Tensor:
    """A smooth, dark test image made without a random generator."""
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, h, dtype=torch.float64),
        torch.linspace(0, 1, w, dtype=torch.float64),
        indexing="ij",
    )
    return torch.stack([0.3 * xx, 0.25 * yy, 0.15 * (1 - xx) * yy + 0.05]).unsqueeze(0).float()


def test_one_body_everywhere():
    for cls in (CurveEstimator, FastCurveEstimator):
        assert issubclass(cls, DCEBody)
        assert cls.dce_maps is DCEBody.dce_maps
    for net in (CurveEstimator(iterations=4), FastCurveEstimator()):
        assert isinstance(inference_module(net), DCEBody)


def test_state_dict_names_and_order_unchanged():
    assert list(CurveEstimator().state_dict()) == DCE_KEYS
    assert list(FastCurveEstimator().state_dict()) == FAST_KEYS
    assert list(FastCurveEstimator(n_maps=8).state_dict()) == FAST_KEYS


def test_seeded_initialisation_unchanged():
    # the layers are built in the order they always were, so a seed gives the same weights as a
    # network whose seven layers are built one by one
    torch.manual_seed(3)
    net = CurveEstimator(channels=8, iterations=2)
    torch.manual_seed(3)
    convs = [
        torch.nn.Conv2d(i, o, 3, padding=1)
        for i, o in ((3, 8), (8, 8), (8, 8), (8, 8), (16, 8), (16, 8), (16, 6))
    ]
    ref = {f"e_conv{i + 1}.{k}": v for i, c in enumerate(convs) for k, v in c.state_dict().items()}
    assert all(torch.equal(v, ref[k]) for k, v in net.state_dict().items())


@pytest.mark.parametrize("prefix", ["", "module."])
def test_authors_checkpoint_loads_bit_exactly(tmp_path, prefix):
    # the released Zero-DCE / PIE checkpoints: a bare state dict, keys e_conv1.weight ..
    # e_conv7.bias (DataParallel adds "module."), 32 channels, 8 maps
    g = torch.Generator().manual_seed(0)
    shapes = {k: v.shape for k, v in CurveEstimator().state_dict().items()}
    released = {prefix + k: 0.05 * torch.randn(shapes[k], generator=g) for k in DCE_KEYS}
    path = tmp_path / "Epoch99.pth"
    torch.save(released, path)
    for net in (load_pretrained(path), CurveEstimator()):
        net.load_state_dict(torch.load(path, weights_only=True), strict=True)
        sd = net.state_dict()
        assert list(sd) == DCE_KEYS
        assert all(torch.equal(sd[k], released[prefix + k]) for k in DCE_KEYS)
        x = _image()
        with torch.no_grad():
            assert torch.equal(net.curve_maps(x), _written_out_body(net, x))


@pytest.mark.parametrize("name", available_weights())
def test_bundled_weights_load_bit_exactly(name):
    stored = torch.load(WEIGHTS / f"{name.replace('-', '_')}.pt", weights_only=True)["state_dict"]
    loaded = load_pretrained(name).state_dict()
    assert list(loaded) == list(stored)
    assert all(torch.equal(loaded[k], stored[k]) for k in stored)


def test_pie_default_enhances_as_before():
    # recorded with the two separate bodies, before the refactor (float32, CPU)
    net = load_pretrained("pie-default")
    assert type(net) is FastCurveEstimator
    x = _image()
    y = net.enhance(x)
    got = [y.mean(), y[0, 0, 10, 10], y[0, 1, 40, 60], y[0, 2, 0, 0], y[0, 0, 47, 63]]
    expected = [0.304292, 0.167752, 0.401604, 0.211033, 0.493664]
    torch.testing.assert_close(torch.stack(got), torch.tensor(expected), atol=2e-6, rtol=0)
    with torch.no_grad():
        out = net(x)
        low = net.low_res_curves(x)
    assert torch.equal(low, _written_out_body(net, x.contiguous(memory_format=torch.channels_last)))
    assert abs(out.curves.mean().item() - -0.171683) < 2e-6
    torch.testing.assert_close(out.enhanced, y, atol=1e-6, rtol=0)
