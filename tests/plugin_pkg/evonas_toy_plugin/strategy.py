"""The toy training strategy: a sampled path each step, and every other step the best path scored so far."""

from __future__ import annotations

from typing import Any

import numpy as np

from evonas.evaluators.strategies import TrainingStep, TrainingStrategy
from evonas.genotype import Genotype


class ToyStrategy(TrainingStrategy):
    """Trains one uniformly sampled path per step, scores it, and on odd steps also the best path seen."""

    name = "toy"
    description = "toy plug-in: a sampled path, and every other step the best scored so far"
    scores_paths = True

    def __init__(self, space, *, admissible=None) -> None:
        super().__init__(space, admissible=admissible)
        self.best: tuple[Genotype, float] | None = None

    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        path = self.sample(rng)
        score = step.score(path)
        paths = [path] if self.best is None or step.step % 2 == 0 else [path, self.best[0]]
        if self.best is None or score > self.best[1]:
            self.best = (path, score)
        return paths

    def seeds(self) -> list[Genotype]:
        return [self.best[0]] if self.best else []

    def state(self) -> dict[str, Any]:
        return {"best": [list(self.best[0].genes), self.best[1]] if self.best else None}

    def restore(self, state: dict[str, Any]) -> None:
        best = state["best"]
        self.best = (Genotype(self.space.name, tuple(best[0])), float(best[1])) if best else None
