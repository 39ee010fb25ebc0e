"""Training: unpaired image-folder datasets and a checkpointing, resumable, DDP-ready trainer.

- :class:`UnpairedImageFolders`: unpaired (low, normal) crops; synthesises low-light inputs when no
  low-light folder is given.
- :class:`TrainConfig`: the run's options (dataclass; ``TrainConfig.from_toml``), including the
  optimiser (:data:`OPTIMIZERS`) and which options a resumed run may change.
- :class:`Trainer`: the loop (tqdm, checkpoints, exact resume, validation grids, DDP under torchrun).
- :func:`build_model` / :func:`register_model`: model names usable in config files.
"""

from pyisp_contrast.train.config import OPTIMIZERS, TrainConfig
from pyisp_contrast.train.datasets import (
    ResumableSampler,
    UnpairedImageFolders,
    sample_seed,
    split_paths,
)
from pyisp_contrast.train.distributed import (
    DistributedContext,
    StepModule,
    init_distributed,
    resolve_device,
)
from pyisp_contrast.train.factory import MODEL_FACTORIES, build_model, register_model
from pyisp_contrast.train.trainer import CHECKPOINT_FORMAT, Trainer, image_grid, load_checkpoint

__all__ = [
    "CHECKPOINT_FORMAT",
    "MODEL_FACTORIES",
    "OPTIMIZERS",
    "DistributedContext",
    "ResumableSampler",
    "StepModule",
    "TrainConfig",
    "Trainer",
    "UnpairedImageFolders",
    "build_model",
    "image_grid",
    "init_distributed",
    "load_checkpoint",
    "register_model",
    "resolve_device",
    "sample_seed",
    "split_paths",
]
