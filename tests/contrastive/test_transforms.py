import pytest
import torch

from pyisp_contrast.contrastive import Gram, PixelStatistics, TransformedEmbedder, gram_matrix


def test_gram_known_value_and_loop(device, dtype, tol):
    f = torch.rand(2, 3, 4, 5, device=device, dtype=dtype)
    g = gram_matrix(f)
    assert g.shape == (2, 3, 3)
    for b in range(2):
        for c in range(3):
            for d in range(3):
                expected = (f[b, c] * f[b, d]).sum() / (3 * 4 * 5)
                torch.testing.assert_close(g[b, c, d], expected, **tol)
    torch.testing.assert_close(g, g.transpose(-1, -2))


def test_gram_extra_leading_dims():
    f = torch.rand(2, 4, 3, 5, 5)
    torch.testing.assert_close(gram_matrix(f)[1, 2], gram_matrix(f[1, 2]))


def test_gram_module_equals_function():
    f = [torch.rand(1, 2, 3, 3), torch.rand(1, 4, 2, 2)]
    for a, b in zip(Gram()(f), [gram_matrix(x) for x in f]):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(Gram()(f[0]), gram_matrix(f[0]))


def test_gram_gradcheck():
    f = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gram_matrix, (f,))


def test_gram_bad_input():
    with pytest.raises(ValueError, match="C, H, W"):
        gram_matrix(torch.rand(3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        gram_matrix(torch.ones(1, 2, 3, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="Tensor"):
        gram_matrix([1, 2, 3])


def test_transformed_embedder():
    emb = TransformedEmbedder(PixelStatistics(scales=(1, 2)), gram_matrix)
    x = torch.rand(2, 3, 8, 8)
    out = emb(x)
    ref = [gram_matrix(f) for f in PixelStatistics(scales=(1, 2))(x)]
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b)
    with pytest.raises(TypeError, match="callable"):
        TransformedEmbedder(PixelStatistics(), 3)
