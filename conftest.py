"""Test options shared by the test suite and the doctests.

``--device cuda`` runs the device-parametrised tests on a GPU; ``--dtype float64`` switches the
default dtype of the ``dtype`` fixture. Tests marked ``cuda`` need ``--device cuda``.
"""

from __future__ import annotations

import os

import pytest
import torch

# Keep the suite inside the machine's two cores and deterministic.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device", default="cpu", help="torch device for device-aware tests (cpu, cuda)"
    )
    parser.addoption(
        "--dtype", default="float32", help="float dtype for dtype-aware tests (float32, float64)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--device").startswith("cuda"):
        return
    skip = pytest.mark.skip(reason="needs --device cuda (GPU-only check)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> torch.device:
    dev = torch.device(request.config.getoption("--device"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.exit("--device cuda was asked for but CUDA is not available", returncode=2)
    return dev


@pytest.fixture(scope="session")
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    name = request.config.getoption("--dtype")
    if name not in ("float32", "float64", "float16", "bfloat16"):
        raise pytest.UsageError(f"--dtype must be a float dtype, got {name}")
    return getattr(torch, name)


@pytest.fixture(scope="session")
def tol(dtype: torch.dtype) -> dict[str, float]:
    """Tolerances for ``torch.testing.assert_close`` at the chosen dtype."""
    return {
        torch.float64: {"atol": 1e-9, "rtol": 1e-7},
        torch.float32: {"atol": 1e-5, "rtol": 1e-4},
        torch.float16: {"atol": 1e-2, "rtol": 1e-2},
        torch.bfloat16: {"atol": 3e-2, "rtol": 3e-2},
    }[dtype]


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict) -> None:
    doctest_namespace["torch"] = torch
