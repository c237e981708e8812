"""Network surgery against training from scratch, at equal training compute, on the surgery space.

For each seed, one search with the surgery evaluator (children inherit their parent's trained
weights, then train ``--steps``; ``--recovery-steps`` more after a lossy edit) and one with the train
evaluator (every candidate trained from scratch for ``--scratch-epochs``), both on the surgery space
with the same population manager (NSGA-II, the space's default operators: surgery edits and whole-
stage crossover) over accuracy (validation, %) and parameters. Compute is optimiser steps x batch
size: the scratch search evaluates as many candidates as the surgery search's steps pay for
(``RunConfig.evaluations``), so both spend the same number of steps at the same batch size.

Reported per seed and as medians: the hypervolume of each search's front (accuracy maximised,
parameters minimised, both normalised by the ideal and nadir points of every front of every run,
reference point 1.1: a common reference), and the best accuracy within each parameter bucket.

    nice -n 5 python benchmarks/surgery_vs_scratch.py --seeds 0,1,2 --jobs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from evonas.data import load_dataset
from evonas.history import hypervolume
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space

BUCKETS = (0, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, float("inf"))
OBJECTIVES = ("acc", "params")


def search_options(population: int) -> SearchOptions:
    operators = get_space("surgery").default_operators
    return SearchOptions(population=population, mutation=operators["mutation"], crossover=operators["crossover"])


def run_surgery(seed: int, population: int, generations: int, steps: int, recovery: int, batch: int, root: Path) -> dict:
    config = RunConfig(
        space="surgery", evaluator="surgery", objectives=OBJECTIVES, search=search_options(population), generations=generations,
        seed=seed, evaluator_options={"steps": steps, "recovery_steps": recovery, "batch_size": batch},
    )
    started = time.perf_counter()
    search = Search.start(config, root / f"surgery-{seed}")
    front = search.run()
    return {
        "method": "surgery", "seed": seed, "front": [(ind.metrics["acc"], ind.metrics["params"]) for ind in front],
        "evaluations": search.evaluated, "steps": search.evaluator.steps_trained, "seconds": time.perf_counter() - started,
    }


def run_scratch(seed: int, population: int, evaluations: int, epochs: int, batch: int, steps_per_epoch: int, root: Path) -> dict:
    config = RunConfig(
        space="surgery", evaluator="train", objectives=OBJECTIVES, search=search_options(population), evaluations=evaluations,
        seed=seed, evaluator_options={"epochs": epochs, "batch_size": batch},
    )
    started = time.perf_counter()
    search = Search.start(config, root / f"scratch-{seed}")
    front = search.run()
    steps = search.evaluated * epochs * steps_per_epoch
    return {
        "method": "scratch", "seed": seed, "front": [(ind.metrics["acc"], ind.metrics["params"]) for ind in front],
        "evaluations": search.evaluated, "steps": steps, "seconds": time.perf_counter() - started,
    }


def bucket_of(params: float) -> int:
    return next(i for i in range(len(BUCKETS) - 1) if BUCKETS[i] <= params < BUCKETS[i + 1])


def bucket_label(i: int) -> str:
    low, high = BUCKETS[i], BUCKETS[i + 1]
    return f"{low / 1000:g}k-{high / 1000:g}k" if high != float("inf") else f">={low / 1000:g}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--steps", type=int, default=100, help="steps of each surgery candidate")
    parser.add_argument("--recovery-steps", type=int, default=30)
    parser.add_argument("--scratch-epochs", type=int, default=3, help="epochs of each scratch candidate")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=1, help="searches run at once")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        surgery = Parallel(n_jobs=args.jobs)(
            delayed(run_surgery)(s, args.population, args.generations, args.steps, args.recovery_steps, args.batch_size, root) for s in seeds
        )
        steps_per_epoch = -(-len(load_dataset("cluttered-digits", seed=0).x_train) // args.batch_size)
        per_candidate = args.scratch_epochs * steps_per_epoch
        scratch = Parallel(n_jobs=args.jobs)(
            delayed(run_scratch)(r["seed"], args.population, max(r["steps"] // per_candidate, args.population), args.scratch_epochs,
                                 args.batch_size, steps_per_epoch, root)
            for r in surgery
        )
    runs = surgery + scratch
    points = np.array([(-acc, params) for r in runs for acc, params in r["front"]])
    ideal, nadir = points.min(axis=0), points.max(axis=0)
    for r in runs:
        r["hv"] = hypervolume(np.array([(-a, p) for a, p in r["front"]]), ideal, nadir)
        best: dict[int, float] = {}
        for acc, params in r["front"]:
            best[bucket_of(params)] = max(best.get(bucket_of(params), 0.0), acc)
        r["best"] = best
    print(f"command: {' '.join(sys.argv)}\n")
    print("| method | seed | evaluations | optimiser steps | front size | hypervolume | best acc % | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(f"| {r['method']} | {r['seed']} | {r['evaluations']} | {r['steps']} | {len(r['front'])} | {r['hv']:.4f} | "
              f"{max(a for a, _ in r['front']):.1f} | {r['seconds']:.0f} |")
    print("\n| method | median hypervolume | median best acc % | " + " | ".join(bucket_label(i) for i in range(len(BUCKETS) - 1)) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in range(len(BUCKETS) - 1)) + " |")
    for method, group in (("surgery", surgery), ("scratch", scratch)):
        cells = []
        for i in range(len(BUCKETS) - 1):
            values = [r["best"][i] for r in group if i in r["best"]]
            cells.append(f"{statistics.median(values):.1f} ({len(values)}/{len(group)})" if values else "-")
        print(f"| {method} | {statistics.median(r['hv'] for r in group):.4f} | "
              f"{statistics.median(max(a for a, _ in r['front']) for r in group):.1f} | " + " | ".join(cells) + " |")
    print("\nbucket cells: median over the seeds whose front has a network of that size (how many of them).")


if __name__ == "__main__":
    main()
