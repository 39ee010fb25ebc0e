import pyisp_contrast.metrics as metrics

EXPECTED = {
    "LOE", "NIQE", "NIQE_BLOCK", "NIQEModel", "PSNR", "SSIM", "fit_niqe_model", "lightness_map",
    "loe", "niqe", "niqe_features", "psnr", "ssim",
}  # fmt: skip
MOVED = {"RESTORATION_TASKS", "classical_baseline", "evaluate_restoration", "synthetic_pairs"}


def test_public_api_is_complete():
    assert EXPECTED <= set(metrics.__all__)
    for name in EXPECTED:
        assert getattr(metrics, name) is not None


def test_moved_names_are_not_listed_here():
    assert not MOVED & set(metrics.__all__)
