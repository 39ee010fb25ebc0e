"""Tests for pyisp_contrast.core.files: writes that an interruption cannot leave half done."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.core.files import partial_path, written_atomically


def test_partial_path_is_hidden_unique_and_keeps_the_suffix(tmp_path) -> None:
    a, b = partial_path(tmp_path / "photo.png"), partial_path(tmp_path / "photo.png")
    assert a != b and a.parent == tmp_path
    assert a.name.startswith(".photo.") and a.name.endswith(".partial.png")


def test_a_finished_write_replaces_the_destination(tmp_path) -> None:
    dest = tmp_path / "new" / "folder" / "w.pt"  # folders made as needed
    with written_atomically(dest) as tmp:
        assert not dest.exists()
        torch.save({"x": 1}, tmp)
    assert torch.load(dest) == {"x": 1}
    assert [p.name for p in dest.parent.iterdir()] == ["w.pt"]


@pytest.mark.parametrize("stop", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_the_old_file_and_no_partial(tmp_path, stop) -> None:
    dest = tmp_path / "w.txt"
    dest.write_text("old")
    with pytest.raises(type(stop)), written_atomically(dest) as tmp:
        tmp.write_text("half of the ne")
        raise stop
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.txt"]


def test_every_writer_of_the_package_uses_it(tmp_path, monkeypatch) -> None:
    """Weights, the encoder's weights and training checkpoints: a failing write keeps the old file."""
    from pyisp_contrast.contrastive import ExposureEncoder
    from pyisp_contrast.models import FastCurveEstimator, save_pretrained

    def failing_save(obj, f, *args, **kwargs):
        f.write_bytes(b"half")
        raise OSError("disk full")

    for name, save in [
        ("w.pt", lambda p: save_pretrained(FastCurveEstimator(channels=4), p)),
        ("enc.pt", lambda p: ExposureEncoder(channels=(4, 4, 4)).save(p)),
    ]:
        dest = tmp_path / name
        dest.write_bytes(b"old")
        with monkeypatch.context() as m:
            m.setattr(torch, "save", failing_save)
            with pytest.raises(OSError, match="disk full"):
                save(dest)
        assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc.pt", "w.pt"]


def test_unreadable_weights_are_one_error_everywhere(tmp_path) -> None:
    """Shipped-format weights, the encoder's, training checkpoints and VGG16's raise the same
    WeightsError for a file that torch cannot read."""
    from pyisp_contrast.contrastive import ExposureEncoder
    from pyisp_contrast.core import WeightsError, load_weights
    from pyisp_contrast.models import WeightsError as ModelsWeightsError
    from pyisp_contrast.models import load_pretrained

    assert ModelsWeightsError is WeightsError
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=r"could not read the file x: .* Do this\.$"):
        load_weights(bad, "file x", "Do this.")
    from pyisp_contrast.contrastive import VGG16Features
    from pyisp_contrast.train import load_checkpoint

    vgg = VGG16Features(layers=("relu1_2",), weights=None)
    for load in (
        load_pretrained,
        ExposureEncoder.pretrained,
        load_checkpoint,
        vgg.load_torchvision_weights,
    ):
        with pytest.raises(WeightsError, match="corrupt, truncated or not a PyTorch checkpoint"):
            load(bad)
