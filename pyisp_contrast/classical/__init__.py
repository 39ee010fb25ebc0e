"""Classical (non-learned) baselines written with the library's own parts.

- :mod:`~pyisp_contrast.classical.dark_channel`: dark channel prior dehazing (He et al. 2009) with
  guided-filter refinement (He et al. 2010), batched in torch.
"""

from .dark_channel import (
    ColorGuidedFilter,
    DarkChannel,
    DarkChannelDehaze,
    GuidedFilter,
    box_filter,
    color_guided_filter,
    dark_channel,
    dark_channel_dehaze,
    dark_channel_estimates,
    estimate_airlight,
    estimate_transmission,
    guided_filter,
)

__all__ = [
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
]
