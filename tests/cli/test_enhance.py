from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from pyisp_contrast.cli import main
from pyisp_contrast.core.io import read_image, read_photo, read_png_text, write_image
from pyisp_contrast.models import FastCurveEstimator, load_pretrained, save_pretrained


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(), path)
    return path


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    g = torch.Generator().manual_seed(1)
    write_image(d / "rgb.png", 0.3 * torch.rand(3, 24, 32, generator=g))
    write_image(d / "grey.png", 0.3 * torch.rand(1, 20, 20, generator=g))
    write_image(
        d / "rgba.png",
        0.3 * torch.rand(3, 16, 16, generator=g),
        alpha=torch.rand(1, 16, 16, generator=g),
    )
    write_image(d / "grey16.png", 0.2 * torch.rand(1, 18, 18, generator=g), bits=16)
    pal = Image.fromarray(
        (np.arange(16 * 16).reshape(16, 16) % 50).astype(np.uint8), mode="L"
    ).convert("P")
    pal.save(d / "palette.png")
    return d


def test_enhances_every_kind(tmp_path, inputs, weights, capsys):
    out = tmp_path / "out"
    assert (
        main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights), "--device", "cpu"])
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == ["grey.png", "grey16.png", "palette.png", "rgb.png", "rgba.png"]
    with Image.open(out / "rgb.png") as im:
        assert (im.mode, im.size) == ("RGB", (32, 24))
    with Image.open(out / "grey.png") as im:
        assert im.mode == "L"
    with Image.open(out / "grey16.png") as im:
        assert im.mode.startswith("I")  # 16-bit grey stays 16-bit
    with Image.open(out / "rgba.png") as im:
        assert im.mode == "RGBA"
    # the alpha channel comes back unchanged
    _, a_in = read_image(inputs / "rgba.png", return_alpha=True)
    _, a_out = read_image(out / "rgba.png", return_alpha=True)
    torch.testing.assert_close(a_out, a_in)
    # the colour result is the model's, up to 8-bit rounding
    model = load_pretrained(weights)
    expected = model.enhance(read_image(inputs / "rgb.png")[None])[0]
    torch.testing.assert_close(read_image(out / "rgb.png"), expected, atol=1 / 255 + 1e-6, rtol=0)
    assert "enhanced 5 image(s)" in capsys.readouterr().err


def test_corrupt_file_is_named_and_others_still_run(tmp_path, inputs, weights, capsys):
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    assert main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights), "-q"]) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err
    assert len(list(out.glob("*.png"))) == 5 and not list(out.glob(".*"))


def test_max_side_and_globs(tmp_path, inputs, weights):
    out = tmp_path / "out"
    assert main(["enhance", str(inputs / "rgb*.png"), "-o", str(out), "--weights", str(weights),
                 "--max-side", "16", "-q"]) == 0  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["rgb.png", "rgba.png"]
    with Image.open(out / "rgb.png") as im:
        assert im.size == (16, 12)


