"""``pyisp-contrast export``: writes TorchScript files of the bundled and of your own weights, and
stops with exit status 2 and a clear message for every usage error. (The ONNX files, which need
the ``export`` extra, are tested in ``tests/test_export_onnx.py``.)"""

from __future__ import annotations

import json
import sys
import warnings

import pytest
import torch

from pyisp_contrast.cli import build_parser, main
from pyisp_contrast.models import FastCurveEstimator, save_pretrained


def _load(path):
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path))


def test_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["export", "--format", "torchscript", "-o", "m.pt"])
    assert (args.format, args.task, args.weights, args.opset) == (
        "torchscript",
        "lowlight",
        None,
        17,
    )


def test_writes_the_default_weights(tmp_path, capsys) -> None:
    out = tmp_path / "models" / "enhancer.pt"
    assert main(["export", "--format", "torchscript", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (TorchScript, GuidedGainEnhancer, weights pie-physics)" in printed
    assert "checked against the PyTorch model at 200x300, 333x257, 540x720" in printed
    y = _load(out)(torch.full((2, 3, 50, 70), 0.1))
    assert y.shape == (2, 3, 50, 70)


def test_task_and_weights_pick_the_model(tmp_path, capsys) -> None:
    assert main(["export", "--format", "torchscript", "--task", "derain", "--no-verify",
                 "-o", str(tmp_path / "d.pt")]) == 0  # fmt: skip
    assert "Derainer, weights derain-default" in capsys.readouterr().out
    torch.manual_seed(0)
    ckpt = tmp_path / "mine.pt"
    save_pretrained(FastCurveEstimator(channels=4, working_side=32), ckpt)
    assert main(["export", "--format", "torchscript", "--weights", str(ckpt), "-q",
                 "-o", str(tmp_path / "m.pt")]) == 0  # fmt: skip
    assert capsys.readouterr().out == ""
    assert (tmp_path / "m.pt").is_file()


def _fails(argv, capsys, *needles) -> None:
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pyisp-contrast export: error: ")
    for needle in needles:
        assert needle in err, err


def test_unknown_weights(tmp_path, capsys) -> None:
    _fails(["--format", "torchscript", "--weights", "no-such", "-o", str(tmp_path / "m.pt")],
           capsys, "no shipped weights named 'no-such'", "pie-physics")  # fmt: skip
    assert not (tmp_path / "m.pt").exists()


def test_unwritable_output(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("")
    _fails(["--format", "torchscript", "-o", str(tmp_path / "file" / "m.pt")],
           capsys, "is a file, not a folder")  # fmt: skip
    _fails(["--format", "torchscript", "-o", str(tmp_path)], capsys, "is a folder")


def test_existing_output_needs_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "m.pt"
    out.write_bytes(b"old")
    _fails(["--format", "torchscript", "-o", str(out)], capsys, "exists; use --overwrite")
    assert out.read_bytes() == b"old"
    assert main(["export", "--format", "torchscript", "--no-verify", "--overwrite", "-q",
                 "-o", str(out)]) == 0  # fmt: skip
    assert out.read_bytes() != b"old"


def test_onnx_without_the_extra(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    _fails(["--format", "onnx", "-o", str(tmp_path / "m.onnx")],
           capsys, "needs the package 'onnx'", "pip install -e '.[export]'")  # fmt: skip
    assert not (tmp_path / "m.onnx").exists()


def test_bad_opset(tmp_path, capsys) -> None:
    _fails(["--format", "onnx", "--opset", "13", "-o", str(tmp_path / "m.onnx")],
           capsys, "--opset must be >= 17")  # fmt: skip


@pytest.mark.parametrize(
    "argv", [["-o", "m.pt"], ["--format", "onnx"], ["--format", "x", "-o", "m"]]
)
def test_usage_errors_exit_2(argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export", *argv])
    assert exc.value.code == 2


def test_failed_check_exits_1(tmp_path, capsys, monkeypatch) -> None:
    from pyisp_contrast import export

    def fail(*args, **kwargs):
        raise export.VerificationError("the exported TorchScript file differs from the model")

    monkeypatch.setattr(export, "_compare", fail)
    out = tmp_path / "m.pt"
    assert main(["export", "--format", "torchscript", "-o", str(out)]) == 1
    assert f"{out} was written, but the exported" in capsys.readouterr().err
    assert out.is_file()  # left for inspection


def test_exposure_is_baked_in_and_recorded(tmp_path, capsys) -> None:
    """``--exposure``: the file equals the model with that setting (verified at export), its
    metadata says so, and it is brighter than the plain export; models without it are refused."""
    from pyisp_contrast.models import load_pretrained

    plain, up = tmp_path / "plain.pt", tmp_path / "up.pt"
    assert main(["export", "--format", "torchscript", "-q", "-o", str(plain)]) == 0
    assert main(["export", "--format", "torchscript", "-q", "--exposure", "1", "-o", str(up)]) == 0
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0)) * 0.2
    model = load_pretrained("pie-physics")
    model.exposure = 1.0
    torch.testing.assert_close(_load(up)(x), model.enhance(x), atol=1e-4, rtol=0)
    assert float(_load(up)(x).mean()) > float(_load(plain)(x).mean())
    extra = {"pyisp_contrast.json": ""}
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(up), _extra_files=extra)
    assert json.loads(extra["pyisp_contrast.json"])["exposure"] == "+1 stops"
    _fails(["--format", "torchscript", "--exposure", "9", "-o", str(tmp_path / "x.pt")],
           capsys, "exposure")  # fmt: skip
    _fails(["--format", "torchscript", "--task", "derain", "--exposure", "1",
            "-o", str(tmp_path / "y.pt")], capsys, "Derainer has none")  # fmt: skip
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()


def test_denoise_is_baked_in_and_recorded(tmp_path, capsys) -> None:
    """``--denoise``: the file equals the model with its denoiser scaled (verified at export), its
    metadata says so, and it smooths more than the plain export; bad factors and models without a
    denoiser are refused before anything is written."""
    from pyisp_contrast.models import load_pretrained, scale_denoiser

    strong = tmp_path / "strong.pt"
    assert (
        main(["export", "--format", "torchscript", "-q", "--denoise", "50", "-o", str(strong)]) == 0
    )
    g = torch.Generator().manual_seed(0)
    x = (0.1 + 0.03 * torch.randn(1, 3, 48, 64, generator=g)).clamp(0, 1)
    model, plain = load_pretrained("pie-physics"), load_pretrained("pie-physics")
    scale_denoiser(model, 50)
    out = _load(strong)(x)
    torch.testing.assert_close(out, model.enhance(x), atol=1e-4, rtol=0)
    # harder denoising: less pixel-to-pixel variation than the model's own strength
    assert float(out.diff(dim=-1).abs().mean()) < float(plain.enhance(x).diff(dim=-1).abs().mean())
    extra = {"pyisp_contrast.json": ""}
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(strong), _extra_files=extra)
    meta = json.loads(extra["pyisp_contrast.json"])
    assert meta["denoise"] == "50 times the model's own strength" and "exposure" not in meta
    for bad in ("0", "1000"):
        _fails(["--format", "torchscript", "--denoise", bad, "-o", str(tmp_path / "x.pt")],
               capsys, "denoise")  # fmt: skip
    _fails(["--format", "torchscript", "--weights", "pie-default", "--denoise", "2",
            "-o", str(tmp_path / "y.pt")], capsys, "FastCurveEstimator has none")  # fmt: skip
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()
