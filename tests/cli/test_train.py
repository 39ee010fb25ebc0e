from __future__ import annotations

import torch
from torch import nn

from pyisp_contrast.cli import main
from pyisp_contrast.core.io import write_image
from pyisp_contrast.train import TrainConfig, load_checkpoint, register_model


class _TinyCurve(nn.Module):
    """One global gain per channel; the loss pulls the mean brightness of the output to the positive's."""

    def __init__(self, init: float = 0.0) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.full((1, 3, 1, 1), init) + 0.01 * torch.randn(1, 3, 1, 1))

    def training_step(self, batch):
        out = (batch["low"] * torch.exp(self.gain)).clamp(0, 1)
        total = (out.mean() - batch["normal"].mean()) ** 2
        return {"total": total, "brightness": out.mean()}

    def validation_images(self, batch):
        return (batch["low"] * torch.exp(self.gain)).clamp(0, 1)


register_model("tiny-cli-test", _TinyCurve, overwrite=True)


def _setup(tmp_path, **kw):
    normal = tmp_path / "normal"
    g = torch.Generator().manual_seed(0)
    for i in range(10):
        write_image(normal / f"n{i}.png", torch.rand(3, 20, 22, generator=g))
    base = dict(normal=[str(normal)], crop=16, batch_size=2, iterations=4, checkpoint_every=2,
                lr=0.05, model="tiny-cli-test", model_kwargs={"init": 0.5}, device="cpu",
                out_dir=str(tmp_path / "run"), log_every=1, val_images=2)  # fmt: skip
    base.update(kw)
    cfg = TrainConfig(**base)
    path = tmp_path / "run.toml"
    path.write_text(cfg.to_toml())
    return path


def test_train_then_resume_matches_one_run(tmp_path, capsys):
    cfg = _setup(tmp_path / "a")
    assert main(["train", "--config", str(cfg)]) == 0
    run = tmp_path / "a" / "run"
    assert {p.name for p in (run / "checkpoints").iterdir()} == {
        "step_000002.pt",
        "step_000004.pt",
        "last.pt",
    }
    assert {p.name for p in (run / "val").iterdir()} == {"step_000002.png", "step_000004.png"}
    assert "done: step 4" in capsys.readouterr().err
    # continue to 7 steps ...
    assert main(["train", "--config", str(cfg), "--resume", "--iterations", "7"]) == 0
    resumed = load_checkpoint(run / "checkpoints" / "last.pt")
    assert resumed["step"] == 7
    # ... which equals a run straight to 7 steps (default low-light synthesis included)
    straight = _setup(tmp_path / "b", iterations=7)
    assert main(["train", "--config", str(straight)]) == 0
    ref = load_checkpoint(tmp_path / "b" / "run" / "checkpoints" / "last.pt")
    torch.testing.assert_close(resumed["model"], ref["model"], rtol=0, atol=0)
    assert not torch.allclose(ref["model"]["gain"], torch.full((1, 3, 1, 1), 0.5), atol=1e-3)


def test_config_errors_exit_2(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('normal = ["x"]\nlearning_rate = 3\n')
    assert main(["train", "--config", str(cfg)]) == 2
    assert "learning_rate" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == 2
    good = _setup(tmp_path, model="no-such-model")
    assert main(["train", "--config", str(good)]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    ident = _setup(tmp_path, model="torch.nn:Identity", model_kwargs={})
    assert main(["train", "--config", str(ident)]) == 2
    assert "training_step" in capsys.readouterr().err


def test_data_root_from_flag_or_environment(tmp_path, capsys, monkeypatch):
    from pyisp_contrast.cli.train import DATA_ENV, resolve_data_paths

    cfg_path = _setup(tmp_path, iterations=1, checkpoint_every=1)
    text = cfg_path.read_text().replace(str(tmp_path / "normal"), "normal")
    cfg_path.write_text(text)
    assert main(["train", "--config", str(cfg_path), "--data", str(tmp_path)]) == 0
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert main(["train", "--config", str(cfg_path), "--out-dir", str(tmp_path / "run2")]) == 0
    assert main(["train", "--config", str(cfg_path), "--data", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert resolve_data_paths(["a", "/b"], None) == ["a", "/b"]


def test_bad_synthesis_parameter_is_a_clear_error(tmp_path, capsys):
    cfg = _setup(tmp_path, synthesize_kwargs={"ev_range": [-1.0, -3.0]})
    assert main(["train", "--config", str(cfg)]) == 2
    assert "ev_range" in capsys.readouterr().err


def test_fewer_usable_images_than_a_batch_or_none_at_all_are_clear_errors(tmp_path, capsys):
    cfg = _setup(tmp_path, batch_size=64)
    assert main(["train", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "fewer than one step's batch" in err and str(tmp_path / "normal") in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not a png")
    (broken / "b.jpg").write_bytes(b"not a jpeg")
    cfg = _setup(tmp_path, normal=[str(broken)])
    assert main(["train", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "none of the 2 image files" in err and str(broken) in err


def test_bad_device_is_a_usage_error(tmp_path, capsys):
    cfg = _setup(tmp_path)
    assert main(["train", "--config", str(cfg), "--device", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--device 'bogus' is not a device name; use auto, cpu, cuda or cuda:N" in err
    cfg_bad = _setup(tmp_path / "b", device="gpu0")
    assert main(["train", "--config", str(cfg_bad)]) == 2
    assert f"{cfg_bad}: device 'gpu0' is not a device name" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["train", "--config", str(cfg), "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing started
