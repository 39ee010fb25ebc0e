import pyisp_contrast.metrics as metrics

EXPECTED = {
    "LOE", "NIQE", "NIQE_BLOCK", "NIQEModel", "PSNR", "SSIM", "fit_niqe_model", "lightness_map",
    "loe", "niqe", "niqe_features", "psnr", "ssim", "RESTORATION_TASKS", "classical_baseline",
    "evaluate_restoration", "synthetic_pairs",
}  # fmt: skip


def test_public_api_is_complete():
    assert EXPECTED <= set(metrics.__all__)
    for name in EXPECTED:
        assert getattr(metrics, name) is not None
