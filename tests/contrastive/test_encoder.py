import pytest
import torch

from pyisp_contrast.contrastive import ExposureEncoder, GramMSEDistance
from pyisp_contrast.core import WeightsError
from pyisp_contrast.isp.curves import exposure


def test_shapes_and_size():
    enc = ExposureEncoder(generator=torch.Generator().manual_seed(0))
    out = enc(torch.rand(2, 3, 20, 12))
    assert [tuple(f.shape) for f in out] == [(2, 16, 10, 6), (2, 32, 5, 3), (2, 64, 3, 2)]
    n_bytes = sum(p.numel() * p.element_size() for p in enc.parameters())
    assert n_bytes < 400_000  # "well under 1 MB"
    grey = torch.rand(1, 1, 8, 8)
    torch.testing.assert_close(enc(grey)[2], enc(grey.expand(-1, 3, -1, -1))[2])


def test_save_and_load_round_trip(tmp_path):
    enc = ExposureEncoder(channels=(4, 8, 8), generator=torch.Generator().manual_seed(1))
    enc.save(tmp_path / "w.pt", note="test")
    loaded = ExposureEncoder.pretrained(tmp_path / "w.pt")
    assert loaded.channels == (4, 8, 8)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    x = torch.rand(1, 3, 16, 16)
    for a, b in zip(enc(x), loaded(x)):
        torch.testing.assert_close(a, b)
    trainable = ExposureEncoder.pretrained(tmp_path / "w.pt", frozen=False)
    assert all(p.requires_grad for p in trainable.parameters())


def test_save_refuses_metadata_that_weights_only_loading_would_reject(tmp_path):
    enc = ExposureEncoder(channels=(4, 8, 8), generator=torch.Generator().manual_seed(1))
    with pytest.raises(TypeError, match=r"'torch'.*str\(torch.__version__\)"):
        enc.save(tmp_path / "w.pt", torch=torch.__version__)
    assert not (tmp_path / "w.pt").exists()
    enc.save(tmp_path / "w.pt", torch=str(torch.__version__))
    assert ExposureEncoder.pretrained(tmp_path / "w.pt").channels == (4, 8, 8)


def test_packaged_weights_load_and_separate_exposure():
    enc = ExposureEncoder.pretrained()
    assert not any(p.requires_grad for p in enc.parameters())
    # A smooth synthetic scene: distances to its own re-exposures grow with |EV|.
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    scene = torch.stack([0.2 + 0.5 * xx, 0.3 + 0.4 * yy, 0.5 - 0.3 * xx * yy])[None]
    dist = GramMSEDistance()
    ref = enc(scene)
    d = [dist(ref, enc(exposure(scene, ev))).item() for ev in (0.5, 1.5, 3.0)]
    assert d[0] < d[1] < d[2]
    d_dark = [dist(ref, enc(exposure(scene, -ev))).item() for ev in (0.5, 1.5, 3.0)]
    assert d_dark[0] < d_dark[1] < d_dark[2]


def test_gradients_reach_the_input_and_gradcheck():
    enc = ExposureEncoder(channels=(2, 2, 2), generator=torch.Generator().manual_seed(0)).double()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: enc(t)[2], (x,), fast_mode=True)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="channels"):
        ExposureEncoder(channels=(4, 8))
    with pytest.raises(FileNotFoundError, match="no ExposureEncoder weights"):
        ExposureEncoder.pretrained(tmp_path / "missing.pt")
    torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match="not an ExposureEncoder weight file"):
        ExposureEncoder.pretrained(tmp_path / "bad.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "bad.pt").read_bytes()[:40])  # truncated
    with pytest.raises(WeightsError, match="could not read the ExposureEncoder weights file"):
        ExposureEncoder.pretrained(tmp_path / "cut.pt")
    wrong = ExposureEncoder(channels=(4, 8, 8)).state_dict()
    torch.save({"channels": [4, 8, 16], "state_dict": wrong}, tmp_path / "wrong.pt")
    with pytest.raises(
        WeightsError, match=r"does not fit ExposureEncoder\(channels=\(4, 8, 16\)\)"
    ):
        ExposureEncoder.pretrained(tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="channels"):
        ExposureEncoder()(torch.rand(1, 4, 8, 8))
