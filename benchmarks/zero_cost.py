"""Rank correlation between a zero-cost proxy and a benchmark table's column, and the proxy's cost.

Samples N architectures of the table (without replacement, from the seed), scores the untrained
network the space builds for each (at its published widths, for images of the given shape and
``--classes`` outputs), and prints Spearman's rho and Kendall's tau between the scores and the
column, then seconds per architecture (building the network included).

Data-dependent proxies score a batch of ``--data``: "random" (default: standard-normal images of the
given shape with random labels, because the published networks are built for CIFAR's 3x32x32 images
and nothing may be downloaded) or a dataset `evonas.data.load_dataset` reads ("digits", an ``.npz``
file, a folder), whose images then set the shape. Data-free proxies (synflow, params, flops) read
only the shape.

    python benchmarks/zero_cost.py --table ../shared/data/nb201/nb201.csv --column cifar10_test_acc \\
        --proxy synflow --sample 1000 --seed 0 --classes 10
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from evonas.data import load_dataset
from evonas.proxies import PROXIES
from evonas.proxies.scorer import ProxyScorer
from evonas.spaces import get_space


def read_column(table: Path, column: str) -> tuple[list[str], np.ndarray]:
    """The ``arch`` column and one numeric column of a table."""
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            print(f"zero_cost.py: {table} has no column {column!r} (columns: {', '.join(reader.fieldnames or [])})", file=sys.stderr)
            sys.exit(2)
        rows = [(row["arch"], float(row[column])) for row in reader]
    return [arch for arch, _ in rows], np.array([value for _, value in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--column", required=True, help="The table's ground truth, e.g. cifar10_test_acc.")
    parser.add_argument("--proxy", required=True, help=f"One of: {', '.join(PROXIES)}.")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--sample", type=int, default=1000, help="Architectures sampled from the table.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the sample, the initial weights and the batches.")
    parser.add_argument("--classes", type=int, default=10, help="Outputs of the networks (the table's task).")
    parser.add_argument("--in-channels", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--widths", default="", help="Network options of the space, e.g. channels=8,cells_per_stage=1 (default: published).")
    parser.add_argument("--data", default="random", help='"random" or a dataset (digits, .npz, folder).')
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (one is fastest for single networks).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = get_space(args.space)
    widths = {key: int(value) for key, value in (item.split("=") for item in args.widths.split(",") if item)}
    archs, truth = read_column(args.table, args.column)
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(archs), size=min(args.sample, len(archs)), replace=False)
    if args.data == "random":
        shape = {"num_classes": args.classes, "in_channels": args.in_channels, "image_size": args.image_size}
        scorer = ProxyScorer(space, **shape, batch_size=args.batch_size, **widths)
    else:
        data = load_dataset(args.data, seed=args.seed)
        scorer = ProxyScorer(space, num_classes=args.classes, in_channels=data.in_channels, image_size=data.image_size,
                             images=data.x_train, labels=data.y_train, batch_size=args.batch_size, **widths)
    scores = np.empty(len(picked))
    started = time.perf_counter()
    for k, i in enumerate(picked):
        genotype = space.decode(archs[i])
        seed = np.random.SeedSequence(args.seed, spawn_key=(space.index(genotype),))
        scores[k] = scorer.scores(genotype, seed, [args.proxy])[args.proxy]
    seconds = (time.perf_counter() - started) / len(picked)
    spearman = stats.spearmanr(scores, truth[picked]).statistic  # -inf (no signal) ranks below every score
    kendall = stats.kendalltau(scores, truth[picked]).statistic
    print(f"{args.proxy} vs {args.column} on {len(picked)} architectures of {args.table.name} (seed {args.seed}, data {args.data}, "
          f"widths {widths or 'published'}, image size {scorer.build_options['image_size']}): "
          f"{int(np.isneginf(scores).sum())} scored -inf")
    print(f"spearman={spearman:.4f} kendall={kendall:.4f} seconds_per_arch={seconds:.4f}")


if __name__ == "__main__":
    main()
