from __future__ import annotations

import dataclasses
import tomllib

import pytest

from pyisp_contrast.train.config import TrainConfig


def test_defaults_follow_pie():
    cfg = TrainConfig()
    assert (cfg.lr, cfg.weight_decay, cfg.grad_clip, cfg.batch_size, cfg.crop, cfg.iterations) == (
        1e-4, 1e-4, 0.1, 2, 384, 14000,
    )  # fmt: skip
    assert cfg.validation_interval == cfg.checkpoint_every


def test_optimizer_defaults_to_adam():
    assert (TrainConfig().optimizer, TrainConfig().momentum) == ("adam", 0.0)
    assert TrainConfig(optimizer="sgd", momentum=0.9).momentum == 0.9


def test_resume_mutable_names_fields():
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert TrainConfig.RESUME_MUTABLE <= names
    assert "RESUME_MUTABLE" not in TrainConfig().to_dict()  # a class constant, not an option
    # options that change the steps taken are not mutable
    assert not {"lr", "optimizer", "momentum", "seed", "batch_size"} & TrainConfig.RESUME_MUTABLE


def test_changed_on_resume_ignores_mutable_and_unrecorded_options():
    saved = TrainConfig(iterations=10, workers=2).to_dict()
    del saved["momentum"]  # a checkpoint from before the option existed
    new = TrainConfig(iterations=99, workers=0, optimizer="sgd", momentum=0.5, seed=3)
    assert new.changed_on_resume(saved) == ["optimizer", "seed"]


def test_from_toml_round_trip(tmp_path):
    cfg = TrainConfig(
        normal=["a/b", "c"], iterations=50, model_kwargs={"fast": True, "scale": 0.5},
        synthesize_kwargs={"ev_range": [-5.0, -2.0]}, grad_clip=None, val_every=7,
        optimizer="sgd", momentum=0.8,
    )  # fmt: skip
    path = tmp_path / "run.toml"
    path.write_text(cfg.to_toml())
    tomllib.loads(path.read_text())  # valid TOML
    assert TrainConfig.from_toml(path) == cfg


def test_single_path_becomes_list(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('normal = "data/normal"\niterations = 3\n[model_kwargs]\nwidth = 8\n')
    cfg = TrainConfig.from_toml(path)
    assert cfg.normal == ["data/normal"] and cfg.model_kwargs == {"width": 8}


def test_unknown_keys_are_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("iterations = 3\nlearning_rate = 0.1\nbatchsize = 4\n")
    with pytest.raises(ValueError, match=r"batchsize, learning_rate"):
        TrainConfig.from_toml(path)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"iterations": 0}, ValueError, "iterations"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"grad_clip": 0}, ValueError, "grad_clip"),
        ({"scheduler": "linear"}, ValueError, "scheduler"),
        ({"normal": 3}, TypeError, "normal"),
        ({"model_kwargs": [1]}, TypeError, "model_kwargs"),
        ({"val_every": 0}, ValueError, "val_every"),
        ({"holdout_every": 1}, ValueError, "holdout_every"),
        (
            {"optimizer": "rmsprop"},
            ValueError,
            r"`optimizer` must be one of 'adam', 'adamw', 'sgd'",
        ),
        ({"optimizer": "Adam"}, ValueError, "optimizer"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"optimizer": "sgd", "momentum": 1.0}, ValueError, r"momentum.*\[0, 1\)"),
        ({"momentum": 0.9}, ValueError, r"`momentum` only applies to optimizer = 'sgd'"),
        ({"optimizer": "adamw", "momentum": 0.9}, ValueError, "only applies"),
    ],
)
def test_bad_values(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TrainConfig(**kwargs)


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such config"):
        TrainConfig.from_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("iterations = = 3")
    with pytest.raises(ValueError, match="not valid TOML"):
        TrainConfig.from_toml(bad)
    typed = tmp_path / "typed.toml"
    typed.write_text('iterations = "many"')
    with pytest.raises(TypeError, match=r"typed.toml: `iterations`"):
        TrainConfig.from_toml(typed)


def test_schedule_steps_stops_a_run_part_way_through_a_longer_schedule():
    import math

    import torch

    cfg = TrainConfig(iterations=3, schedule_steps=12, scheduler="cosine", lr=1.0)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
    sched = cfg.build_scheduler(opt)
    for _ in range(cfg.iterations):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 12)))
    # default: the schedule spans the run
    assert TrainConfig(iterations=5, scheduler="cosine").build_scheduler(opt).T_max == 5
    assert tomllib.loads(cfg.to_toml())["schedule_steps"] == 12
    with pytest.raises(ValueError, match="schedule_steps"):
        TrainConfig(schedule_steps=0)
