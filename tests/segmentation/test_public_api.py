"""The public surface of pyisp_contrast.segmentation must not shrink by accident."""

import pyisp_contrast.segmentation as seg

EXPECTED = {
    "RegionStats",
    "boundaries",
    "paint",
    "region_stats",
    "relabel_sequential",
    "SLIC",
    "Superpixels",
    "slic",
    "slic_grid",
}


def test_public_names_present():
    missing = EXPECTED - set(seg.__all__)
    assert not missing, f"missing from __all__: {sorted(missing)}"
    for name in EXPECTED:
        assert hasattr(seg, name), name
