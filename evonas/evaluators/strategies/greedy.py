"""GreedyNAS (You et al., CVPR 2020, "GreedyNAS: Towards Fast One-Shot NAS with Greedy Supernet").

Each step samples ``m`` paths, scores them on the held-out scoring set with the current weights and
trains only the best ``k`` (multi-path sampling with rejection). The best paths seen are kept in a
bounded candidate pool; a path is drawn from the pool with a probability that rises linearly from 0
to ``pool_prob`` over the training (exploration, then exploitation), and uniformly otherwise.
A pool member's score is replaced whenever it is scored again, so the pool follows the weights as
they change; at the last step the whole pool is rescored, and it seeds the search, best first.

Defaults: ``m=10``, ``k=5`` and the 0 -> 0.8 schedule as in the paper. The paper's pool holds 1,000
paths over about 150,000 training steps (its public configuration: 1,000 paths, 150k iterations);
the same share of the default supernet training here (60 epochs of about 32 steps) is 13 paths,
rounded up to 16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evonas.errors import ConfigError
from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy, fraction, whole_number
from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace


class GreedyNAS(TrainingStrategy):
    """Trains the best ``k`` of ``m`` sampled paths; keeps a pool of the best ``pool`` paths seen.

    Args:
        m: paths sampled and scored per step.
        k: of those, the best that are trained (at most ``m``).
        pool: most paths the candidate pool holds.
        pool_prob: probability, reached at the last step, that a sampled path comes from the pool.
    """

    name = "greedy"
    description = "GreedyNAS: train the best k of m scored paths, sample more and more from a pool of good ones"
    scores_paths = True

    def __init__(
        self,
        space: SearchSpace,
        *,
        admissible: Callable[[Genotype], bool] | None = None,
        m: int = 10,
        k: int = 5,
        pool: int = 16,
        pool_prob: float = 0.8,
    ) -> None:
        super().__init__(space, admissible=admissible)
        self.m = whole_number(self.name, "m", m, 1)
        self.k = whole_number(self.name, "k", k, 1)
        if self.k > self.m:
            raise ConfigError(f"strategy 'greedy': option k must be at most m ({self.m}), got {k!r}")
        self.pool = whole_number(self.name, "pool", pool, 1)
        self.pool_prob = fraction(self.name, "pool_prob", pool_prob)
        self.candidates: dict[Genotype, float] = {}  # the pool: path -> its latest score

    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        from_pool = self.pool_prob * step.step / max(step.total_steps, 1)
        pool = list(self.candidates)
        sampled = []
        for _ in range(self.m):
            if pool and rng.random() < from_pool:
                sampled.append(pool[int(rng.integers(len(pool)))])
            else:
                sampled.append(self.sample(rng))
        scores = {genotype: step.score(genotype) for genotype in dict.fromkeys(sampled)}
        best = sorted(scores, key=scores.get, reverse=True)[: self.k]  # stable: ties keep the order of sampling
        for genotype in scores:
            if genotype in self.candidates:
                self.candidates[genotype] = scores[genotype]
        self.candidates.update((genotype, scores[genotype]) for genotype in best)
        if step.step == step.total_steps - 1:
            self.candidates = {genotype: step.score(genotype) for genotype in self.candidates}
        self.candidates = dict(sorted(self.candidates.items(), key=lambda item: item[1], reverse=True)[: self.pool])
        return best

    def seeds(self) -> list[Genotype]:
        return list(self.candidates)  # kept best first

    def state(self) -> dict[str, Any]:
        return {"pool": [[list(genotype.genes), score] for genotype, score in self.candidates.items()]}

    def restore(self, state: dict[str, Any]) -> None:
        self.candidates = {Genotype(self.space.name, tuple(genes)): float(score) for genes, score in state["pool"]}
