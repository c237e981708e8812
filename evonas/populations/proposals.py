"""The proposal pieces of today's search: Pareto local search, NSGA-II variation, random samples.

Each is a `evonas.populations.pipeline.Proposal`; see that module for how they are composed and
how to write another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from evonas.errors import ConfigError, SpaceExhaustedError
from evonas.genotype import Genotype, Individual
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.populations.nsga2 import binary_tournament
from evonas.populations.pipeline import Offspring, Proposal
from evonas.spaces.base import SearchSpace

if TYPE_CHECKING:
    from evonas.populations.manager import PopulationManager

ENUMERATION_LIMIT = 2_000_000

Selection = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]
"""``(ranks, crowding distances, n, rng) -> indices of n parents``, drawing only from ``rng``."""


class LocalSearch(Proposal):
    """Unevaluated single-gene neighbours of the archive's best individuals: Pareto local search.

    Every improvement of the front is thus followed by a look at everything one edit away from it
    (Paquete et al., 2004), which finds a table's true front with fewer evaluations than variation
    alone.

    In a space with a canonical form a single edit may be neutral (on NB201, an edge whose source
    nothing reaches: the cell computes what it did), and a canonical genotype's single-gene
    neighbours cannot revive a dead path, where two edges must change. With ``neutral_moves`` each
    individual's neighbourhood also holds the single-gene neighbours of its neutral neighbours
    (`neutral_neighbours`), after its own. With ``swap_moves`` it also holds the genotypes with two
    genes' choices exchanged (`swaps`): on NB201 the same operations on other edges, which many
    latency tables price alike, so a swap looks for the most accurate cell at the same cost.

    Args:
        share: share of what it is asked for that it proposes (``round(n * share)`` at most).
        neutral_moves: also propose the two-gene moves through a neutral edit.
        swap_moves: also propose the exchanges of two genes' choices.
    """

    def __init__(self, share: float = 1.0, *, neutral_moves: bool = False, swap_moves: bool = False) -> None:
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"local search share must be in [0, 1], got {share}")
        self.share = share
        self.neutral_moves = neutral_moves
        self.swap_moves = swap_moves
        self._surrounded: set[int] = set()  # uids whose every neighbour is evaluated (a cache: the archive only grows)

    def restored(self) -> None:
        self._surrounded = set()

    def propose(self, manager: PopulationManager, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """Up to ``round(n * share)`` neighbours (not in ``taken``) of the archive's best individuals, best first.

        Neighbours equivalent to an evaluated, taken or already chosen genotype are passed over.
        The archive is ordered by constraint-domination rank, then by descending crowding distance
        within a rank, then by uid; each individual's neighbours are taken in an order drawn from
        ``rng`` (one permutation per individual visited), then, with ``neutral_moves`` or
        ``swap_moves``, its `neutral_neighbours` and `swaps` in an order drawn from a generator
        seeded by one more draw from ``rng``.
        """
        n = round(n * self.share)
        if n == 0 or not manager.archive:
            return []
        members = [ind for ind in manager.archive.values() if ind.ok]
        ranks, crowding = manager.rank_and_crowding(members)
        order = np.lexsort(([ind.uid for ind in members], -crowding, ranks))
        chosen: dict[Genotype, Offspring] = {}
        space, evaluated = manager.space, manager.canonical_forms
        count = sum(len(gene) - 1 for gene in space.genes)  # neighbours of any genotype
        for position in order:
            member = members[position]
            permutation = rng.permutation(count)  # drawn for every member visited, so the stream never depends on the cache
            shuffle = int(rng.integers(2**63)) if self.neutral_moves or self.swap_moves else None
            if member.uid in self._surrounded:
                continue
            neighbours = list(space.neighbours(member.genotype))
            candidates = [neighbours[i] for i in permutation]
            if shuffle is not None:
                further = neutral_neighbours(manager, member.genotype) if self.neutral_moves else []
                if self.swap_moves:
                    further += swaps(space, member.genotype)
                candidates += [further[i] for i in np.random.default_rng(shuffle).permutation(len(further))]
            unseen = False
            for candidate in candidates:
                key = manager.canonical(candidate)
                if key not in evaluated:
                    unseen = True
                    if key not in chosen and key not in taken:
                        chosen[key] = Offspring(key, (member.uid,), "neighbour")
                        if len(chosen) == n:
                            return list(chosen.values())
            if not unseen:
                self._surrounded.add(member.uid)
        return list(chosen.values())


def swaps(space: SearchSpace, genotype: Genotype) -> list[Genotype]:
    """``genotype`` with the choices of two genes exchanged, for every pair of genes with the same options and other choices."""
    genes = genotype.genes
    return [genotype.replace(i, genes[j]).replace(j, genes[i])
            for i in range(len(genes)) for j in range(i + 1, len(genes))
            if genes[i] != genes[j] and space.genes[i].choices == space.genes[j].choices]


def neutral_neighbours(manager: PopulationManager, genotype: Genotype) -> list[Genotype]:
    """The single-gene neighbours of ``genotype``'s neutral neighbours whose function no single edit reaches.

    A neutral neighbour differs in one gene and has the same canonical form (`SearchSpace.canonical`):
    on NB201 an operation put on a dead edge. Its own neighbours revive what was dead, e.g. an
    edge into a node and one out of it. Those equivalent to ``genotype`` or to one of its
    single-gene neighbours are left out, as is every repeat; in the order of the neutral
    neighbours, then of their neighbours. None without ``manager.equivalents``.
    """
    space = manager.space
    if not manager.equivalents or type(space).canonical is SearchSpace.canonical:
        return []
    own = manager.canonical(genotype)
    singles = [manager.canonical(g) for g in space.neighbours(genotype)]
    seen = {own, *singles}
    further = []
    for step, key in zip(space.neighbours(genotype), singles):
        if key != own:
            continue
        for candidate in space.neighbours(step):
            form = manager.canonical(candidate)
            if form not in seen:
                seen.add(form)
                further.append(form)
    return further


@dataclass(frozen=True, kw_only=True)
class Sampling(Proposal):
    """Uniformly random architectures.

    Args:
        max_tries: random draws of one architecture before enumerating the unseen ones (in spaces
            of up to two million) or giving up.
    """

    max_tries: int = 100

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ConfigError(f"max_tries must be at least 1, got {self.max_tries}")

    def propose(self, manager: PopulationManager, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """``n`` random architectures, or fewer if the space runs out (`SpaceExhaustedError` if none is left)."""
        taken = set(taken)
        offspring = []
        for _ in range(n):
            try:
                child = self.one(manager, rng, taken)
            except SpaceExhaustedError:
                if offspring:
                    return offspring
                raise
            taken.add(child.genotype)
            offspring.append(child)
        return offspring

    def one(self, manager: PopulationManager, rng: np.random.Generator, taken: set[Genotype]) -> Offspring:
        """A uniformly random genotype not evaluated nor taken (nor equivalent to one), or `SpaceExhaustedError`."""
        space, evaluated = manager.space, manager.canonical_forms
        for _ in range(self.max_tries):
            key = manager.canonical(space.sample(rng))
            if key not in evaluated and key not in taken:
                return Offspring(key, (), "sample")
        if space.size > ENUMERATION_LIMIT:
            raise SpaceExhaustedError(f"no unseen architecture found in {self.max_tries} random draws")
        seen = {space.index(g) for g in (*manager.archive, *evaluated, *taken)}
        unseen = np.setdiff1d(np.arange(space.size), np.fromiter(seen, dtype=np.int64, count=len(seen)))
        if manager.equivalents and type(space).canonical is not SearchSpace.canonical:
            known = evaluated | taken
            unseen = unseen[[manager.canonical(space.from_index(int(i))) not in known for i in unseen]]
        if len(unseen) == 0:
            raise SpaceExhaustedError(f"all {space.size} architectures of {space.name} are evaluated")
        return Offspring(manager.canonical(space.from_index(int(unseen[rng.integers(len(unseen))]))), (), "sample")


@dataclass(kw_only=True)
class Variation(Proposal):
    """NSGA-II variation: children of selected parents of the population, crossed and mutated.

    Parents are drawn from the population's measured members by ``selection`` on their
    constraint-domination ranks and crowding distances. When ``max_tries`` draws in a row give no
    new child, or the population is empty (generation 0), one architecture comes from ``sampling``.

    Args:
        crossover: registered crossover name (`evonas.operators.CROSSOVERS`).
        mutation: registered mutation name (`evonas.operators.MUTATIONS`), applied to every child.
        crossover_prob: probability that a pair of parents is crossed before mutation.
        max_tries: draws of parents before a child comes from ``sampling``.
        selection: parent selection (NSGA-II's binary tournament by default).
        sampling: where children come from when variation finds no new one.
    """

    crossover: str = "uniform"
    mutation: str = "resample"
    crossover_prob: float = 0.9
    max_tries: int = 100
    selection: Selection = binary_tournament
    sampling: Sampling = field(default_factory=Sampling)

    def __post_init__(self) -> None:
        if not 0.0 <= self.crossover_prob <= 1.0:
            raise ConfigError(f"crossover probability must be in [0, 1], got {self.crossover_prob}")
        if self.max_tries < 1:
            raise ConfigError(f"max_tries must be at least 1, got {self.max_tries}")
        self._crossover = CROSSOVERS[self.crossover]
        self._mutation = MUTATIONS[self.mutation]

    def propose(self, manager: PopulationManager, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """``n`` children (fewer only if the space runs out; `SpaceExhaustedError` if none is left)."""
        taken = set(taken)
        offspring: list[Offspring] = []
        parents = [ind for ind in manager.population if ind.ok]
        ranks, crowding = manager.rank_and_crowding(parents)
        while len(offspring) < n:
            batch = self._children(manager, parents, ranks, crowding, rng, taken) if parents else None
            if batch is None:
                try:
                    batch = [self.sampling.one(manager, rng, taken)]
                except SpaceExhaustedError:
                    if offspring:
                        return offspring
                    raise
            for child in batch[: n - len(offspring)]:
                taken.add(child.genotype)
                offspring.append(child)
        return offspring

    def _children(
        self,
        manager: PopulationManager,
        pool: list[Individual],
        ranks: np.ndarray,
        crowding: np.ndarray,
        rng: np.random.Generator,
        taken: set[Genotype],
    ) -> list[Offspring] | None:
        """Children of selected parents, or None after ``max_tries`` duplicates."""
        crossover, mutation, evaluated = self._crossover, self._mutation, manager.canonical_forms
        for _ in range(self.max_tries):
            first, second = (pool[i] for i in self.selection(ranks, crowding, 2, rng))
            if rng.random() < self.crossover_prob and first.genotype != second.genotype:
                children = crossover(first.genotype, second.genotype, manager.space, rng=rng)
                lineage, label = (first.uid, second.uid), f"{self.crossover}+{self.mutation}"
            else:
                children, lineage, label = (first.genotype,), (first.uid,), self.mutation
            fresh, keys = [], set()
            for child in children:
                key = manager.canonical(mutation(child, manager.space, rng=rng))
                if key not in evaluated and key not in taken and key not in keys:
                    keys.add(key)
                    fresh.append(Offspring(key, lineage, label))
            if fresh:
                return fresh
        return None
