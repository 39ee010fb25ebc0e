from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pyisp_contrast.cli import main
from pyisp_contrast.core.io import read_image, write_image
from pyisp_contrast.models import FastCurveEstimator, load_pretrained, save_pretrained


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(), path)
    return path


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    g = torch.Generator().manual_seed(1)
    write_image(d / "rgb.png", 0.3 * torch.rand(3, 24, 32, generator=g))
    write_image(d / "grey.png", 0.3 * torch.rand(1, 20, 20, generator=g))
    write_image(
        d / "rgba.png",
        0.3 * torch.rand(3, 16, 16, generator=g),
        alpha=torch.rand(1, 16, 16, generator=g),
    )
    write_image(d / "grey16.png", 0.2 * torch.rand(1, 18, 18, generator=g), bits=16)
    pal = Image.fromarray(
        (np.arange(16 * 16).reshape(16, 16) % 50).astype(np.uint8), mode="L"
    ).convert("P")
    pal.save(d / "palette.png")
    return d


def test_enhances_every_kind(tmp_path, inputs, weights, capsys):
    out = tmp_path / "out"
    assert (
        main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights), "--device", "cpu"])
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == ["grey.png", "grey16.png", "palette.png", "rgb.png", "rgba.png"]
    with Image.open(out / "rgb.png") as im:
        assert (im.mode, im.size) == ("RGB", (32, 24))
    with Image.open(out / "grey.png") as im:
        assert im.mode == "L"
    with Image.open(out / "grey16.png") as im:
        assert im.mode.startswith("I")  # 16-bit grey stays 16-bit
    with Image.open(out / "rgba.png") as im:
        assert im.mode == "RGBA"
    # the alpha channel comes back unchanged
    _, a_in = read_image(inputs / "rgba.png", return_alpha=True)
    _, a_out = read_image(out / "rgba.png", return_alpha=True)
    torch.testing.assert_close(a_out, a_in)
    # the colour result is the model's, up to 8-bit rounding
    model = load_pretrained(weights)
    expected = model.enhance(read_image(inputs / "rgb.png")[None])[0]
    torch.testing.assert_close(read_image(out / "rgb.png"), expected, atol=1 / 255 + 1e-6, rtol=0)
    assert "enhanced 5 image(s)" in capsys.readouterr().err


def test_corrupt_file_is_named_and_others_still_run(tmp_path, inputs, weights, capsys):
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    assert main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights), "-q"]) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err
    assert len(list(out.glob("*.png"))) == 5 and not list(out.glob(".*"))


def test_max_side_and_globs(tmp_path, inputs, weights):
    out = tmp_path / "out"
    assert main(["enhance", str(inputs / "rgb*.png"), "-o", str(out), "--weights", str(weights),
                 "--max-side", "16", "-q"]) == 0  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["rgb.png", "rgba.png"]
    with Image.open(out / "rgb.png") as im:
        assert im.size == (16, 12)


def test_existing_outputs_kept_unless_overwrite(tmp_path, inputs, weights):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rgb.png").write_bytes(b"keep me")
    args = ["enhance", str(inputs / "rgb.png"), "-o", str(out), "--weights", str(weights), "-q"]
    assert main(args) == 0
    assert (out / "rgb.png").read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0
    assert read_image(out / "rgb.png").shape == (3, 24, 32)


def test_refusals(tmp_path, inputs, weights, capsys):
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    # writing next to the inputs would overwrite them
    assert main(["enhance", str(inputs), "-o", str(inputs), "--weights", str(weights)]) == 2
    assert "refusing to write onto input" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "rgb.jpg", torch.rand(3, 8, 8))
    assert main(["enhance", str(inputs / "rgb.png"), str(other / "rgb.jpg"), "-o", str(tmp_path / "o"),
                 "--weights", str(weights)]) == 2  # fmt: skip
    assert "both be written as rgb.png" in capsys.readouterr().err
    assert main(["enhance", str(tmp_path / "nothing*.png"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert (
        main(
            [
                "enhance",
                str(inputs),
                "-o",
                str(tmp_path / "o"),
                "--weights",
                str(tmp_path / "nope.pt"),
            ]
        )
        == 2
    )
    assert "nope.pt" in capsys.readouterr().err
    assert main(["enhance", str(inputs), "-o", str(tmp_path / "o"), "--max-side", "0"]) == 2


def test_help_documents_image_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["enhance", "--help"])
    text = capsys.readouterr().out
    for word in ("grey", "RGBA", "16-bit", "palette", "exit status"):
        assert word in text


def test_sample_flag_enhances_the_bundled_photo(tmp_path, weights, capsys):
    out = tmp_path / "out"
    assert main(["enhance", "--sample", "-o", str(out), "--weights", str(weights)]) == 0
    from pyisp_contrast.data import sample_lowlight_path

    result = read_image(out / "sample_lowlight.png")
    assert result.shape == read_image(sample_lowlight_path()).shape


def test_no_input_at_all_is_a_usage_error(tmp_path, capsys):
    assert main(["enhance", "-o", str(tmp_path / "o")]) == 2
    assert "--sample" in capsys.readouterr().err


def test_task_picks_its_default_weights(tmp_path, inputs, monkeypatch):
    import pyisp_contrast.models as models

    asked = []

    def fake_load(name, device=None):
        asked.append(name)
        raise models.WeightsError(f"{name}: stop here")

    monkeypatch.setattr(models, "load_pretrained", fake_load)
    for task in ("lowlight", "dehaze", "derain"):
        main(["enhance", str(inputs), "-o", str(tmp_path / task), "--task", task])
    assert asked == ["pie-physics", "dehaze-default", "derain-default"]
