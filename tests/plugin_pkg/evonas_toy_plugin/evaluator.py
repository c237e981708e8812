"""The toy evaluator: made-up accuracy, size and latency of a genotype, computed in microseconds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from evonas.errors import ConfigError
from evonas.evaluators import Candidate, Evaluation, Evaluator
from evonas.spaces import SearchSpace

METRICS = ("acc", "params", "latency")


class ToyEvaluator(Evaluator):
    """``acc`` grows with the choices with diminishing returns, plus noise drawn from the candidate's seed;
    ``params`` and ``latency`` grow with them linearly.

    Args:
        noise: standard deviation of the accuracy's noise.
    """

    name = "toy"
    description = "toy plug-in: metrics made up from the genes"
    in_process = True

    def __init__(
        self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0, noise: float = 0.5
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        unknown = sorted(source for source in self.sources.values() if source not in METRICS)
        if unknown:
            raise ConfigError(f"the toy evaluator measures {', '.join(METRICS)}, not {', '.join(unknown)}")
        self.noise = noise

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        genes = np.array(candidate.genotype.genes, dtype=float)
        weights = np.arange(1, len(genes) + 1)
        measured = {
            "acc": 90 - 30 * float(np.prod(0.8 ** (genes * weights))) + self.noise * float(np.random.default_rng(candidate.seed).normal()),
            "params": 1000 + 500 * float(genes @ weights),
            "latency": 1 + float(genes.sum()) / 4,
        }
        return Evaluation({name: measured[source] for name, source in self.sources.items()})
