"""EPS (Li et al., 2021, "Improving Random-Sampling Neural Architecture Search by Evolving the Proxy Search Space").

Training samples each step's path uniformly from a proxy population rather than from the whole
space. Every ``interval`` steps a ``share`` of the population is scored on the held-out scoring set
with the current weights and split, in the order drawn, into tournaments of ``tournament`` paths;
each tournament's winner is mutated with one of the project's mutation operators (a child outside
the constraints or already in the population is drawn again, a few times at most), the children
join and as many of the oldest members leave (ageing, as in regularised evolution), so the
population keeps its size. At the last step the whole population is scored, and it seeds the
search, best first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evonas.errors import ConfigError
from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy, fraction, whole_number
from evonas.genotype import Genotype
from evonas.operators import MUTATIONS
from evonas.spaces.base import SearchSpace

CHILD_DRAWS = 8  # mutations tried per tournament for a new, admissible child


class EPS(TrainingStrategy):
    """Trains one path per step drawn from an evolving proxy population.

    Args:
        population: paths in the proxy population.
        interval: steps between two rounds of evolution.
        share: fraction of the population scored in a round.
        tournament: paths per tournament; each round has ``share * population // tournament`` of them
            (at least one) and makes one child per tournament.
        mutation: registered mutation operator (`evonas.operators.MUTATIONS`).
    """

    name = "eps"
    description = "EPS: sample paths from a proxy population that evolves (tournaments, mutation, ageing) during training"
    scores_paths = True

    def __init__(
        self,
        space: SearchSpace,
        *,
        admissible: Callable[[Genotype], bool] | None = None,
        population: int = 20,
        interval: int = 16,
        share: float = 0.5,
        tournament: int = 5,
        mutation: str = "resample",
    ) -> None:
        super().__init__(space, admissible=admissible)
        self.population = whole_number(self.name, "population", population, 2)
        self.interval = whole_number(self.name, "interval", interval, 1)
        self.share = fraction(self.name, "share", share, above_zero=True)
        self.tournament = whole_number(self.name, "tournament", tournament, 1)
        if self.tournament > self.population:
            raise ConfigError(f"strategy 'eps': option tournament must be at most population ({self.population}), got {tournament!r}")
        self.mutation = mutation
        self._mutate = MUTATIONS[mutation]
        self.members: list[Genotype] = []  # oldest first
        self.scores: dict[Genotype, float] = {}  # latest score of members scored at least once

    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        if not self.members:
            self.members = self._initial_population(rng)
        elif step.step % self.interval == 0:
            self._evolve(step, rng)
        if step.step == step.total_steps - 1:
            self.scores = {genotype: step.score(genotype) for genotype in self.members}
        return [self.members[int(rng.integers(len(self.members)))]]

    def _initial_population(self, rng: np.random.Generator) -> list[Genotype]:
        """``population`` admissible paths, distinct while the draws allow."""
        members: dict[Genotype, None] = {}
        for _ in range(self.population * CHILD_DRAWS):
            members.setdefault(self.sample(rng))
            if len(members) == self.population:
                break
        members_list = list(members)
        while len(members_list) < self.population:  # a tiny admissible set: repeat paths
            members_list.append(self.sample(rng))
        return members_list

    def _evolve(self, step: TrainingStep, rng: np.random.Generator) -> None:
        scored = max(round(self.share * self.population), self.tournament)
        drawn = [self.members[i] for i in rng.choice(self.population, size=scored, replace=False)]
        for genotype in dict.fromkeys(drawn):
            self.scores[genotype] = step.score(genotype)
        children = []
        for start in range(0, scored - self.tournament + 1, self.tournament):
            winner = max(drawn[start : start + self.tournament], key=self.scores.__getitem__)
            child = self._child(winner, rng)
            if child is not None:
                children.append(child)
        self.members = self.members[len(children) :] + children
        self.scores = {genotype: self.scores[genotype] for genotype in self.members if genotype in self.scores}

    def _child(self, parent: Genotype, rng: np.random.Generator) -> Genotype | None:
        """A mutant of ``parent`` within the constraints, new to the population if the draws allow; None if
        no admissible mutant came up (the parent's neighbourhood lies outside the limits)."""
        fallback = None
        for _ in range(CHILD_DRAWS):
            child = self._mutate(parent, self.space, rng=rng)
            if self.admissible(child):
                if child not in self.members:
                    return child
                fallback = fallback or child
        return fallback

    def seeds(self) -> list[Genotype]:
        ranked = sorted(dict.fromkeys(self.members), key=lambda g: self.scores.get(g, -np.inf), reverse=True)
        return ranked

    def state(self) -> dict[str, Any]:
        return {
            "members": [list(genotype.genes) for genotype in self.members],
            "scores": [[list(genotype.genes), score] for genotype, score in self.scores.items()],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.members = [Genotype(self.space.name, tuple(genes)) for genes in state["members"]]
        self.scores = {Genotype(self.space.name, tuple(genes)): float(score) for genes, score in state["scores"]}
