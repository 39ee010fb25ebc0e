from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from scipy.special import gamma
from skimage.data import astronaut

from pyisp_contrast.metrics import NIQE, NIQEModel, fit_niqe_model, niqe, niqe_features
from pyisp_contrast.metrics.niqe import _aggd


@pytest.fixture(scope="module")
def photo():
    """A natural photo (scikit-image's astronaut, shipped with it), cropped to 288 x 288 for speed."""
    return torch.from_numpy(astronaut()[:288, 112:400].copy()).permute(2, 0, 1).float() / 255


def _slow_aggd(v):
    """The reference's recipe, line by line: moments, then the argmin over the shape grid."""
    v = np.asarray(v, dtype=np.float64)
    left = math.sqrt(np.mean(v[v < 0] ** 2))
    right = math.sqrt(np.mean(v[v > 0] ** 2))
    g = left / right
    r = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
    r_norm = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    grid = np.arange(200, 10001) / 1000
    r_grid = gamma(2 / grid) ** 2 / (gamma(1 / grid) * gamma(3 / grid))
    alpha = grid[np.argmin((r_grid - r_norm) ** 2)]
    s = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * s, right * s


def test_aggd_matches_slow_reference():
    rng = np.random.default_rng(0)
    rows = np.stack(
        [stats.gennorm.rvs(b, size=3000, random_state=rng) for b in (0.7, 1.0, 2.0, 3.5)]
    )
    rows[1, rows[1] < 0] *= 0.5  # an asymmetric row
    alpha, left, right = _aggd(torch.from_numpy(rows))
    for i, row in enumerate(rows):
        ref = _slow_aggd(row)
        assert float(alpha[i]) == pytest.approx(ref[0], abs=1e-9)
        assert float(left[i]) == pytest.approx(ref[1], rel=1e-9)
        assert float(right[i]) == pytest.approx(ref[2], rel=1e-9)


@pytest.mark.parametrize("shape", [1.0, 2.0])
def test_aggd_recovers_known_shape(shape):
    x = stats.gennorm.rvs(shape, size=(1, 200_000), random_state=np.random.default_rng(1))
    alpha, left, right = _aggd(torch.from_numpy(x))
    assert float(alpha[0]) == pytest.approx(shape, rel=0.05)
    assert float(left[0]) == pytest.approx(float(right[0]), rel=0.05)


def test_more_noise_or_blur_gives_higher_niqe(photo):
    g = torch.Generator().manual_seed(0)
    noisy = [(photo + s * torch.randn(photo.shape, generator=g)).clamp(0, 1) for s in (0.05, 0.15)]
    blurred = [F.avg_pool2d(photo[None], k, stride=1, padding=k // 2, count_include_pad=False)[0]
               for k in (3, 7)]  # fmt: skip
    clean = float(niqe(photo))
    n1, n2 = niqe(torch.stack(noisy)).tolist()
    b1, b2 = niqe(torch.stack(blurred)).tolist()
    assert clean < n1 < n2
    assert clean < b1 < b2


def test_batch_equals_single_and_module_equals_function(photo):
    batch = torch.stack([photo[:, :192, :192], photo[:, 96:, 96:].flip(-1)])
    scores = niqe(batch)
    torch.testing.assert_close(scores[:1], niqe(batch[0]))
    torch.testing.assert_close(NIQE()(batch), scores)
    assert niqe(batch.double()).dtype == torch.float64


def test_features_shapes_and_grey(photo):
    f, sharp = niqe_features(photo)
    assert f.shape == (9, 36) and sharp.shape == (9,)
    assert torch.isfinite(f).all()
    grey = (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2])[None]
    torch.testing.assert_close(niqe_features(grey)[0], f, atol=1e-4, rtol=1e-4)


def test_flat_image_gives_nan():
    assert math.isnan(float(niqe(torch.full((1, 3, 96, 96), 0.5))))


def test_model_round_trip_and_fit(tmp_path, photo):
    model = fit_niqe_model([photo, photo.flip(-2)], sharpness_threshold=0.0)
    assert model.mean.shape == (36,) and model.cov.shape == (36, 36) and model.num_blocks == 18
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = NIQEModel.load(path)
    torch.testing.assert_close(loaded.mean, model.mean)
    torch.testing.assert_close(niqe(photo, model=path), niqe(photo, model=model))
    default = NIQEModel.default()
    assert default.num_blocks > 100 and torch.isfinite(default.cov).all()
    # symmetric positive semi-definite covariance
    torch.testing.assert_close(default.cov, default.cov.T)
    assert float(torch.linalg.eigvalsh(default.cov).min()) > -1e-9


def test_errors(tmp_path, photo):
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(torch.rand(1, 3, 64, 200))
    with pytest.raises(ValueError, match="one image"):
        niqe_features(torch.rand(2, 3, 96, 96))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a NIQE model"):
        niqe(photo, model=bad)
    with pytest.raises(ValueError, match="empty"):
        fit_niqe_model([])
    with pytest.raises(ValueError, match="sharpness_threshold"):
        fit_niqe_model([photo], sharpness_threshold=1.5)
