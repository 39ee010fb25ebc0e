from __future__ import annotations

import json

import torch

from pyisp_contrast.cli import main
from pyisp_contrast.core.io import write_image
from pyisp_contrast.models import FastCurveEstimator, save_pretrained


def _folders(tmp_path):
    g = torch.Generator().manual_seed(0)
    low, gt = tmp_path / "low", tmp_path / "gt"
    for i in range(2):
        clean = torch.rand(3, 100, 130, generator=g)
        write_image(gt / f"p{i}.png", clean)
        write_image(low / f"p{i}.png", clean * 0.2)
    return low, gt


def test_evaluate_writes_table_json_and_figure(tmp_path, capsys):
    low, gt = _folders(tmp_path)
    torch.manual_seed(0)
    weights = tmp_path / "w.pt"
    save_pretrained(FastCurveEstimator(), weights)
    out = tmp_path / "eval"
    code = main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", str(weights), "-o", str(out),
                 "--device", "cpu", "--save-images", "--figure-images", "2"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "niqe" in text and "loe" in text and "psnr" in text
    data = json.loads((out / "metrics.json").read_text())
    assert len(data["images"]) == 2 and not data["failed"]
    assert {"niqe", "loe", "brightness", "psnr", "ssim", "niqe_input"} <= set(data["mean"])
    assert (out / "before_after.png").stat().st_size > 0
    assert sorted(p.name for p in (out / "enhanced").iterdir()) == ["p0.png", "p1.png"]


def test_input_baseline_scores_identity(tmp_path, capsys):
    low, gt = _folders(tmp_path)
    out = tmp_path / "eval"
    assert (
        main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", "input", "-o", str(out)])
        == 0
    )
    data = json.loads((out / "metrics.json").read_text())
    assert data["mean"]["loe"] == 0.0
    assert abs(data["mean"]["niqe"] - data["mean"]["niqe_input"]) < 1e-6


def test_bad_files_and_folders(tmp_path, capsys):
    low, _ = _folders(tmp_path)
    (low / "zz.png").write_bytes(b"broken")
    assert main(["evaluate", "--low", str(low), "--weights", "input"]) == 1
    assert "zz.png" in capsys.readouterr().err
    assert main(["evaluate", "--low", str(tmp_path / "none")]) == 2
    assert main(["evaluate", "--low", str(low), "--gt", str(tmp_path / "none")]) == 2


def test_dehaze_and_derain_on_synthetic_pairs(tmp_path, capsys):
    g = torch.Generator().manual_seed(3)
    clean = tmp_path / "clean"
    for i in range(5):
        write_image(clean / f"c{i}.png", torch.rand(3, 32, 48, generator=g))
    for task in ("dehaze", "derain"):
        out = tmp_path / task
        code = main(["evaluate", "--task", task, "--synthetic", str(clean), "--max-side", "32",
                     "--device", "cpu", "-o", str(out)])  # fmt: skip
        assert code == 0
        text = capsys.readouterr().out
        baseline = "dark channel prior" if task == "dehaze" else "self-guided filter"
        assert "1 held-out" in text and baseline in text and f"{task}-default" in text
        payload = json.loads((out / "metrics.json").read_text())
        assert list(payload["mean"]) == ["input", baseline, f"{task}-default"]
        assert payload["images"][0]["image"] == "c4.png"


def test_restoration_task_needs_synthetic_folder(tmp_path, capsys):
    assert main(["evaluate", "--task", "dehaze"]) == 2
    assert "--synthetic" in capsys.readouterr().err
    assert main(["evaluate"]) == 2
    assert "--low" in capsys.readouterr().err


def test_ground_truth_with_no_matching_names_is_an_error(tmp_path, capsys):
    low, gt = _folders(tmp_path)
    for p in gt.iterdir():
        p.rename(p.with_name(f"gt_{p.name}"))
    assert main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", "input"]) == 2
    err = capsys.readouterr().err
    assert "no ground truth has the name of an input" in err
    assert "inputs: p0, p1" in err and "ground truth: gt_p0, gt_p1" in err


def test_partly_matching_ground_truth_is_noted(tmp_path, capsys):
    low, gt = _folders(tmp_path)
    (gt / "p1.png").unlink()
    out = tmp_path / "eval"
    assert main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", "input",
                 "-o", str(out)]) == 0  # fmt: skip
    assert "1 of 2 inputs have no ground truth" in capsys.readouterr().err
    rows = json.loads((out / "metrics.json").read_text())["images"]
    assert ["psnr" in r for r in rows] == [True, False]


def test_ground_truth_of_another_size_is_an_error(tmp_path, capsys):
    low, gt = _folders(tmp_path)
    write_image(gt / "p1.png", torch.rand(3, 80, 200))  # another size and aspect
    assert main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", "input"]) == 1
    err = capsys.readouterr().err
    assert f"its ground truth {gt / 'p1.png'} is 200x80 px but the input is 130x100" in err


def test_ground_truth_is_resized_like_the_input(tmp_path, capsys):
    low, gt = tmp_path / "low", tmp_path / "gt"
    clean = torch.rand(3, 200, 260, generator=torch.Generator().manual_seed(1))
    write_image(gt / "p.png", clean)
    write_image(low / "p.png", clean)
    out = tmp_path / "eval"
    assert main(["evaluate", "--low", str(low), "--gt", str(gt), "--weights", "input",
                 "--max-side", "130", "-o", str(out)]) == 0  # fmt: skip
    (row,) = json.loads((out / "metrics.json").read_text())["images"]
    assert row["size"] == [100, 130]
    assert row["psnr"] > 60  # the same pixels, resized the same way


def test_bad_device_is_a_usage_error(tmp_path, capsys):
    low, _ = _folders(tmp_path)
    assert main(["evaluate", "--low", str(low), "--device", "bogus"]) == 2
    assert "--device 'bogus' is not a device name" in capsys.readouterr().err
    assert main(["evaluate", "--task", "dehaze", "--synthetic", str(low), "--device", "nope"]) == 2
    assert "--device 'nope' is not a device name" in capsys.readouterr().err
