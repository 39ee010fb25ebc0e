"""Tests for pyisp_contrast.core.devices: the one resolver of device names."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.core import DeviceError, resolve_device


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine that says it has two CUDA GPUs (nothing is put on them in these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_names_and_devices(no_gpu) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("auto", local_rank=3) == torch.device("cpu")


def test_auto_and_bare_cuda_take_the_local_rank(two_gpus) -> None:
    assert resolve_device("auto") == torch.device("cuda:0")
    assert resolve_device("auto", local_rank=1) == torch.device("cuda:1")
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda:1")
    assert resolve_device(torch.device("cuda"), local_rank=1) == torch.device("cuda:1")
    # an explicit index is kept, whatever the rank
    assert resolve_device("cuda:0", local_rank=1) == torch.device("cuda:0")


def test_a_gpu_past_the_last_is_a_clear_error(two_gpus) -> None:
    with pytest.raises(
        DeviceError, match=r"cuda:2: there is no such GPU \(2 found: cuda:0 to cuda:1\)"
    ):
        resolve_device("cuda:2")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bogus", "'bogus' is not a device name; use auto, cpu, cuda or cuda:N."),
        ("gpu0", "'gpu0' is not a device name"),
        ("cuda", "cuda: this machine (or this build of torch) has no CUDA GPU; use cpu."),
        ("cuda:1", "cuda:1: this machine (or this build of torch) has no CUDA GPU"),
        ("mps", "mps: no Apple GPU (MPS) here; use cpu."),
        ("meta", "meta: not supported; use auto, cpu, cuda or cuda:N."),
    ],
)
def test_bad_names_say_what_to_give(no_gpu, name, message) -> None:
    with pytest.raises(DeviceError) as info:
        resolve_device(name, what="--device")
    assert str(info.value).startswith(f"--device {message}")


def test_the_error_is_a_value_error_and_a_runtime_error(no_gpu) -> None:
    """Callers that caught the trainer's RuntimeError or the loader's ValueError still do."""
    for kind in (ValueError, RuntimeError):
        with pytest.raises(kind):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match=r"^`device` 'bogus'"):  # the default `what`
        resolve_device("bogus")


def test_one_resolver_behind_every_entry_point(no_gpu, tmp_path) -> None:
    """load_pretrained, the trainer and the SLIC device of the regional loss accept and refuse
    the same names with the same messages."""
    from pyisp_contrast.losses import RegionalBrightnessConsistency
    from pyisp_contrast.models import FastCurveEstimator, load_pretrained, save_pretrained
    from pyisp_contrast.train import resolve_device as train_resolve

    assert train_resolve is resolve_device
    path = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(channels=4), path)
    net = load_pretrained(path, device="auto")  # "auto" was refused here before
    assert next(net.parameters()).device == torch.device("cpu")
    with pytest.raises(DeviceError, match="'bogus' is not a device name"):
        load_pretrained(path, device="bogus")
    with pytest.raises(DeviceError, match=r"^`slic_device` cuda: this machine"):
        RegionalBrightnessConsistency(slic_device="cuda")


@pytest.mark.cuda
def test_resolver_on_a_real_gpu(device, tmp_path) -> None:
    """On a machine with CUDA: "auto" and a bare "cuda" name the first GPU, a model loaded with
    device="auto" lands there, and an index past the last GPU is refused by name."""
    from pyisp_contrast.models import FastCurveEstimator, load_pretrained, save_pretrained

    assert resolve_device("auto") == torch.device("cuda:0") == resolve_device("cuda")
    save_pretrained(FastCurveEstimator(channels=4), tmp_path / "w.pt")
    net = load_pretrained(tmp_path / "w.pt", device="auto")
    assert next(net.parameters()).device == torch.device("cuda:0")
    past = torch.cuda.device_count()
    with pytest.raises(DeviceError, match=f"cuda:{past}: there is no such GPU"):
        resolve_device(f"cuda:{past}")
