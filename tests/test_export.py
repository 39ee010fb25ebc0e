"""Export for deployment (issue 14, item 5): the inference modules and the TorchScript files.

Every bundled model is exported and its file compared with the eager model's ``enhance`` on
images of sizes other than the exporter's example (max abs difference <= 1e-4), including one
with a batch of two and one large enough that every model downscales to its working resolution.
The ONNX files are tested in ``test_export_onnx.py`` (they need the ``export`` extra).
"""

from __future__ import annotations

import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from export_cases import SHAPES, photo  # tests/: the inputs both export test files share
from torch import nn

from pyisp_contrast import export
from pyisp_contrast.core.checks import value_checks
from pyisp_contrast.export import (
    ExportResult,
    MissingExtraError,
    VerificationError,
    export_onnx,
    export_torchscript,
    inference_module,
)
from pyisp_contrast.models import (
    CurveEstimator,
    FastCurveEstimator,
    GuidedGainEnhancer,
    available_weights,
    load_pretrained,
)

BUNDLED = available_weights()
TOL = 1e-4
# torch 2.13 deprecates torch.jit; loading a TorchScript file is what these tests check.
jit_load_deprecated = pytest.mark.filterwarnings(
    "ignore:`torch.jit.load` is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    return {name: load_pretrained(name) for name in BUNDLED}


def test_every_bundled_model_is_covered() -> None:
    assert {"pie-physics", "pie-default", "dehaze-default", "derain-default"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_inference_module_equals_enhance(name: str, models: dict[str, nn.Module]) -> None:
    net = models[name]
    module = inference_module(net)
    assert module.architecture == type(net).__name__
    for shape in SHAPES:
        x = photo(*shape)
        with torch.no_grad():
            diff = (module(x) - net.enhance(x)).abs().max().item()
        assert diff <= 1e-5, (name, shape, diff)


@pytest.mark.parametrize(
    "net",
    [
        GuidedGainEnhancer(channels=4, working_side=16, block=3, radius=1),
        GuidedGainEnhancer(channels=4, block=1, radius=0),
        GuidedGainEnhancer(channels=4, working_side=16, order_preserving=True, exposure=1.5),
        GuidedGainEnhancer(channels=4, working_side=16, denoise_nsr=2.0),  # a strength per photo
        GuidedGainEnhancer(channels=4, working_side=16, denoise_nsr=2.0, denoise_knee=0.05),
        GuidedGainEnhancer(channels=4, working_side=16, detail=0.5),  # sharpening, one amount
        GuidedGainEnhancer(channels=4, working_side=16, detail=1.0, detail_nsr=0.5),  # per photo
        GuidedGainEnhancer(channels=4, working_side=16, contrast=0.5, contrast_sigma=6.0),
        GuidedGainEnhancer(
            channels=4,
            working_side=16,
            detail=0.3,
            contrast=1.0,
            contrast_sigma=20.0,
            contrast_nsr=0.5,
        ),
        GuidedGainEnhancer(
            channels=4, working_side=16, exposure=1.0, contrast=0.5, contrast_lift=3.0
        ),
        GuidedGainEnhancer(channels=4, working_side=16, tone=0.7, tone_gain=5.0, contrast_lift=9.0),
        FastCurveEstimator(channels=4, working_side=None, scale_factor=5.0),
        FastCurveEstimator(channels=4, iterations=4, n_maps=4, working_side=24),
        CurveEstimator(channels=4, iterations=3),
    ],
    ids=[
        "gain-block3",
        "gain-block1",
        "gain-exposure",
        "gain-denoise-nsr",
        "gain-denoise-knee",
        "gain-detail",
        "gain-detail-nsr",
        "gain-contrast",
        "gain-contrast-nsr",
        "gain-contrast-lift",
        "gain-tone",
        "fast-scale-factor",
        "fast-4-maps",
        "dce-net",
    ],
)
def test_inference_module_follows_the_config(net: nn.Module) -> None:
    torch.manual_seed(0)
    for p in net.parameters():  # away from the near-identity start, so the maps matter
        p.data.add_(0.05 * torch.randn_like(p))
    net.eval()
    module = inference_module(net)
    for shape in [(1, 61, 47), (2, 40, 90)]:
        x = photo(*shape)
        with torch.no_grad():
            diff = (module(x) - net.enhance(x)).abs().max().item()
        assert diff <= 1e-5, (shape, diff)


def test_per_photo_denoiser_strength_on_photos_too_small_to_estimate() -> None:
    """A side under 3 px: full strength, as the model does, not NaN (regression: the exported
    files gave NaN there while the model branched on the size)."""
    net = GuidedGainEnhancer(channels=4, working_side=16, denoise_nsr=0.5, denoise_knee=0.1)
    module = inference_module(net.eval())
    for shape in [(1, 1, 1), (2, 2, 9), (1, 9, 2), (1, 3, 3)]:
        x = photo(*shape)
        with torch.no_grad():
            out, ref = module(x), net.enhance(x)
        assert torch.isfinite(out).all(), shape
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0), shape


def test_inference_module_is_a_float32_copy() -> None:
    net = GuidedGainEnhancer(channels=4).double()
    module = inference_module(net)
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in module.parameters())
    assert not module.training
    assert net.maps.head.weight.dtype == torch.float64  # the model itself is untouched


