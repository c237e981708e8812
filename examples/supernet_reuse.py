"""Train a weight-sharing supernet once, then search it again for other objectives under a latency limit.

The first search trains a supernet of the ``macro`` space on the embedded cluttered digits and measures
accuracy and latency (a per-layer lookup table timed on this machine). The second reuses that run's
trained supernet (``evaluator_options={"supernet": first_run}``: no training; the supernet, its data split
and the latency table are copied into the new run) to search accuracy against parameters among the
architectures at most as slow as the first search's median one.

    python examples/supernet_reuse.py --small    # about 30 s on one core
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

import evonas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny supernet and search (CI)")
    parser.add_argument("--out", type=Path, default=Path("checkpoints/supernet-reuse"))
    args = parser.parse_args()
    population, generations = (4, 1) if args.small else (24, 12)

    trained = evonas.evolve(
        space="macro", evaluator="supernet", evaluator_options={"epochs": 1 if args.small else 60},
        objectives=["acc", "latency"], population=population, generations=generations, run_dir=args.out / "trained",
    )
    with open(trained.run_dir / "evaluations.csv", newline="") as handle:
        latencies = [float(row["latency"]) for row in csv.DictReader(handle) if row["status"] == "ok"]
    limit = round(statistics.median(latencies), 4)
    print(f"first search: {trained.evaluated} evaluated, supernet in {trained.run_dir / 'evaluator'}; median latency {limit} ms")

    reused = evonas.evolve(
        space="macro", evaluator="supernet", evaluator_options={"supernet": str(trained.run_dir)},
        objectives=["acc", "params"], constraints=[f"latency<={limit}"],
        population=population, generations=generations, seed=1, run_dir=args.out / "reused",
    )
    print(f"second search (latency <= {limit} ms, no training): {reused.evaluated} evaluated; front:")
    for individual in reused.front:
        metrics = individual.metrics
        print(f"  {individual.arch}  acc {metrics['acc']:6.2f}%  params {metrics['params']:.0f}  latency {metrics['latency']:.4f} ms")


if __name__ == "__main__":
    main()
