"""Tests for pyisp_contrast.models.registry: one registry for weight files and the Trainer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyisp_contrast.cli import main
from pyisp_contrast.models import (
    ARCHITECTURES,
    GuidedGainEnhancer,
    PhysicsPIE,
    get_model,
    get_model_info,
    list_models,
    load_pretrained,
    register_model,
    save_pretrained,
    weights_info,
)
from pyisp_contrast.train import MODEL_FACTORIES, build_model


def test_bundled_models_are_registered_once_with_their_task():
    assert {"dce", "fast-curve", "guided-gain", "pie", "pie-physics"} <= set(
        list_models(task="lowlight")
    )
    assert list_models(task="dehaze") == ["dehaze"] and list_models(task="derain") == ["derain"]
    info = get_model_info("guided-gain")
    assert info.builder is GuidedGainEnhancer and info.architecture == "GuidedGainEnhancer"
    assert not info.trainable and get_model_info("pie-physics").trainable
    assert isinstance(get_model("guided-gain", channels=4), GuidedGainEnhancer)


def test_weight_files_and_the_trainer_read_the_same_registry():
    assert ARCHITECTURES["GuidedGainEnhancer"] is GuidedGainEnhancer
    assert set(MODEL_FACTORIES) == set(list_models(trainable=True))
    assert MODEL_FACTORIES["pie-physics"] is PhysicsPIE
    with pytest.raises(KeyError):
        MODEL_FACTORIES["guided-gain"]  # a network, not a trainable composition


def test_a_registered_architecture_saves_and_loads(tmp_path):
    @register_model("tiny-registry-test", task="any", overwrite=True)
    class TinyNet(nn.Module):
        """A one-parameter network for the registry test."""

        def __init__(self, scale: float = 2.0) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(scale))

        @property
        def config(self) -> dict:
            return {"scale": float(self.scale.detach())}

    save_pretrained(TinyNet(3.0), tmp_path / "t.pt")
    loaded = load_pretrained(tmp_path / "t.pt")
    assert isinstance(loaded, TinyNet) and float(loaded.scale.detach()) == 3.0
    assert get_model_info("tiny-registry-test").summary.startswith("A one-parameter network")
    with pytest.raises(ValueError, match="already registered"):
        register_model("tiny-registry-test", lambda: nn.Identity())
    assert "tiny-registry-test" in list_models(trainable=False)


def test_trainer_names_and_errors():
    assert (
        type(build_model("pie-physics", embedder="exposure", n_segments=4)).__name__ == "PhysicsPIE"
    )
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model("nope")
    with pytest.raises(KeyError, match="registered models"):
        get_model_info("nope")
    with pytest.raises(ValueError, match="task"):
        register_model("x", lambda: nn.Identity(), task="denoise")


def test_weights_info_and_list_models_command(capsys):
    info = weights_info("pie-physics")
    assert (info.architecture, info.model, info.task) == (
        "GuidedGainEnhancer",
        "guided-gain",
        "lowlight",
    )
    assert info.parameters == sum(p.numel() for p in load_pretrained("pie-physics").parameters())
    assert info.summary and not info.summary.startswith("#")
    assert main(["list-models"]) == 0
    out = capsys.readouterr().out
    assert (
        "pie-physics (default)" in out and "GuidedGainEnhancer" in out and "dehaze-default" in out
    )
    assert main(["list-models", "--task", "dehaze"]) == 0
    out = capsys.readouterr().out
    assert "dehaze-default" in out and "pie-physics" not in out
