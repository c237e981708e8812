"""SPOS (Guo et al., 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling")."""

from __future__ import annotations

import numpy as np

from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy
from evonas.genotype import Genotype


class SPOS(TrainingStrategy):
    """One path per step, every gene's choice drawn uniformly (one integer per gene from ``rng``;
    drawn again while the path is outside the constraints)."""

    name = "spos"
    description = "single path one-shot: one uniformly sampled path per step"

    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        return [self.sample(rng)]
