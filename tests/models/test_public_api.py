"""The public surface of pyisp_contrast.models must not shrink by accident."""

import pyisp_contrast.models as models

EXPECTED = {
    "ARCHITECTURES",
    "DEFAULT_WEIGHTS",
    "PIE",
    "SelectLayers",
    "WeightsError",
    "available_weights",
    "load_pretrained",
    "save_pretrained",
    "CurveEstimator",
    "CurveOutput",
    "FastCurveEstimator",
    "apply_curve_maps",
}


def test_public_names_present():
    missing = EXPECTED - set(models.__all__)
    assert not missing, f"removed from pyisp_contrast.models: {sorted(missing)}"
    for name in EXPECTED:
        assert hasattr(models, name)
