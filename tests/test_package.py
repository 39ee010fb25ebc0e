"""The top-level package exposes every subpackage lazily, and the model registry knows the tasks."""

from __future__ import annotations

import importlib

import pytest

import pyisp_contrast

SUBPACKAGES = (
    "classical", "contrastive", "core", "data", "isp", "losses", "metrics", "models", "segmentation",
    "train",
)  # fmt: skip


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_is_listed_and_importable(name):
    assert name in pyisp_contrast.__all__
    assert getattr(pyisp_contrast, name) is importlib.import_module(f"pyisp_contrast.{name}")


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pyisp_contrast.nope  # noqa: B018


def test_training_registry_knows_every_task():
    from pyisp_contrast.train import MODEL_FACTORIES

    assert {"pie", "dehaze", "derain"} <= set(MODEL_FACTORIES)
