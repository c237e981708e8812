"""Cost of a 1000-evaluation table run: wall time, and the share spent outside the evaluator.

Runs the issue's two commands (NB201 accuracy x FPGA latency, NAS-Bench-Macro accuracy x params) as
whole processes (what a user waits for, imports included) and in-process (the search alone, split into
evaluator time and everything else: selection, variation, sorting, logging, checkpoints).

    python benchmarks/table_run.py --repeats 5

With ``--baseline DIR`` (another checkout of evonas, e.g. ``git worktree add /tmp/evonas-main main``)
it compares instead the search's cost per evaluation, this tree against that one, side by side: each
repeat runs the same in-process search once on each tree, in a fresh process, alternating which goes
first. Two measures: wall time outside the evaluator, and the process's CPU time over the whole
search (table lookups included: they are microseconds), which other work on a shared machine
disturbs much less.

    python benchmarks/table_run.py --repeats 9 --baseline /tmp/evonas-main
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TREE = Path(__file__).resolve().parents[1]
CASES = {
    "nb201 acc x fpga latency": ("nb201", DATA / "nb201" / "nb201.csv", "acc=cifar10_test_acc,latency=latency_fpga_ms"),
    "macro acc x params": ("macro", DATA / "nas-bench-macro" / "nas-bench-macro.csv", "acc=cifar10_test_acc,params"),
}
EVALUATIONS, POPULATION = 1000, 50


def cli_seconds(space: str, table: Path, objectives: str, run_dir: Path) -> float:
    command = [sys.executable, "-m", "evonas", "evolve", "--space", space, "--evaluator", "table", "--table", str(table),
               "--objectives", objectives, "--evaluations", str(EVALUATIONS), "--population", str(POPULATION), "--seed", "0",
               "--run-dir", str(run_dir), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def in_process(space: str, table: Path, objectives: str, run_dir: Path) -> tuple[float, float, float, float]:
    """Seconds to load the table (evaluator set-up), to search, inside ``evaluate`` while searching, and of CPU while searching."""
    from evonas.search import RunConfig, Search

    # the search settings' class by RunConfig's field, so that a baseline tree that names it otherwise runs this too
    options = {f.name: f for f in dataclasses.fields(RunConfig)}["search"].default_factory
    config = RunConfig(space=space, evaluator="table", evaluator_options={"table": str(table)},
                       objectives=tuple(objectives.split(",")), search=options(population=POPULATION), evaluations=EVALUATIONS, seed=0)
    started = time.perf_counter()
    search = Search.start(config, run_dir)
    loaded, cpu = time.perf_counter(), time.process_time()
    search.run()
    return loaded - started, time.perf_counter() - loaded, search.evaluator_seconds, time.process_time() - cpu


def search_ms(tree: Path, space: str, table: Path, objectives: str, run_dir: Path) -> tuple[float, float]:
    """Milliseconds per evaluation of the in-process search on ``tree``'s evonas: wall time outside the evaluator, CPU time."""
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps([space, str(table), objectives, str(run_dir)])]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    _, search, evaluator, cpu = json.loads(output.stdout)
    return 1000 * (search - evaluator) / EVALUATIONS, 1000 * cpu / EVALUATIONS


def compare(baseline: Path, repeats: int, scratch: Path) -> None:
    print(f"| run ({EVALUATIONS} evaluations, population {POPULATION}) | measure, ms per evaluation | baseline | this tree | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for label, (space, table, objectives) in CASES.items():
        if not table.is_file():
            print(f"| {label} | skipped: {table} not found | | | |")
            continue
        costs: dict[Path, list[tuple[float, float]]] = {baseline: [], TREE: []}
        for i in range(repeats):
            for k, tree in enumerate((baseline, TREE) if i % 2 == 0 else (TREE, baseline)):
                costs[tree].append(search_ms(tree, space, table, objectives, scratch / f"{label}-{i}-{k}"))
        for column, measure in enumerate(("wall outside evaluator", "CPU")):
            before = statistics.median(cost[column] for cost in costs[baseline])
            after = statistics.median(cost[column] for cost in costs[TREE])
            print(f"| {label} | {measure} | {before:.3f} | {after:.3f} | {after / before:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another evonas checkout to compare the search's cost with")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one in-process run: [space, table, objectives, run_dir]
    args = parser.parse_args()
    if args.measure:
        space, table, objectives, run_dir = json.loads(args.measure)
        print(json.dumps(in_process(space, Path(table), objectives, Path(run_dir))))
        return
    with tempfile.TemporaryDirectory() as scratch:
        if args.baseline:
            compare(args.baseline.resolve(), args.repeats, Path(scratch))
            return
        print("| run (1000 evaluations, population 50) | process wall s | table load s | search s | in evaluator s | "
              "search outside evaluator | ms/evaluation outside evaluator |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for label, (space, table, objectives) in CASES.items():
            if not table.is_file():
                print(f"| {label} | skipped: {table} not found | | | | | |")
                continue
            walls, loads, searches, inside = [], [], [], []
            for i in range(args.repeats):
                walls.append(cli_seconds(space, table, objectives, Path(scratch) / f"{label}-cli-{i}"))
                load, search, evaluator, _ = in_process(space, table, objectives, Path(scratch) / f"{label}-lib-{i}")
                loads.append(load)
                searches.append(search)
                inside.append(evaluator)
            search, evaluator = statistics.median(searches), statistics.median(inside)
            print(f"| {label} | {statistics.median(walls):.2f} | {statistics.median(loads):.3f} | {search:.3f} | "
                  f"{evaluator:.4f} | {(search - evaluator) / search:.1%} | {1000 * (search - evaluator) / EVALUATIONS:.3f} |")


if __name__ == "__main__":
    main()
