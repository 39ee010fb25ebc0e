"""Small sample data shipped with the package (no downloads).

- ``sample_lowlight.png``: a synthetic low-light photo, scikit-image's ``astronaut`` (public
  domain, NASA) resized to 384 px on its long side and darkened with
  :func:`pyisp_contrast.isp.degrade.low_light` (fixed seed). ``scripts/make_sample_image.py``
  regenerates it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_lowlight_path"]


def sample_lowlight_path() -> Path:
    """Path of the bundled low-light sample image (PNG, 8-bit RGB).

    Example:
        >>> from pyisp_contrast.core.io import read_image
        >>> read_image(sample_lowlight_path()).shape
        torch.Size([3, 384, 384])
    """
    return Path(str(resources.files(__name__).joinpath("sample_lowlight.png")))
