"""Shared fixtures: the published tables in ../shared/data (tests that need them skip without them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tables import write_macro_table

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NB201_TABLE = SHARED_DATA / "nb201" / "nb201.csv"
MACRO_TABLE = SHARED_DATA / "nas-bench-macro" / "nas-bench-macro.csv"


@pytest.fixture
def nb201_table() -> Path:
    if not NB201_TABLE.is_file():
        pytest.skip(f"published table not found at {NB201_TABLE} (see ../shared/data/README.md)")
    return NB201_TABLE


@pytest.fixture
def macro_table() -> Path:
    if not MACRO_TABLE.is_file():
        pytest.skip(f"published table not found at {MACRO_TABLE} (see ../shared/data/README.md)")
    return MACRO_TABLE


@pytest.fixture(scope="session")
def synthetic_table(tmp_path_factory) -> Path:
    """A full made-up table of the macro space (columns top1, params, energy_mj)."""
    return write_macro_table(tmp_path_factory.mktemp("tables") / "macro.csv")


@pytest.fixture
def one_torch_thread():
    """Torch on one thread: small networks run many times faster so, above all on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ray_instance():
    """One local Ray instance for the whole session (its start-up takes seconds), with two CPUs."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}})
    yield ray
    ray.shutdown()
