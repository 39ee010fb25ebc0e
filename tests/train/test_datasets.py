from __future__ import annotations

import logging

import pytest
import torch

from pyisp_contrast.core.io import write_image
from pyisp_contrast.train.datasets import (
    ResumableSampler,
    UnpairedImageFolders,
    sample_seed,
    split_paths,
)

from .train_helpers import darken, make_folder


@pytest.fixture
def normal_dir(tmp_path):
    return make_folder(tmp_path / "normal", n=6)


def test_item_shapes_and_keys(normal_dir):
    ds = UnpairedImageFolders(normal_dir, crop=16, split="all", synthesize=darken)
    item = ds[3]
    assert set(item) == {"low", "normal", "low_path", "normal_path", "index", "clean"}
    assert item["low"].shape == item["normal"].shape == (3, 16, 16)
    assert item["low"].dtype == torch.float32
    assert 0 <= float(item["low"].min()) and float(item["low"].max()) <= 1
    # synthesised from the index-th image, darker than its source
    assert item["low_path"].endswith("img_03.png")
    assert float(item["low"].mean()) < float(item["normal"].mean())


def test_deterministic_per_index_and_seed(normal_dir):
    a = UnpairedImageFolders(normal_dir, crop=16, split="all", synthesize=darken, seed=1)
    b = UnpairedImageFolders(normal_dir, crop=16, split="all", synthesize=darken, seed=1)
    c = UnpairedImageFolders(normal_dir, crop=16, split="all", synthesize=darken, seed=2)
    torch.testing.assert_close(a[4]["low"], b[4]["low"], rtol=0, atol=0)
    torch.testing.assert_close(a[4]["normal"], b[4]["normal"], rtol=0, atol=0)
    assert not torch.equal(a[4]["low"], c[4]["low"])
    # an index past the length reads the same image with fresh random draws
    assert a[4 + len(a)]["low_path"] == a[4]["low_path"]
    assert not torch.equal(a[4 + len(a)]["low"], a[4]["low"])


def test_positive_is_drawn_independently(tmp_path):
    normal = make_folder(tmp_path / "n", n=10)
    low = make_folder(tmp_path / "l", n=10, seed=3)
    ds = UnpairedImageFolders(normal, low, crop=8, split="all")
    pairs = {(ds[i]["low_path"][-6:], ds[i]["normal_path"][-6:]) for i in range(40)}
    lows = {p[0] for p in pairs}
    positives_per_low = {lo: {n for l2, n in pairs if l2 == lo} for lo in lows}
    assert len(lows) == 10
    # unpaired: the same low image meets several different positives across epochs
    assert max(len(v) for v in positives_per_low.values()) >= 2
    assert all(ds[i]["low_path"].startswith(str(low)) for i in range(3))
    assert "clean" not in ds[0]  # real low-light images have no ground truth


def test_split_every_fifth_held_out(tmp_path):
    normal = make_folder(tmp_path / "n", n=12)
    train = UnpairedImageFolders(normal, crop=8, split="train", synthesize=darken)
    val = UnpairedImageFolders(normal, crop=8, split="val", synthesize=darken)
    assert [p.name for p in val.normal_paths] == ["img_04.png", "img_09.png"]
    assert len(train) == 10 and not set(train.normal_paths) & set(val.normal_paths)
    assert split_paths(train.normal_paths + val.normal_paths, "all") == sorted(
        train.normal_paths + val.normal_paths
    )


def test_validation_is_central_and_unflipped(normal_dir):
    val = UnpairedImageFolders(normal_dir, crop=8, split="all", augment=False, synthesize=darken)
    from pyisp_contrast.core.io import read_image

    item = val[0]
    src = read_image(item["normal_path"])
    torch.testing.assert_close(item["normal"], src[:, 6:14, 8:16])
    # the clean source of the synthetic input is kept as its ground truth
    torch.testing.assert_close(item["clean"], read_image(item["low_path"])[:, 6:14, 8:16])


def test_small_images_are_upscaled(tmp_path):
    normal = make_folder(tmp_path / "n", n=3, size=(10, 30))
    ds = UnpairedImageFolders(normal, crop=16, split="all", synthesize=darken)
    assert ds[0]["normal"].shape == (3, 16, 16)


