import pyisp_contrast.train as train

EXPECTED = {
    "CHECKPOINT_FORMAT", "MODEL_FACTORIES", "OPTIMIZERS", "DistributedContext", "ResumableSampler", "StepModule",
    "TrainConfig", "Trainer", "UnpairedImageFolders", "build_model", "image_grid", "init_distributed",
    "load_checkpoint", "register_model", "resolve_device", "sample_seed", "split_paths",
}  # fmt: skip


def test_public_api_is_complete():
    assert EXPECTED <= set(train.__all__)
    for name in EXPECTED:
        assert getattr(train, name) is not None
    assert "pie" in train.MODEL_FACTORIES
