"""The public surface of pyisp_contrast.isp must not shrink by accident."""

from __future__ import annotations

import pyisp_contrast.isp as isp

CURVES = {
    "gamma", "inverse_gamma", "srgb_to_linear", "linear_to_srgb", "exposure", "inverse_exposure",
    "reinhard", "inverse_reinhard", "hable", "inverse_hable", "aces", "inverse_aces", "log_curve",
    "inverse_log_curve", "le_curve", "sigmoid_contrast", "inverse_sigmoid_contrast", "value_curve",
    "safe_pow", "Gamma", "InverseGamma", "SrgbToLinear", "LinearToSrgb", "Exposure",
    "InverseExposure", "Reinhard", "InverseReinhard", "Hable", "InverseHable", "Aces",
    "InverseAces", "LogCurve", "InverseLogCurve", "LeCurve", "SigmoidContrast",
    "InverseSigmoidContrast", "ValueCurve", "rational_gain", "RationalGain",
}  # fmt: skip

DENOISE = {
    "block_guided_filter", "BlockGuidedFilter", "block_statistics", "guided_coefficients",
    "upsample_cells",
}  # fmt: skip

BANK = {
    "BagOfCurves", "CurveFamily", "CurveRecord", "OVER", "UNDER", "apply_record", "luma",
    "pie_families", "sample_negatives",
}  # fmt: skip

DEGRADE = {
    "low_light", "haze", "rain", "scatter", "inverse_scatter", "rain_kernel", "LowLight", "Haze",
    "Rain", "jpeg_round_trip", "TONE_CURVES", "METERING",
}  # fmt: skip

BAGS = {
    "BagOfHaze", "BagOfRain", "DegradationBag", "DegradationFamily", "DegradationRecord",
    "RAIN_REGIMES", "haze_families", "rain_families", "HAZE_DEFAULTS", "HazeDefaults",
}  # fmt: skip

ORDER = {"isotonic_fit", "order_preserving_gain"}

NOISE = {"noise_sigma", "noise_to_signal"}

SHARPEN = {"sharpen_luma", "SharpenLuma", "luma_s_curve"}

EXPECTED = CURVES | BANK | DEGRADE | BAGS | DENOISE | ORDER | NOISE | SHARPEN


def test_expected_names_are_exported() -> None:
    missing = EXPECTED - set(isp.__all__)
    assert not missing, f"removed from pyisp_contrast.isp.__all__: {sorted(missing)}"
    for name in EXPECTED:
        assert getattr(isp, name) is not None


def test_all_names_resolve() -> None:
    for name in isp.__all__:
        assert hasattr(isp, name), name
