"""Tests for pyisp_contrast.models.pretrained (weights made in tmp_path; never the shipped file)."""

from __future__ import annotations

import pytest
import torch

import pyisp_contrast.models.pretrained as pretrained
from pyisp_contrast.models import (
    PIE,
    CurveEstimator,
    FastCurveEstimator,
    WeightsError,
    available_weights,
    load_pretrained,
    save_pretrained,
)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k])


@pytest.mark.parametrize(
    "net",
    [
        CurveEstimator(channels=8, iterations=4),
        FastCurveEstimator(channels=8, n_maps=8, working_side=128),
        FastCurveEstimator(working_side=None, scale_factor=12),
    ],
    ids=["dce", "fast-8maps", "fast-scale"],
)
def test_save_load_roundtrip(tmp_path, net):
    path = tmp_path / "w.pt"
    save_pretrained(net, path, steps=100, data={"normal": "a folder"})
    loaded = load_pretrained(path)
    assert type(loaded) is type(net) and loaded.config == net.config
    assert not loaded.training
    _same_weights(loaded, net)
    blob = torch.load(path, weights_only=True)
    assert blob["arch"] == type(net).__name__ and blob["steps"] == 100
    x = torch.rand(1, 3, 20, 24)
    torch.testing.assert_close(loaded.enhance(x), net.enhance(x))


def test_save_refuses_metadata_that_weights_only_loading_would_reject(tmp_path):
    """torch.__version__ is a str subclass that weights_only=True refuses: caught when saving."""
    net = FastCurveEstimator(channels=4)
    with pytest.raises(TypeError, match=r"'torch_version'.*str\(torch.__version__\)"):
        save_pretrained(net, tmp_path / "a.pt", torch_version=torch.__version__)
    with pytest.raises(TypeError, match=r"scores\[1\]"):
        save_pretrained(net, tmp_path / "a.pt", scores=[1.0, torch.tensor(2.0)])
    with pytest.raises(TypeError, match="non-str key"):
        save_pretrained(net, tmp_path / "a.pt", scores={1: 2.0})
    assert not (tmp_path / "a.pt").exists()
    save_pretrained(
        net, tmp_path / "a.pt", torch_version=str(torch.__version__), scores={"a": [1, None]}
    )
    assert load_pretrained(tmp_path / "a.pt").config == net.config


def test_pie_saves_its_network(tmp_path):
    from pyisp_contrast.contrastive import PixelStatistics

    class NoNegatives:
        def sample(self, images, k=1, generator=None):
            return images.unsqueeze(1), None

    pie = PIE("fast", embedder=PixelStatistics(scales=(2,)), negatives=NoNegatives())
    save_pretrained(pie, tmp_path / "pie.pt")
    _same_weights(load_pretrained(tmp_path / "pie.pt"), pie.network)
    # the Trainer's checkpoint layout: {"model": PIE state dict, ...}
    torch.save({"model": pie.state_dict(), "step": 3}, tmp_path / "last.pt")
    _same_weights(load_pretrained(str(tmp_path / "last.pt")), pie.network)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_authors_raw_checkpoint(tmp_path, prefix):
    torch.manual_seed(0)
    net = CurveEstimator()
    path = tmp_path / "Epoch99.pth"
    torch.save({prefix + k: v for k, v in net.state_dict().items()}, path)
    loaded = load_pretrained(str(path))
    assert isinstance(loaded, CurveEstimator) and loaded.iterations == 8
    _same_weights(loaded, net)


def test_shipped_names(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "_weights_dir", lambda: tmp_path)
    assert available_weights() == []
    with pytest.raises(FileNotFoundError, match="no shipped weights named 'pie-default'"):
        load_pretrained("pie-default")
    save_pretrained(FastCurveEstimator(channels=4), tmp_path / "pie_default.pt")
    assert available_weights() == ["pie-default"]
    assert isinstance(load_pretrained("pie-default"), FastCurveEstimator)
    with pytest.raises(FileNotFoundError, match="shipped weights: pie-default"):
        load_pretrained("zero-dce")


def test_device_argument(device):
    net = load_pretrained_from(FastCurveEstimator(channels=4), device)
    assert next(net.parameters()).device.type == device.type


def load_pretrained_from(net, device, tmp=None):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        save_pretrained(net, f"{d}/w.pt")
        return load_pretrained(f"{d}/w.pt", device=device)


def test_weights_only_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    torch.save({"arch": "CurveEstimator", "config": {}, "state_dict": Evil()}, path)
    with pytest.raises(WeightsError, match="weights_only"):
        load_pretrained(path)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pretrained(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(WeightsError, match="corrupt"):
        load_pretrained(corrupt)
    good = tmp_path / "good.pt"
    save_pretrained(CurveEstimator(), good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="corrupt"):
        load_pretrained(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, foreign)
    with pytest.raises(WeightsError, match="not a curve-estimator checkpoint"):
        load_pretrained(foreign)
    unknown = tmp_path / "unknown.pt"
    torch.save(
        {"format": pretrained.FORMAT, "arch": "UNet", "config": {}, "state_dict": {}}, unknown
    )
    with pytest.raises(WeightsError, match="UNet"):
        load_pretrained(unknown)
    mismatch = tmp_path / "mismatch.pt"
    torch.save(
        {
            "format": pretrained.FORMAT,
            "arch": "CurveEstimator",
            "config": {"channels": 16},
            "state_dict": CurveEstimator().state_dict(),
        },
        mismatch,
    )
    with pytest.raises(WeightsError, match="does not fit"):
        load_pretrained(mismatch)
    with pytest.raises(TypeError, match="name or a path"):
        load_pretrained(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="save_pretrained stores"):
        save_pretrained(torch.nn.Linear(2, 2), tmp_path / "x.pt")
    with pytest.raises(ValueError, match="reserved"):
        save_pretrained(CurveEstimator(), tmp_path / "x.pt", arch="mine")


def test_format_tag_is_checked_on_load(tmp_path):
    path = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(channels=4), path)
    blob = torch.load(path, weights_only=True)
    blob["format"] = "pyisp_contrast.curve_estimator/99"
    torch.save(blob, path)
    with pytest.raises(WeightsError, match=r"format tag .*curve_estimator/99"):
        load_pretrained(path)
    del blob["format"]
    torch.save(blob, path)
    with pytest.raises(WeightsError, match="format tag None"):
        load_pretrained(path)


def test_bad_device_names_are_clear_errors(tmp_path):
    path = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(channels=4), path)
    with pytest.raises(ValueError, match="not a device name"):
        load_pretrained(path, device="bogus")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            load_pretrained(path, device="cuda")
