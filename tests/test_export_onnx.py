"""ONNX export (issue 14, item 5): every bundled model runs in onnxruntime at any size and equals
the eager model; the CLI writes the file; the export guide's code runs as printed."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

onnx = pytest.importorskip(
    "onnx", reason="the ONNX export tests need onnx: install with pip install -e '.[export]'"
)
ort = pytest.importorskip(
    "onnxruntime",
    reason="the ONNX export tests need onnxruntime: install with pip install -e '.[export]'",
)

from export_cases import SHAPES, photo  # noqa: E402  (tests/: shared with test_export.py)

from pyisp_contrast.cli import main  # noqa: E402
from pyisp_contrast.core.io import read_image  # noqa: E402
from pyisp_contrast.data import sample_lowlight_path  # noqa: E402
from pyisp_contrast.export import VERIFY_SIZES, export_onnx  # noqa: E402
from pyisp_contrast.models import available_weights, load_pretrained  # noqa: E402

BUNDLED = available_weights()
ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-4


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    return {name: load_pretrained(name) for name in BUNDLED}


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("onnx")
    return {name: export_onnx(name, folder / f"{name}.onnx", verify=False).path for name in BUNDLED}


@pytest.mark.parametrize("name", BUNDLED)
def test_onnx_file_equals_the_model(
    name: str, models: dict[str, nn.Module], onnx_files: dict[str, Path]
) -> None:
    session = _session(onnx_files[name])
    worst = 0.0
    for shape in SHAPES:
        x = photo(*shape, seed=2)
        (out,) = session.run(["enhanced"], {"image": x.numpy()})
        assert out.shape == tuple(x.shape) and out.dtype == np.float32
        with torch.no_grad():
            ref = models[name].enhance(x)
        worst = max(worst, float(np.abs(out - ref.numpy()).max()))
    assert worst <= TOL, (name, worst)


@pytest.mark.parametrize("name", BUNDLED)
def test_onnx_graph_is_dynamic_and_labelled(name: str, onnx_files: dict[str, Path]) -> None:
    proto = onnx.load(str(onnx_files[name]))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == 17
    for value in (proto.graph.input[0], proto.graph.output[0]):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims == ["batch", 3, "height", "width"], (value.name, dims)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["weights"] == name
    assert meta["architecture"] == type(load_pretrained(name)).__name__
    assert "[0, 1]" in meta["input"]


def test_onnx_export_verifies_at_the_default_sizes(tmp_path) -> None:
    result = export_onnx("pie-physics", tmp_path / "m.onnx", opset=18)
    assert result.format == "onnx" and result.architecture == "GuidedGainEnhancer"
    assert list(result.max_abs_diff) == list(VERIFY_SIZES)
    assert max(result.max_abs_diff.values()) <= TOL
    assert onnx.load(str(result.path)).opset_import[0].version == 18


def test_cli_writes_onnx(tmp_path, capsys) -> None:
    out = tmp_path / "deploy" / "dehaze.onnx"
    assert main(["export", "--format", "onnx", "--task", "dehaze", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Dehazer" in printed and "dehaze-default" in printed
    assert "largest difference" in printed
    x = photo(1, 77, 131)
    (y,) = _session(out).run(None, {"image": x.numpy()})
    with torch.no_grad():
        ref = load_pretrained("dehaze-default").enhance(x)
    assert float(np.abs(y - ref.numpy()).max()) <= TOL


def _guide_code() -> str:
    text = (ROOT / "docs" / "export.rst").read_text()
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text, flags=re.M)
    code = [b for b in blocks if "InferenceSession" in b]
    assert len(code) == 1, "the export guide should hold one onnxruntime example"
    return "\n".join(line[3:] for line in code[0].splitlines())


def test_guide_example_runs_without_the_library_and_matches_enhance(
    tmp_path, onnx_files: dict[str, Path], models: dict[str, nn.Module], monkeypatch, capsys
) -> None:
    code = _guide_code()
    assert "pyisp_contrast" not in code
    shutil.copy(onnx_files["pie-physics"], tmp_path / "enhancer.onnx")
    shutil.copy(sample_lowlight_path(), tmp_path / "dark.png")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/export.rst", "exec"), {})
    assert capsys.readouterr().out.strip() == "GuidedGainEnhancer"
    from PIL import Image

    with Image.open(os.fspath(tmp_path / "enhanced.png")) as im:
        got = np.asarray(im.convert("RGB"), dtype=np.int16)
    with torch.no_grad():
        ref = models["pie-physics"].enhance(read_image(tmp_path / "dark.png")[None])[0]
    want = np.round(ref.clamp(0, 1).numpy().transpose(1, 2, 0) * 255).astype(np.int16)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1  # one 8-bit level: rounding of values within 1e-4
