"""Plug-ins that live in the working directory rather than in an installed package, named on the command line as
``--space tests.local_plugin:ParitySpace``, ``--evaluator tests.local_plugin:OnesEvaluator`` and
``--mutation tests.local_plugin:flip_one`` (tests/test_plugins.py)."""

from __future__ import annotations

import numpy as np

from evonas.errors import ArchitectureError
from evonas.evaluators import Candidate, Evaluation, Evaluator
from evonas.genotype import Genotype
from evonas.spaces import Gene, SearchSpace

BITS = 6


class ParitySpace(SearchSpace):
    """Six on/off genes, written as six binary digits ("010011")."""

    name = "parity"
    description = f"{BITS} on/off genes"

    def __init__(self) -> None:
        self.genes = tuple(Gene(f"bit {i}", ("0", "1")) for i in range(BITS))

    def encode(self, genotype: Genotype) -> str:
        return "".join(str(g) for g in self.validate(genotype).genes)

    def decode(self, text: str) -> Genotype:
        if len(text) != BITS or set(text) - {"0", "1"}:
            raise ArchitectureError(f"a parity architecture is {BITS} binary digits, got {text!r}")
        return Genotype(self.name, tuple(int(c) for c in text))


class OnesEvaluator(Evaluator):
    """``acc``: the bits that are on, weighted by position; ``params``: the genotype's index in the space."""

    name = "ones"
    description = "weighted count of the bits that are on"
    in_process = True

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        genes = candidate.genotype.genes
        measured = {"acc": float(sum((i + 1) * g for i, g in enumerate(genes))), "params": float(self.space.index(candidate.genotype))}
        return Evaluation({name: measured[source] for name, source in self.sources.items()})


def flip_one(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Turns one gene, drawn uniformly, to another choice."""
    i = int(rng.integers(len(space.genes)))
    return genotype.replace(i, (genotype.genes[i] + 1 + int(rng.integers(len(space.genes[i]) - 1))) % len(space.genes[i]))
