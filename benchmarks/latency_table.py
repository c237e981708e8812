"""How well the per-layer latency lookup table predicts measured latency: Spearman over sampled networks.

Measures the table of a space's networks (at the supernet evaluator's widths and the cluttered-digits
input shape by default), then for each of ``--archs`` architectures sampled with a fixed seed times
the whole built network (batch 1, one thread, median of repeats) and compares.

    python benchmarks/latency_table.py --space macro --archs 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import kendalltau, spearmanr

from evonas.data import CLUTTER
from evonas.evaluators.supernet import DEFAULT_WIDTHS
from evonas.measure.latency import LatencyTable, layers_of, measure_latency
from evonas.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="macro")
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=CLUTTER["canvas"])
    parser.add_argument("--channels", type=int, default=1)
    args = parser.parse_args()

    space = get_space(args.space)
    options = {"num_classes": 10, "in_channels": args.channels, "image_size": args.image_size, **DEFAULT_WIDTHS.get(args.space, {})}
    shape = (1, args.channels, args.image_size, args.image_size)
    started = time.perf_counter()
    layers = layers_of(space.build_supernet(**options), shape)
    table = LatencyTable.measure(layers)
    table_seconds = time.perf_counter() - started
    rng = np.random.default_rng(args.seed)
    predicted, measured = [], []
    for _ in range(args.archs):
        genotype = space.sample(rng)
        predicted.append(table.predict(layers, genotype))
        measured.append(measure_latency(space.build(genotype, **options), shape))
    predicted, measured = np.array(predicted), np.array(measured)
    print(f"| {args.space} | {args.archs} | {len(table.entries)} entries in {table_seconds:.1f} s | "
          f"{spearmanr(predicted, measured)[0]:.3f} | {kendalltau(predicted, measured)[0]:.3f} | "
          f"{measured.min():.2f} - {measured.max():.2f} | {np.median(measured / predicted):.2f} |")


if __name__ == "__main__":
    main()
