"""The public surface of pyisp_contrast.segmentation must not shrink by accident."""

import pyisp_contrast.segmentation as seg
import pyisp_contrast.segmentation.metrics as metrics

EXPECTED = {
    "SLIC",
    "Felzenszwalb",
    "RegionStats",
    "SoftSLIC",
    "SoftSuperpixels",
    "Superpixels",
    "boundaries",
    "felzenszwalb",
    "metrics",
    "paint",
    "region_stats",
    "relabel_sequential",
    "slic",
    "slic_grid",
    "soft_slic",
}

EXPECTED_METRICS = {
    "achievable_segmentation_accuracy",
    "boundary_recall",
    "compactness",
    "explained_variation",
    "undersegmentation_error",
}


def test_public_names_present():
    missing = EXPECTED - set(seg.__all__)
    assert not missing, f"missing from __all__: {sorted(missing)}"
    for name in EXPECTED:
        assert hasattr(seg, name), name


def test_metric_names_present():
    assert EXPECTED_METRICS <= set(metrics.__all__)
    for name in EXPECTED_METRICS:
        assert callable(getattr(metrics, name))
