"""Small synthetic benchmark tables for tests (any table with an `arch` column must work), and finished runs on them."""

from __future__ import annotations

import csv
from pathlib import Path

from evonas.history import RunHistory
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space


def write_macro_table(path: Path) -> Path:
    """A full table of the macro space with made-up accuracy, params and energy columns."""
    space = get_space("macro")
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "top1", "params", "energy_mj"])
        for i in range(space.size):
            genes = space.from_index(i).genes
            capacity = sum(g * (1 + k % 3) for k, g in enumerate(genes))
            top1 = round(50 + 40 * (1 - 0.9**capacity) + ((i * 7919) % 13) / 10, 4)
            writer.writerow([space.encode(space.from_index(i)), top1, 1000 + 250 * capacity + i % 5, round(0.5 + 0.1 * capacity, 3)])
    return path


def finished_run(table: Path, run_dir: Path, objectives=("acc=top1", "params"), constraints=(), generations=5) -> RunHistory:
    """A finished table run of population 10 on ``table`` (see `write_macro_table`), read back."""
    config = RunConfig(
        space="macro", evaluator="table", evaluator_options={"table": str(table)}, objectives=objectives,
        constraints=constraints, search=SearchOptions(population=10), generations=generations, seed=2,
    )
    Search.start(config, run_dir).run()
    return RunHistory.load(run_dir)