def test_foreign_output_is_kept_and_stops_the_run_unless_overwrite(
    tmp_path, inputs, weights, capsys
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rgb.png").write_bytes(b"keep me")
    args = ["enhance", str(inputs / "rgb.png"), "-o", str(out), "--weights", str(weights), "-q"]
    assert main(args) == 2
    assert (out / "rgb.png").read_bytes() == b"keep me"
    err = capsys.readouterr().err
    assert "was not written by pyisp-contrast enhance" in err and "--overwrite" in err
    assert main([*args, "--overwrite"]) == 0
    assert read_image(out / "rgb.png").shape == (3, 24, 32)
    assert main(args) == 0  # now it is ours, made from this input: already there


def test_refusals(tmp_path, inputs, weights, capsys):
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    # writing next to the inputs would overwrite them
    assert main(["enhance", str(inputs), "-o", str(inputs), "--weights", str(weights)]) == 2
    assert "refusing to write onto input" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "rgb.jpg", torch.rand(3, 8, 8))
    assert main(["enhance", str(inputs / "rgb.png"), str(other / "rgb.jpg"), "-o", str(tmp_path / "o"),
                 "--weights", str(weights)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "would both be written as" in err and "different -o folders" in err
    assert main(["enhance", str(tmp_path / "nothing*.png"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert (
        main(
            [
                "enhance",
                str(inputs),
                "-o",
                str(tmp_path / "o"),
                "--weights",
                str(tmp_path / "nope.pt"),
            ]
        )
        == 2
    )
    assert "nope.pt" in capsys.readouterr().err
    assert main(["enhance", str(inputs), "-o", str(tmp_path / "o"), "--max-side", "0"]) == 2


def test_help_documents_image_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["enhance", "--help"])
    text = capsys.readouterr().out
    for word in ("grey", "RGBA", "16-bit", "palette", "exit status"):
        assert word in text


def test_sample_flag_enhances_the_bundled_photo(tmp_path, weights, capsys):
    out = tmp_path / "out"
    assert main(["enhance", "--sample", "-o", str(out), "--weights", str(weights)]) == 0
    from pyisp_contrast.data import sample_lowlight_path

    result = read_image(out / "sample_lowlight.png")
    assert result.shape == read_image(sample_lowlight_path()).shape


def test_no_input_at_all_is_a_usage_error(tmp_path, capsys):
    assert main(["enhance", "-o", str(tmp_path / "o")]) == 2
    assert "--sample" in capsys.readouterr().err


def test_task_picks_its_default_weights(tmp_path, inputs, monkeypatch):
    import pyisp_contrast.models as models

    asked = []

    def fake_load(name, device=None):
        asked.append(name)
        raise models.WeightsError(f"{name}: stop here")

    monkeypatch.setattr(models, "load_pretrained", fake_load)
    for task in ("lowlight", "dehaze", "derain"):
        main(["enhance", str(inputs), "-o", str(tmp_path / task), "--task", task])
    assert asked == ["pie-physics", "dehaze-default", "derain-default"]


# ------------------------------------------------------------------------- photos as they are shown


def _cli(*args, weights=None):
    extra = ["--weights", str(weights)] if weights is not None else []
    return main(["enhance", *map(str, args), *extra, "--device", "cpu"])


def test_phone_photo_comes_out_upright_with_its_icc_and_exif(tmp_path, weights):
    # The case: stored 400x200 with EXIF Orientation=6, shown 200x400.
    arr = np.full((200, 400, 3), 20, np.uint8)
    arr[:, :40] = 90  # the stored left edge, the top as shown
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[271] = "PhoneMaker"
    icc = bytearray(128)
    icc[16:20], icc[36:40] = b"RGB ", b"acsp"
    Image.fromarray(arr).save(tmp_path / "phone.jpg", exif=exif, icc_profile=bytes(icc))
    out = tmp_path / "out"
    assert _cli(tmp_path / "phone.jpg", "-o", out, "-q", weights=weights) == 0
    with Image.open(out / "phone.png") as im:
        assert im.size == (200, 400)
        assert im.info.get("icc_profile") == bytes(icc)
        kept = im.getexif()
        assert kept[271] == "PhoneMaker" and kept.get(0x0112, 1) == 1
    result = read_image(out / "phone.png")
    assert float(result[:, :40].mean()) > float(result[:, -40:].mean())  # the bright edge on top


def test_16bit_colour_stays_16bit(tmp_path, weights):
    ramp = torch.linspace(0.0, 0.3, 600).expand(3, 4, 600).clone()
    ramp[1] *= 0.8
    write_image(tmp_path / "ramp16.png", ramp, bits=16)
    out = tmp_path / "out"
    assert _cli(tmp_path / "ramp16.png", "-o", out, "-q", weights=weights) == 0
    photo = read_photo(out / "ramp16.png")
    assert photo.info.bits == 16 and photo.info.channels == 3
    assert len(torch.unique(photo.image[0, 0])) > 300  # more levels than 8 bits hold
    model = load_pretrained(weights)
    expected = model.enhance(read_image(tmp_path / "ramp16.png")[None])[0]
    torch.testing.assert_close(photo.image, expected, atol=1 / 65535 + 1e-6, rtol=0)


# ------------------------------------------------------------------------- outputs you can trust


def _record(path):
    return json.loads(read_png_text(path)["pyisp-contrast"])


def test_output_records_what_it_was_made_from(tmp_path, inputs, weights):
    out = tmp_path / "out"
    assert _cli(inputs / "rgb.png", "-o", out, "--max-side", "20", "-q", weights=weights) == 0
    rec = _record(out / "rgb.png")
    src = inputs / "rgb.png"
    assert rec["input"]["path"] == str(src.resolve())
    assert rec["input"]["size"] == src.stat().st_size
    assert rec["input"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec["model"]["weights"] == str(weights) and len(rec["model"]["sha256"]) == 64
    assert rec["task"] == "lowlight" and rec["options"] == {"max_side": 20}


def test_same_name_from_another_folder_is_not_already_there(tmp_path, weights, capsys):
    # The case: a/x.png then b/x.jpg into one folder exited 0 with "1 already there".
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_image(tmp_path / "a" / "x.png", 0.2 * torch.rand(3, 16, 16))
    write_image(tmp_path / "b" / "x.jpg", 0.2 * torch.rand(3, 16, 16))
    out = tmp_path / "out"
    assert _cli(tmp_path / "a" / "x.png", "-o", out, weights=weights) == 0
    first = (out / "x.png").read_bytes()
    capsys.readouterr()
    assert _cli(tmp_path / "b" / "x.jpg", "-o", out, weights=weights) == 2
    err = capsys.readouterr().err
    assert f"was made from {(tmp_path / 'a' / 'x.png').resolve()}" in err
    assert "nothing was done" in err and "--overwrite" in err
    assert (out / "x.png").read_bytes() == first  # a's result is kept
    assert _cli(tmp_path / "b" / "x.jpg", "-o", out, "--overwrite", weights=weights) == 0
    assert _record(out / "x.png")["input"]["path"] == str((tmp_path / "b" / "x.jpg").resolve())


def test_rerun_skips_only_the_same_job(tmp_path, inputs, weights, capsys):
    out = tmp_path / "out"
    src = inputs / "rgb.png"
    assert _cli(src, "-o", out, weights=weights) == 0
    capsys.readouterr()

    def rerun(*extra, weights=weights):
        assert _cli(src, "-o", out, *extra, weights=weights) == 0
        return capsys.readouterr().err

    assert "1 already there" in rerun()
    # touched (or copied elsewhere) but the same bytes: still the same input
    os.utime(src, ns=(1_000_000_000, 1_000_000_000))
    assert "1 already there" in rerun()
    copy = tmp_path / "moved" / "rgb.png"
    copy.parent.mkdir()
    copy.write_bytes(src.read_bytes())
    assert _cli(copy, "-o", out, weights=weights) == 0
    assert "1 already there" in capsys.readouterr().err
    # other weights, task or options: made again
    torch.manual_seed(5)
    other = tmp_path / "other.pt"
    save_pretrained(FastCurveEstimator(), other)
    assert f"1 redone (made with other weights ({weights}))" in rerun(weights=other)
    assert _record(out / "rgb.png")["model"]["weights"] == str(other)
    assert "1 redone (made with --task lowlight)" in rerun("--task", "dehaze", weights=other)
    assert "1 redone (made with other options (max_side=None))" in rerun(
        "--task", "dehaze", "--max-side", "16", weights=other
    )
    # a new version of the same file: made again
    write_image(src, 0.1 * torch.rand(3, 24, 32))
    assert "1 redone (the input changed since)" in rerun("--task", "dehaze", "--max-side", "16",
                                                          weights=other)  # fmt: skip
    assert "1 redone (--overwrite)" in rerun("--task", "dehaze", "--max-side", "16", "--overwrite",
                                             weights=other)  # fmt: skip


def test_hidden_files_in_an_input_folder_are_ignored(tmp_path, inputs, weights):
    (inputs / ".rgb.1a2b.partial.png").write_bytes(b"half a png")
    (inputs / "._rgb.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    out = tmp_path / "out"
    assert _cli(inputs, "-o", out, "-q", weights=weights) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "grey.png", "grey16.png", "palette.png", "rgb.png", "rgba.png",
    ]  # fmt: skip


def test_missing_input_is_reported_and_the_others_still_run(tmp_path, inputs, weights, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "not_there.jpg"
    assert _cli(inputs / "rgb.png", missing, inputs / "grey.png", "-o", out, weights=weights) == 1
    err = capsys.readouterr().err
    assert f"{missing}: no such file" in err and "1 input(s) not found" in err
    assert sorted(p.name for p in out.iterdir()) == ["grey.png", "rgb.png"]
    # nothing at all to enhance is a usage error
    assert _cli(missing, "-o", out, weights=weights) == 2


# ------------------------------------------------------------------------- the output folder


def test_unwritable_output_folder_stops_before_any_work(tmp_path, inputs, weights, capsys,
                                                        monkeypatch):  # fmt: skip
    import pyisp_contrast.cli._common as common
    import pyisp_contrast.models as models

    loaded = []
    monkeypatch.setattr(models, "load_pretrained", lambda *a, **k: loaded.append(a))
    (tmp_path / "a_file").write_text("x")
    assert _cli(inputs, "-o", tmp_path / "a_file", weights=weights) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert _cli(inputs, "-o", tmp_path / "a_file" / "out", weights=weights) == 2
    assert "cannot write to the output folder" in capsys.readouterr().err

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(common.tempfile, "mkstemp", refuse)
    assert _cli(inputs, "-o", tmp_path / "ro", weights=weights) == 2
    err = capsys.readouterr().err
    assert f"cannot write to the output folder {tmp_path / 'ro'}: Permission denied" in err
    assert "partial" not in err  # no internal temporary file named
    assert loaded == []  # found before the model was even loaded


def test_a_run_that_writes_nothing_removes_the_folders_it_made(tmp_path, inputs, capsys):
    """A refused option or weights that do not load stop the run after the output folder was
    made: the folders this run created go again, folders that were there stay."""
    src = inputs / "rgb.png"
    new = tmp_path / "new" / "deeper"
    assert _cli(src, "-o", new, "--exposure", "9", "-q") == 2
    assert "--exposure" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert _cli(src, "-o", new, weights=tmp_path / "missing.pt") == 2
    assert capsys.readouterr().err and not (tmp_path / "new").exists()
    (tmp_path / "there").mkdir()
    assert _cli(src, "-o", tmp_path / "there" / "out", "--denoise", "0", "-q") == 2
    assert (tmp_path / "there").is_dir() and not (tmp_path / "there" / "out").exists()
    # a run that writes its output keeps the folder
    assert _cli(src, "-o", new, "-q") == 0
    assert (new / "rgb.png").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder(tmp_path, inputs, weights, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert _cli(inputs, "-o", ro, weights=weights) == 2
        assert "Permission denied" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


# ------------------------------------------------------------------------- clear messages


def test_bad_device_is_a_usage_error(tmp_path, inputs, weights, capsys):
    assert main(["enhance", str(inputs), "-o", str(tmp_path / "o"), "--device", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--device 'bogus' is not a device name; use auto, cpu, cuda or cuda:N" in err
    assert "Traceback" not in err
    if not torch.cuda.is_available():
        assert main(["enhance", str(inputs), "-o", str(tmp_path / "o"), "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err


def test_missing_extras_are_named_before_any_work(tmp_path, inputs, monkeypatch, capsys):
    import sys

    (tmp_path / "clip.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    (tmp_path / "photo.heic").write_bytes(b"\0\0\0\x18ftypheic")
    out = tmp_path / "out"
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed
    assert main(["enhance", str(tmp_path / "clip.mp4"), str(inputs), "-o", str(out)]) == 2
    assert "install with pip install -e '.[video]'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    assert main(["enhance", str(tmp_path / "photo.heic"), "-o", str(out)]) == 2
    assert "install with pip install -e '.[heic]'" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------------------- CPU thread policy


@pytest.fixture
def keep_threads():
    """The command sets the process's torch thread count: put it back after."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_option_fixes_the_count(tmp_path, inputs, weights, keep_threads, monkeypatch):
    from pyisp_contrast.cli import _common

    seen = []
    monkeypatch.setattr(_common.CpuThreads, "apply", lambda self: seen.append(self.count))
    out = tmp_path / "o"
    assert main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights),
                 "--threads", "1", "-q"]) == 0  # fmt: skip
    assert seen == [1]
    monkeypatch.setenv(_common.THREADS_ENV, "3")
    assert main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights),
                 "--overwrite", "-q"]) == 0  # fmt: skip
    assert seen == [1, 3]


@pytest.mark.parametrize("option, env", [(["--threads", "0"], None), ([], "two"), ([], "0")])
def test_bad_thread_count_is_a_usage_error(tmp_path, inputs, weights, monkeypatch, capsys,
                                           option, env):  # fmt: skip
    from pyisp_contrast.cli import _common

    if env is not None:
        monkeypatch.setenv(_common.THREADS_ENV, env)
    out = tmp_path / "o"
    assert main(["enhance", str(inputs), "-o", str(out), "--weights", str(weights), *option]) == 2
    err = capsys.readouterr().err
    assert ("--threads must be" if option else f"{_common.THREADS_ENV}={env!r} must be") in err
    assert not out.exists()


@pytest.mark.parametrize("others, expected", [(0.0, 4), (1.0, 3), (2.2, 2), (9.0, 1)])
def test_auto_threads_leave_the_busy_cpus_to_other_programs(keep_threads, monkeypatch, others,
                                                            expected):  # fmt: skip
    import time

    from pyisp_contrast.cli import _common

    monkeypatch.delenv(_common.THREADS_ENV, raising=False)
    monkeypatch.setattr(_common, "usable_cpus", lambda: 4)
    # other programs keep `others` CPUs busy, on top of this process's own CPU time
    monkeypatch.setattr(
        _common, "_busy_seconds", lambda cpus: others * time.monotonic() + time.process_time()
    )
    threads = _common.CpuThreads()
    assert threads.mode == "auto" and threads.count == expected
    assert torch.get_num_threads() == expected


def test_auto_threads_follow_the_load_between_inputs(keep_threads, monkeypatch):
    import time

    from pyisp_contrast.cli import _common

    monkeypatch.delenv(_common.THREADS_ENV, raising=False)
    monkeypatch.setattr(_common, "usable_cpus", lambda: 2)
    load = {"others": 1.0}
    # busy CPU-seconds grow at `others` per second from the moment the rate is set
    state = {"t": time.monotonic(), "acc": 0.0}

    def busy(cpus):
        now = time.monotonic()
        state["acc"] += load["others"] * (now - state["t"])
        state["t"] = now
        return state["acc"] + time.process_time()

    monkeypatch.setattr(_common, "_busy_seconds", busy)
    threads = _common.CpuThreads()
    assert threads.count == 1
    monkeypatch.setattr(_common.CpuThreads, "MIN_WINDOW", 0.0)
    load["others"] = 0.0
    time.sleep(0.05)
    assert threads.update() == 2 and torch.get_num_threads() == 2
    fixed = _common.CpuThreads(fixed=1)
    load["others"] = 0.0
    assert fixed.update() == 1 and fixed.mode == "fixed"


def test_exposure_option_brightens_and_is_recorded(tmp_path, inputs, capsys):
    """``--exposure`` with the bundled default: brighter for +1 stop, recorded in the output; a
    changed exposure is another job (the same weights, other options); bad values and models
    say so."""
    src = inputs / "rgb.png"
    base, up = tmp_path / "base", tmp_path / "up"
    assert _cli(src, "-o", base, "-q") == 0
    assert _cli(src, "-o", up, "--exposure", "1", "-q") == 0
    assert float(read_image(up / "rgb.png").mean()) > float(read_image(base / "rgb.png").mean())
    assert _record(up / "rgb.png")["options"] == {"max_side": None, "exposure": 1.0}
    assert "exposure" not in _record(base / "rgb.png")["options"]
    capsys.readouterr()
    assert _cli(src, "-o", up, "--exposure", "1") == 0
    assert "1 already there" in capsys.readouterr().err
    assert _cli(src, "-o", up, "--exposure", "0.5") == 0  # the same weights, another option
    assert "1 redone (made with other options (exposure=1.0, max_side=None))" in (
        capsys.readouterr().err
    )
    assert _cli(src, "-o", base, "--exposure", "0") == 0  # the model's own choice: no new job
    assert "1 already there" in capsys.readouterr().err
    assert _cli(src, "-o", up, "--exposure", "5", "-q") == 2
    assert "--exposure" in capsys.readouterr().err and not (tmp_path / "x").exists()
    curves = tmp_path / "c.pt"
    save_pretrained(FastCurveEstimator(), curves)
    assert _cli(src, "-o", tmp_path / "x", "--exposure", "1", "-q", weights=curves) == 2
    assert "has none" in capsys.readouterr().err


def test_denoise_option_changes_the_strength_and_is_recorded(tmp_path, inputs, capsys):
    """``--denoise`` multiplies the bundled default's denoiser strength: another output, recorded
    in it; 1 is the model's own strength (the same job); bad values and models say so."""
    src = inputs / "rgb.png"
    base, strong = tmp_path / "base", tmp_path / "strong"
    assert _cli(src, "-o", base, "-q") == 0
    assert _cli(src, "-o", strong, "--denoise", "50", "-q") == 0
    smooth, plain = read_image(strong / "rgb.png"), read_image(base / "rgb.png")
    # harder denoising: less pixel-to-pixel variation
    assert float(smooth.diff(dim=-1).abs().mean()) < float(plain.diff(dim=-1).abs().mean())
    assert _record(strong / "rgb.png")["options"] == {"max_side": None, "denoise": 50.0}
    capsys.readouterr()
    assert _cli(src, "-o", base, "--denoise", "1") == 0  # the model's own strength: no new job
    assert "1 already there" in capsys.readouterr().err
    for bad in ("0", "1000", "nan"):
        assert _cli(src, "-o", strong, "--denoise", bad, "-q") == 2
        assert "--denoise" in capsys.readouterr().err
    assert _record(strong / "rgb.png")["options"]["denoise"] == 50.0  # left as it was
    curves = tmp_path / "c.pt"
    save_pretrained(FastCurveEstimator(), curves)
    assert _cli(src, "-o", tmp_path / "x", "--denoise", "2", "-q", weights=curves) == 2
    assert "has none" in capsys.readouterr().err
