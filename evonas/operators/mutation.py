"""Mutations: ``mutate(genotype, space, *, rng) -> Genotype``, pure and always valid for the space.

DEAP's kernels draw from Python's global ``random``; these draw only from the ``rng`` passed in, so
that a run's streams stay reproducible and independent of other code.
"""

from __future__ import annotations

import numpy as np

from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace


def _other_choice(n_choices: int, current: int, rng: np.random.Generator) -> int:
    """A choice other than ``current``, uniformly; one draw."""
    value = int(rng.integers(n_choices - 1))
    return value + (value >= current)


def resample_mutation(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Resamples each gene with probability 1/n_genes to another choice, changing at least one.

    Draws one uniform per gene, then (if nothing changed) one gene index, then one choice per
    changed gene.
    """
    mutable = [i for i, gene in enumerate(space.genes) if len(gene) > 1]
    if not mutable:
        return genotype
    hits = rng.random(len(mutable)) < 1.0 / len(mutable)
    if not hits.any():
        hits[int(rng.integers(len(mutable)))] = True
    genes = list(genotype.genes)
    for i, hit in zip(mutable, hits):
        if hit:
            genes[i] = _other_choice(len(space.genes[i]), genes[i], rng)
    return Genotype(genotype.space, tuple(genes))


def neighbour_mutation(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Changes exactly one gene: an ordinal gene steps to an adjacent choice, others to any other.

    Draws the gene index, then the direction (ordinal) or the new choice.
    """
    mutable = [i for i, gene in enumerate(space.genes) if len(gene) > 1]
    if not mutable:
        return genotype
    i = mutable[int(rng.integers(len(mutable)))]
    gene, value = space.genes[i], genotype.genes[i]
    if gene.ordinal:
        steps = [v for v in (value - 1, value + 1) if 0 <= v < len(gene)]
        new = steps[int(rng.integers(len(steps)))]
    else:
        new = _other_choice(len(gene), value, rng)
    return genotype.replace(i, new)
