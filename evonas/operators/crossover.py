"""Crossovers: ``crossover(a, b, space, *, rng) -> (child, child)``, pure; children are valid genotypes
because every gene comes from a valid parent."""

from __future__ import annotations

import numpy as np

from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace


def uniform_crossover(
    a: Genotype, b: Genotype, space: SearchSpace, *, rng: np.random.Generator
) -> tuple[Genotype, Genotype]:
    """Swaps each gene between the parents with probability 1/2; one uniform per gene."""
    swap = rng.random(len(a.genes)) < 0.5
    first = tuple(y if s else x for x, y, s in zip(a.genes, b.genes, swap))
    second = tuple(x if s else y for x, y, s in zip(a.genes, b.genes, swap))
    return Genotype(a.space, first), Genotype(a.space, second)


def two_point_crossover(
    a: Genotype, b: Genotype, space: SearchSpace, *, rng: np.random.Generator
) -> tuple[Genotype, Genotype]:
    """Swaps the genes between two cut points; draws the two distinct cuts in 1..n_genes."""
    n = len(a.genes)
    if n < 2:
        return a, b
    low, high = sorted(int(c) for c in rng.choice(np.arange(1, n + 1), size=2, replace=False))
    first = a.genes[:low] + b.genes[low:high] + a.genes[high:]
    second = b.genes[:low] + a.genes[low:high] + b.genes[high:]
    return Genotype(a.space, first), Genotype(a.space, second)
