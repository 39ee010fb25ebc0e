"""Data-parallel plumbing on PyTorch's own engine (``torch.distributed`` + DDP, launched by torchrun).

``torchrun --nproc_per_node=N -m pyisp_contrast train --config FILE`` sets ``WORLD_SIZE``, ``RANK``
and ``LOCAL_RANK`` (and the rendezvous address); :func:`init_distributed` reads them, joins the process
group (NCCL on CUDA, gloo on CPU) and picks the device. Multi-node runs work the same way
(``torchrun --nnodes ... --rdzv-endpoint ...``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from pyisp_contrast.core.devices import resolve_device

__all__ = ["DistributedContext", "StepModule", "init_distributed", "resolve_device"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")  # noqa: RUF009 (immutable value)
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, logs and figures."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.barrier()

    def shutdown(self) -> None:
        """Leave the process group if this context joined it."""
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str | torch.device = "auto") -> DistributedContext:
    """Join the process group when launched with ``WORLD_SIZE > 1``; otherwise a single-process context.

    Args:
        device: requested device (see :func:`resolve_device`); with CUDA each process takes
            ``cuda:LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world_size <= 1:
        return DistributedContext(device=dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    initialized_here = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        initialized_here = True
    return DistributedContext(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=local_rank,
        device=dev,
        initialized_here=initialized_here,
    )


class StepModule(nn.Module):
    """Routes ``forward(batch)`` to ``model.training_step(batch)``.

    DistributedDataParallel synchronises gradients only for computations that go through the wrapped
    module's ``forward``; wrapping this module (not the model) lets any model keep its
    ``training_step`` API and still train data-parallel.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict) -> dict:
        return self.model.training_step(batch)