def test_inference_module_takes_a_composition_network() -> None:
    class Composition(nn.Module):  # like PIE: the enhancer is its ``network``
        def __init__(self) -> None:
            super().__init__()
            self.network = FastCurveEstimator(channels=4)

    assert inference_module(Composition()).architecture == "FastCurveEstimator"


def test_export_errors(tmp_path) -> None:
    with pytest.raises(TypeError, match="cannot export a Conv2d; exportable models: "):
        inference_module(nn.Conv2d(3, 3, 1))
    with pytest.raises(TypeError, match="must be a shipped weights name"):
        inference_module(42)
    with pytest.raises(FileNotFoundError, match="pie-physics"):  # the message lists shipped names
        inference_module("no-such-weights")
    with pytest.raises(IsADirectoryError, match="give a file name"):
        export_torchscript("pie-physics", tmp_path)
    with pytest.raises(ValueError, match="height, width"):
        export_torchscript("pie-physics", tmp_path / "m.pt", sizes=[(0, 5)])
    with pytest.raises(ValueError, match="opset"):
        export_onnx("pie-physics", tmp_path / "m.onnx", opset=13)


def test_onnx_without_the_extra_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install -e '\.\[export\]'"):
        export_onnx("pie-physics", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


# ------------------------------------------------------------------------------------------------
# TorchScript files
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torchscript_files(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("torchscript")
    paths = {}
    for name in BUNDLED:
        result = export_torchscript(name, folder / f"{name}.pt", verify=False)
        assert result == ExportResult(folder / f"{name}.pt", "torchscript", result.architecture, {})
        paths[name] = result.path
    return paths


@jit_load_deprecated
@pytest.mark.parametrize("name", BUNDLED)
def test_torchscript_file_equals_the_model(
    name: str, models: dict[str, nn.Module], torchscript_files: dict[str, object]
) -> None:
    loaded = torch.jit.load(str(torchscript_files[name]))
    assert isinstance(loaded, torch.jit.ScriptModule)
    worst = 0.0
    for shape in SHAPES:
        x = photo(*shape, seed=1)
        with torch.no_grad():
            out = loaded(x)
            ref = models[name].enhance(x)
        assert out.shape == x.shape
        worst = max(worst, (out - ref).abs().max().item())
    assert worst <= TOL, (name, worst)


def test_torchscript_export_verifies_and_reports(tmp_path) -> None:
    result = export_torchscript("pie-physics", tmp_path / "a" / "m.pt", sizes=[(40, 60), (33, 25)])
    assert result.path.is_file() and result.format == "torchscript"
    assert result.architecture == "GuidedGainEnhancer"
    assert sorted(result.max_abs_diff) == [(33, 25), (40, 60)]
    assert max(result.max_abs_diff.values()) <= TOL
    files = {"pyisp_contrast.json": ""}
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(result.path), _extra_files=files)
    assert b'"architecture": "GuidedGainEnhancer"' in files["pyisp_contrast.json"]
    assert not list(tmp_path.glob("a/.*"))  # no temporary file left behind


# ------------------------------------------------------------------------------------------------
# The verification catches an export whose size was frozen by tracing
# ------------------------------------------------------------------------------------------------
def test_traced_python_sizes_freeze_the_working_size(monkeypatch) -> None:
    # The reason for inference_module: the models compute their working size with Python
    # numbers, which a tracer records as constants of the example's size. (Traced as they are,
    # they fail outright: sizes are tensors while tracing and have no round(); a size taken as
    # int(...) is frozen instead, as shown here.)
    net = FastCurveEstimator(channels=4, working_side=32).eval().requires_grad_(False)
    exact = FastCurveEstimator.working_size
    monkeypatch.setattr(net, "working_size", lambda h, w: exact(net, int(h), int(w)))
    with warnings.catch_warnings(), value_checks(False):
        # the tracer warns about exactly the Python numbers it freezes, which is the point here
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(lambda x: net(x).enhanced, photo(1, 64, 96))
    x = photo(1, 200, 150)
    with torch.no_grad():
        assert traced(x).shape == x.shape  # the output size follows the input ...
        frozen_diff = (traced(x) - net.enhance(x)).abs().max().item()  # ... the maps do not
        module_diff = (inference_module(net)(x) - net.enhance(x)).abs().max().item()
    assert frozen_diff > 10 * TOL
    assert module_diff <= 1e-5

    # and the check run by export_* reports such a file instead of passing it
    def run(x: torch.Tensor) -> torch.Tensor:
        return traced(x)

    with pytest.raises(VerificationError, match="differs from the model"):
        export._compare(run, net, [(64, 96), (200, 150)], TOL, "TorchScript")


def test_verification_reports_a_fixed_output_size() -> None:
    net = FastCurveEstimator(channels=4).eval()

    def run(x: torch.Tensor) -> torch.Tensor:  # a file whose output size was frozen
        return net.enhance(F.interpolate(x, size=(200, 300)))

    with pytest.raises(VerificationError, match="its size is not dynamic"):
        export._compare(run, net, [(200, 300), (333, 257)], TOL, "ONNX")


def test_exposure_argument_leaves_the_callers_model_alone(tmp_path) -> None:
    net = GuidedGainEnhancer(channels=4, working_side=16).eval()
    result = export_torchscript(net, tmp_path / "e.pt", sizes=[(40, 60)], exposure=-1.0)
    assert result.max_abs_diff[(40, 60)] <= 1e-4  # verified against the model at -1 stop
    assert net.exposure == 0.0
    with pytest.raises(ValueError, match="exposure"):
        export_torchscript(net, tmp_path / "f.pt", exposure=4.0)
    with pytest.raises(ValueError, match="FastCurveEstimator has none"):
        export_torchscript(FastCurveEstimator(channels=4), tmp_path / "g.pt", exposure=1.0)


def test_denoise_argument_leaves_the_callers_model_alone(tmp_path) -> None:
    net = GuidedGainEnhancer(channels=4, working_side=16, denoise_scale=0.5).eval()
    result = export_torchscript(net, tmp_path / "d.pt", sizes=[(40, 60)], exposure=0.5, denoise=4.0)
    assert result.max_abs_diff[(40, 60)] <= 1e-4  # verified against the model with both set
    assert net.denoise_scale == 0.5 and net.exposure == 0.0
    with pytest.raises(ValueError, match="denoise"):
        export_torchscript(net, tmp_path / "f.pt", denoise=0.0)
    with pytest.raises(ValueError, match="FastCurveEstimator has none"):
        export_torchscript(FastCurveEstimator(channels=4), tmp_path / "g.pt", denoise=2.0)
