import pytest
import torch
import torch.nn.functional as F

from pyisp_contrast.contrastive import VGG16_LAYERS, VGG16Features, vgg16_weights_path

# torchvision's vgg16 ``features`` indices of the convolutions and their channel counts.
CONVS = {
    0: (3, 64),
    2: (64, 64),
    5: (64, 128),
    7: (128, 128),
    10: (128, 256),
    12: (256, 256),
    14: (256, 256),
}


def _fake_torchvision_state(gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Random weights in torchvision's key layout (up to conv3_3), plus a classifier key to ignore."""
    state = {}
    for idx, (cin, cout) in CONVS.items():
        state[f"features.{idx}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) * 0.05
        state[f"features.{idx}.bias"] = torch.randn(cout, generator=gen) * 0.01
    state["classifier.0.weight"] = torch.randn(4, 4, generator=gen)
    return state


def _reference_forward(state, x, upto):
    """VGG16 by hand with torch.nn.functional, to check the module indices."""
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    outs = {}
    for idx, name in enumerate(VGG16_LAYERS[: upto + 1]):
        if name.startswith("conv"):
            x = F.conv2d(
                x, state[f"features.{idx}.weight"], state[f"features.{idx}.bias"], padding=1
            )
        elif name.startswith("relu"):
            x = F.relu(x)
        else:
            x = F.max_pool2d(x, 2)
        outs[name] = x
    return outs


def test_layer_names_follow_torchvision_indices():
    assert len(VGG16_LAYERS) == 31
    assert VGG16_LAYERS[3] == "relu1_2" and VGG16_LAYERS[8] == "relu2_2"
    assert VGG16_LAYERS[15] == "relu3_3" and VGG16_LAYERS[22] == "relu4_3"
    assert VGG16_LAYERS[28] == "conv5_3" and VGG16_LAYERS[30] == "pool5"


def test_loads_torchvision_state_dict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    state = _fake_torchvision_state(gen)
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(state, path)
    vgg = VGG16Features(layers=("relu1_2", "relu2_2", "relu3_3"), weights=path)
    own = vgg.state_dict()
    assert set(own) == {k for k in state if k.startswith("features.")}
    for k, v in own.items():
        assert torch.equal(v, state[k]), k
    x = torch.rand(2, 3, 16, 16, generator=gen)
    ref = _reference_forward(state, x, VGG16_LAYERS.index("relu3_3"))
    out = vgg(x)
    for name, f in zip(("relu1_2", "relu2_2", "relu3_3"), out):
        torch.testing.assert_close(f, ref[name], atol=1e-5, rtol=1e-4)


def test_imagenet_reads_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert vgg16_weights_path() == expected
    with pytest.raises(FileNotFoundError) as info:
        VGG16Features(weights="imagenet")
    msg = str(info.value)
    assert str(expected) in msg and "https://download.pytorch.org/models/vgg16-397923af.pth" in msg
    expected.parent.mkdir(parents=True)
    state = _fake_torchvision_state(torch.Generator().manual_seed(1))
    torch.save(state, expected)
    vgg = VGG16Features(layers=("relu1_1",), weights="imagenet")
    assert torch.equal(vgg.features[0].weight, state["features.0.weight"])


def test_missing_path_and_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights=<path>"):
        VGG16Features(weights=tmp_path / "nope.pth")
    partial = {"features.0.weight": torch.zeros(64, 3, 3, 3)}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="lacks VGG16 keys"):
        VGG16Features(layers=("relu1_1",), weights=tmp_path / "partial.pth")
    wrong = {"features.0.weight": torch.zeros(64, 3, 5, 5), "features.0.bias": torch.zeros(64)}
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="shape"):
        VGG16Features(layers=("relu1_1",), weights=tmp_path / "wrong.pth")
    with pytest.raises(TypeError, match="weights"):
        VGG16Features(weights=3)


def test_bad_layers():
    with pytest.raises(ValueError, match="unknown VGG16 layer"):
        VGG16Features(layers=("relu9_9",), weights=None)
    with pytest.raises(ValueError, match="empty"):
        VGG16Features(layers=(), weights=None)


def test_frozen_truncated_and_ordered():
    vgg = VGG16Features(
        layers=("relu2_2", "relu1_2"), weights=None, generator=torch.Generator().manual_seed(0)
    )
    assert len(vgg.features) == VGG16_LAYERS.index("relu2_2") + 1
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    out = vgg(x)
    assert [f.shape[1] for f in out] == [128, 64]
    sum(f.sum() for f in out).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_random_init_is_reproducible_and_grey_input():
    a = VGG16Features(layers=("relu1_2",), weights=None, generator=torch.Generator().manual_seed(3))
    b = VGG16Features(layers=("relu1_2",), weights=None, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.features[2].weight, b.features[2].weight)
    grey = torch.rand(1, 1, 8, 8)
    torch.testing.assert_close(a(grey)[0], a(grey.expand(-1, 3, -1, -1))[0])
    with pytest.raises(ValueError, match="channels"):
        a(torch.rand(1, 2, 8, 8))


def test_normalize_input_flag():
    gen = torch.Generator().manual_seed(0)
    raw = VGG16Features(layers=("conv1_1",), weights=None, normalize_input=False, generator=gen)
    x = torch.rand(1, 3, 4, 4)
    w, b = raw.features[0].weight, raw.features[0].bias
    torch.testing.assert_close(raw(x)[0], F.conv2d(x, w, b, padding=1))


def test_gradcheck_float64():
    vgg = VGG16Features(
        layers=("relu1_2",), weights=None, generator=torch.Generator().manual_seed(0)
    ).double()
    x = torch.rand(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: vgg(t)[0], (x,), fast_mode=True)


def test_cpu_channels_last_path_matches_the_usual_layout():
    """On the CPU the layers run on channels-last input (faster); features and gradients are those
    of the usual layout, and the features come back contiguous (``.view`` works on them)."""
    gen = torch.Generator().manual_seed(3)  # float64, so that summation order does not show
    state = {k: v.double() for k, v in _fake_torchvision_state(gen).items()}
    vgg = VGG16Features(layers=("relu1_2", "relu2_2", "relu3_3"), weights=None).double()
    vgg.load_state_dict({k: v for k, v in state.items() if k.startswith("features.")})
    x = torch.rand(2, 3, 24, 20, generator=gen, dtype=torch.float64, requires_grad=True)
    ref_x = x.detach().clone().requires_grad_()
    feats = vgg(x)
    ref = _reference_forward(state, ref_x, VGG16_LAYERS.index("relu3_3"))
    for name, f in zip(("relu1_2", "relu2_2", "relu3_3"), feats):
        assert f.is_contiguous()
        f.view(f.shape[0], -1)
        torch.testing.assert_close(f, ref[name])
    sum(f.square().sum() for f in feats).backward()
    sum(ref[n].square().sum() for n in ("relu1_2", "relu2_2", "relu3_3")).backward()
    torch.testing.assert_close(x.grad, ref_x.grad)
