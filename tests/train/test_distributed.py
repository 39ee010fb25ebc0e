"""Two-process DistributedDataParallel run on CPU with gloo, with the environment torchrun sets."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from pyisp_contrast.train import TrainConfig, Trainer, UnpairedImageFolders
from pyisp_contrast.train.distributed import DistributedContext, StepModule, init_distributed

from .train_helpers import TinyEnhancer, darken, make_folder

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, normal: str, out: str) -> None:
    # What torchrun sets for each process.
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world),
                       "RANK": str(rank), "LOCAL_RANK": str(rank)})  # fmt: skip
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    torch.manual_seed(100 + ctx.rank)  # different inits: DDP must broadcast rank 0's weights
    model = TinyEnhancer()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    data = UnpairedImageFolders(normal, crop=8, synthesize=darken)
    cfg = TrainConfig(iterations=4, checkpoint_every=2, batch_size=2, lr=1e-2, seed=3,
                      device="cpu", out_dir=out, log_every=2)  # fmt: skip
    Trainer(model, data, cfg, context=ctx, progress=False).fit()
    final = model.state_dict()
    torch.save({"final": final, "init": init, "world": ctx.world_size}, f"{out}/rank{ctx.rank}.pt")
    ctx.shutdown()


def test_two_process_gloo_ranks_end_identical(tmp_path):
    normal = make_folder(tmp_path / "normal", n=8, size=(12, 12))
    out = tmp_path / "run"
    out.mkdir()
    # fork: the children reuse this process's imported modules (spawn would re-import torch, ~3 s
    # each); building an optimiser here imports torch._dynamo (seconds) once, before the fork.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    mp.start_processes(
        _rank_main, args=(2, _free_port(), str(normal), str(out)), nprocs=2, start_method="fork"
    )
    r0 = torch.load(out / "rank0.pt", weights_only=True)
    r1 = torch.load(out / "rank1.pt", weights_only=True)
    assert r0["world"] == r1["world"] == 2
    assert any(not torch.equal(r0["init"][k], r1["init"][k]) for k in r0["init"])
    torch.testing.assert_close(r0["final"], r1["final"], rtol=0, atol=0)
    assert any(not torch.equal(r0["init"][k], r0["final"][k]) for k in r0["init"])
    # only rank 0 wrote the run folder, and its checkpoint holds the shared weights
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    torch.testing.assert_close(ckpt["model"], r0["final"], rtol=0, atol=0)
    assert ckpt["sampler"]["position"] == 4 * 2 * 2
    assert len((out / "log.jsonl").read_text().splitlines()) == 2


def test_single_process_context(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = init_distributed("cpu")
    assert ctx == DistributedContext(device=torch.device("cpu"))
    assert ctx.is_main and not ctx.distributed


def test_step_module_routes_to_training_step():
    model = TinyEnhancer()
    batch = {"low": torch.rand(1, 3, 4, 4), "normal": torch.rand(1, 3, 4, 4)}
    torch.manual_seed(0)
    a = StepModule(model)(batch)
    torch.manual_seed(0)
    b = model.training_step(batch)
    torch.testing.assert_close(a, b)
