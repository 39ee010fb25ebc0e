import importlib
import subprocess
import sys

import pytest

import pyisp_contrast.evaluation as evaluation

EXPECTED = {"RESTORATION_TASKS", "classical_baseline", "evaluate_restoration", "synthetic_pairs"}


def test_public_api_is_complete():
    assert set(evaluation.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(evaluation, name) is not None


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("old", ["pyisp_contrast.metrics", "pyisp_contrast.metrics.restoration"])
def test_old_import_paths_warn_and_give_the_same_object(old, name):
    """The harness lived in metrics/restoration.py; its old paths work for one more release."""
    with pytest.warns(
        DeprecationWarning, match=rf"{old}\.{name} moved to pyisp_contrast\.evaluation"
    ):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(evaluation, name)


def test_from_import_of_the_old_module_warns():
    with pytest.warns(DeprecationWarning, match="moved to pyisp_contrast.evaluation"):
        from pyisp_contrast.metrics.restoration import synthetic_pairs
    assert synthetic_pairs is evaluation.synthetic_pairs


def test_importing_the_old_modules_alone_does_not_warn():
    # only using a moved name warns: importing metrics for psnr must stay quiet (fresh process,
    # every warning an error)
    code = "import pyisp_contrast.metrics, pyisp_contrast.metrics.restoration as r; r.__doc__"
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        getattr(importlib.import_module("pyisp_contrast.metrics"), "nothing")  # noqa: B009