def test_corrupt_file_is_logged_skipped_and_not_fatal(tmp_path, caplog):
    normal = make_folder(tmp_path / "n", n=4)
    bad = normal / "img_01.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    ds = UnpairedImageFolders(normal, crop=8, split="all", synthesize=darken)
    with caplog.at_level(logging.WARNING, logger="pyisp_contrast.train.datasets"):
        items = [ds[i] for i in range(12)]
    assert ds.skipped == [bad]  # reported once, then avoided
    assert str(bad) in caplog.text
    assert all(it["low_path"] != str(bad) and it["normal_path"] != str(bad) for it in items)
    assert items[1]["low_path"].endswith("img_02.png")  # replaced by the next readable image


def test_all_corrupt_raises(tmp_path):
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "a.png").write_bytes(b"junk")
    # found when the dataset is made, naming the folder (issue 12: a clear error, not a crash)
    with pytest.raises(ValueError, match=r"none of the 1 image files in .*n could be read"):
        UnpairedImageFolders(tmp_path / "n", crop=8, split="all", synthesize=darken)


def test_images_that_break_after_the_dataset_is_made_raise_at_read(tmp_path):
    from pyisp_contrast.core.io import write_image

    write_image(tmp_path / "n" / "a.png", torch.rand(3, 12, 12))
    ds = UnpairedImageFolders(tmp_path / "n", crop=8, split="all", synthesize=darken)
    (tmp_path / "n" / "a.png").write_bytes(b"junk")
    with pytest.raises(RuntimeError, match="could be read"):
        ds[0]


def test_errors(tmp_path, normal_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        UnpairedImageFolders(tmp_path / "empty")
    with pytest.raises(ValueError, match="no such"):
        UnpairedImageFolders(tmp_path / "missing")
    with pytest.raises(ValueError, match="`normal` is empty"):
        UnpairedImageFolders([])
    with pytest.raises(ValueError, match="split"):
        UnpairedImageFolders(make_folder(tmp_path / "three", n=3), split="val")
    with pytest.raises(ValueError, match="crop"):
        UnpairedImageFolders(normal_dir, crop=0)
    with pytest.raises(TypeError, match="synthesize"):
        UnpairedImageFolders(normal_dir, synthesize="dark")
    with pytest.raises(ValueError, match="`split`"):
        UnpairedImageFolders(normal_dir, split="test")
    ds = UnpairedImageFolders(normal_dir, crop=8, synthesize=darken)
    with pytest.raises(IndexError, match="non-negative"):
        ds[-1]


def test_recursive_folders_and_grey_images(tmp_path):
    root = tmp_path / "normal"
    make_folder(root / "a", n=2)
    write_image(root / "b" / "grey.png", torch.rand(1, 20, 20))
    ds = UnpairedImageFolders(root, crop=8, split="all", synthesize=darken)
    assert len(ds) == 3
    assert ds[2]["low"].shape == (3, 8, 8)


def test_sample_seed_distinct():
    seeds = {sample_seed(0, i) for i in range(1000)} | {sample_seed(1, i) for i in range(1000)}
    assert len(seeds) == 2000
    assert all(0 <= s < 2**63 for s in seeds)


def _take(sampler, k):
    it = iter(sampler)
    return [next(it) for _ in range(k)]


def test_sampler_epochs_are_permutations():
    s = _take(ResumableSampler(5, batch_size=1, seed=3), 15)
    for e in range(3):
        assert sorted(i - 5 * e for i in s[5 * e : 5 * e + 5]) == list(range(5))
    assert s[:5] != [i - 5 for i in s[5:10]]  # a new order each epoch (for this seed)


def test_sampler_start_and_shards_match_single_stream():
    full = _take(ResumableSampler(7, batch_size=2, seed=0), 40)
    resumed = _take(ResumableSampler(7, batch_size=2, seed=0, start=10), 30)
    assert resumed == full[10:]
    r0 = _take(ResumableSampler(7, batch_size=2, seed=0, rank=0, world_size=2), 20)
    r1 = _take(ResumableSampler(7, batch_size=2, seed=0, rank=1, world_size=2), 20)
    merged = []
    for k in range(10):
        merged += r0[2 * k : 2 * k + 2] + r1[2 * k : 2 * k + 2]
    assert merged == full
    assert not set(r0[:2]) & set(r1[:2])


def test_sampler_errors():
    with pytest.raises(ValueError, match="num_samples"):
        ResumableSampler(0, batch_size=1)
    with pytest.raises(ValueError, match="rank"):
        ResumableSampler(3, batch_size=1, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        ResumableSampler(3, batch_size=0)
