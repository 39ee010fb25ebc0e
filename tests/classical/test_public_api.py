"""The public surface of pyisp_contrast.classical must not shrink by accident."""

import pyisp_contrast.classical as classical

EXPECTED = {
    "ColorGuidedFilter",
    "DarkChannel",
    "DarkChannelDehaze",
    "GuidedFilter",
    "box_filter",
    "color_guided_filter",
    "dark_channel",
    "dark_channel_dehaze",
    "dark_channel_estimates",
    "estimate_airlight",
    "estimate_transmission",
    "guided_filter",
}


def test_public_api():
    assert set(classical.__all__) >= EXPECTED
    for name in EXPECTED:
        assert hasattr(classical, name), name
