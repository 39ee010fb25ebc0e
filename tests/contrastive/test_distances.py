import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.contrastive import (
    CosineDistance,
    FeatureDistance,
    GramMSEDistance,
    L1Distance,
    MSEDistance,
    gram_matrix,
)


def _feats(gen, b=2, dtype=torch.float32):
    return [
        torch.rand(b, 3, 4, 4, generator=gen, dtype=dtype),
        torch.rand(b, 5, 2, 2, generator=gen, dtype=dtype),
    ]


def _loop(kind, fa, fb, weights):
    """Slow per-sample, per-layer evaluation of each distance's formula."""
    out = []
    for i in range(fa[0].shape[0]):
        total = 0.0
        for w, a, b in zip(weights, fa, fb):
            a, b = a[i], b[i]
            if kind == "l1":
                d = (a - b).abs().mean()
            elif kind == "mse":
                d = ((a - b) ** 2).mean()
            elif kind == "gram":
                ga = torch.einsum("chw,dhw->cd", a, a) / a.numel()
                gb = torch.einsum("chw,dhw->cd", b, b) / b.numel()
                d = ((ga - gb) ** 2).mean()
            else:  # cosine: one minus cosine of channel vectors, averaged over positions
                vals = []
                for y in range(a.shape[1]):
                    for x in range(a.shape[2]):
                        u, v = a[:, y, x], b[:, y, x]
                        vals.append(
                            1 - (u @ v) / (u.norm().clamp_min(1e-8) * v.norm().clamp_min(1e-8))
                        )
                d = torch.stack(vals).mean()
            total = total + w * d
        out.append(total)
    return torch.stack(out)


@pytest.mark.parametrize(
    ("cls", "kind"),
    [
        (L1Distance, "l1"),
        (MSEDistance, "mse"),
        (GramMSEDistance, "gram"),
        (CosineDistance, "cosine"),
    ],
)
@pytest.mark.parametrize("weights", [None, (0.5, 2.0)])
def test_against_loop(cls, kind, weights):
    gen = torch.Generator().manual_seed(0)
    fa, fb = _feats(gen), _feats(gen)
    dist = cls(layer_weights=weights)
    out = dist(fa, fb)
    assert out.shape == (2,)
    torch.testing.assert_close(
        out, _loop(kind, fa, fb, weights or (1.0, 1.0)), atol=1e-5, rtol=1e-4
    )


@pytest.mark.parametrize("cls", [L1Distance, MSEDistance, GramMSEDistance, CosineDistance])
def test_zero_on_identical_and_broadcast(cls):
    gen = torch.Generator().manual_seed(1)
    fa = _feats(gen, b=3)
    torch.testing.assert_close(cls()(fa, fa), torch.zeros(3), atol=1e-6, rtol=0)
    single = [f[:1] for f in fa]
    out = cls()(fa, single)
    assert out.shape == (3,)
    torch.testing.assert_close(out[1], cls()([f[1:2] for f in fa], single)[0])


@pytest.mark.parametrize("cls", [L1Distance, MSEDistance, GramMSEDistance, CosineDistance])
def test_gradcheck(cls):
    gen = torch.Generator().manual_seed(2)
    fa = [f.requires_grad_(True) for f in _feats(gen, dtype=torch.float64)]
    fb = _feats(gen, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b: cls(layer_weights=(1.0, 0.3))([a, b], fb), tuple(fa)
    )


def test_gram_accepts_different_sizes_others_do_not():
    a, b = [torch.rand(1, 2, 4, 4)], [torch.rand(1, 2, 6, 6)]
    assert GramMSEDistance()(a, b).shape == (1,)
    with pytest.raises(ValueError, match="do not match"):
        MSEDistance()(a, b)


def test_bad_inputs():
    f = [torch.rand(2, 2, 3, 3)]
    with pytest.raises(ValueError, match="layers"):
        L1Distance()(f, f + f)
    with pytest.raises(ValueError, match="layer weights"):
        L1Distance(layer_weights=(1.0, 2.0))(f, f)
    with pytest.raises(ValueError, match="broadcast"):
        L1Distance()(f, [torch.rand(3, 2, 3, 3)])
    with pytest.raises(ValueError, match="layer_weights"):
        L1Distance(layer_weights=(-1.0,))
    with pytest.raises(ValueError, match="empty"):
        L1Distance()([], f)
    with pytest.raises(TypeError, match="list of feature maps"):
        L1Distance()("abc", f)
    with pytest.raises(NotImplementedError):
        FeatureDistance()(f, f)


def test_single_tensor_is_one_layer():
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    torch.testing.assert_close(MSEDistance()(a, b), torch.ones(2))


@settings(max_examples=25, deadline=None)
@given(s=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_gram_distance_is_symmetric_and_nonnegative(s, seed):
    gen = torch.Generator().manual_seed(seed)
    a, b = _feats(gen), _feats(gen)
    b = [s * x for x in b]
    d1, d2 = GramMSEDistance()(a, b), GramMSEDistance()(b, a)
    torch.testing.assert_close(d1, d2)
    assert bool((d1 >= 0).all())
    torch.testing.assert_close(
        GramMSEDistance()(a, b),
        MSEDistance(layer_weights=None)
        .compare_layers(
            [gram_matrix(x).unsqueeze(1) for x in a], [gram_matrix(x).unsqueeze(1) for x in b]
        )
        .sum(0),
    )
