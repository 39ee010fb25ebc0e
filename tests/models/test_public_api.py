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
    "scale_denoiser",
    "set_exposure",
    "CurveEstimator",
    "CurveOutput",
    "FastCurveEstimator",
    "apply_curve_maps",
    "Dehazer",
    "Derainer",
    "HazeEstimate",
    "HazeEstimator",
    "RainEstimator",
    "GuidedGainEnhancer",
    "PhysicsPIE",
    "PHYSICS_WEIGHTS",
    "ModelInfo",
    "WeightsInfo",
    "get_model",
    "get_model_info",
    "list_models",
    "register_model",
    "weights_info",
}


def test_public_names_present():
    missing = EXPECTED - set(models.__all__)
    assert not missing, f"removed from pyisp_contrast.models: {sorted(missing)}"
    for name in EXPECTED:
        assert hasattr(models, name)


def test_bundled_weights_load_in_a_fresh_process():
    """Importing pyisp_contrast.models registers every architecture the bundled files name."""
    import subprocess
    import sys

    code = (
        "from pyisp_contrast.models import available_weights, load_pretrained\n"
        "for name in available_weights():\n"
        "    assert callable(load_pretrained(name).enhance), name\n"
        "print(sorted(available_weights()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "dehaze-default" in out.stdout and "derain-default" in out.stdout
