"""The population manager: NSGA-II with an archive, driven by ask (offspring) and tell (evaluated)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evonas.errors import ConfigError, SpaceExhaustedError
from evonas.genotype import Genotype, Individual
from evonas.objectives import Constraint, Objective, minimisation_matrix, total_violation
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.populations.nsga2 import binary_tournament, nondominated_ranks, rank_and_crowding, survivors
from evonas.populations.predictor import closest_to_front
from evonas.spaces.base import SearchSpace

ENUMERATION_LIMIT = 2_000_000


@dataclass(frozen=True, kw_only=True)
class NSGA2Options:
    """Settings of the population manager.

    Attributes:
        population: individuals kept after survival, and offspring per generation.
        local_search: share of each generation's offspring drawn as single-gene neighbours of the
            archive's best individuals (Pareto local search); the rest, and whatever the
            neighbourhoods cannot supply, come from tournament selection, crossover and mutation.
        predictor_pool: offspring proposed per offspring evaluated; above 1, a ridge regression
            fitted on the archive keeps the proposals predicted to fall least short of the front
            (`evonas.populations.predictor`); 1 evaluates every proposal.
        crossover: registered crossover name.
        crossover_prob: probability that a pair of parents is crossed before mutation.
        mutation: registered mutation name, applied to every child.
        max_tries: draws of an offspring before falling back to a fresh random architecture.
        equivalents: treat genotypes with the same canonical form (`SearchSpace.canonical`) as one
            architecture: offspring are proposed in their canonical form (on NB201 the cell
            without the edges that compute nothing, the cheapest network of its function), and
            none whose function is evaluated or already proposed, so no function is evaluated
            twice; False tells every genotype apart.
    """

    population: int = 24
    local_search: float = 1.0
    predictor_pool: float = 2.0
    crossover: str = "uniform"
    crossover_prob: float = 0.9
    mutation: str = "resample"
    max_tries: int = 100
    equivalents: bool = True

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ConfigError(f"population must be at least 2, got {self.population}")
        if not 0.0 <= self.crossover_prob <= 1.0:
            raise ConfigError(f"crossover probability must be in [0, 1], got {self.crossover_prob}")
        if self.predictor_pool < 1.0:
            raise ConfigError(f"predictor pool must be at least 1, got {self.predictor_pool}")
        if not 0.0 <= self.local_search <= 1.0:
            raise ConfigError(f"local search share must be in [0, 1], got {self.local_search}")
        if self.max_tries < 1:
            raise ConfigError(f"max_tries must be at least 1, got {self.max_tries}")
        CROSSOVERS[self.crossover]
        MUTATIONS[self.mutation]


@dataclass(frozen=True)
class Offspring:
    """A genotype proposed for evaluation, with its lineage."""

    genotype: Genotype
    parents: tuple[int, ...]
    operator: str


class PopulationManager:
    """Holds the population and the archive of every evaluated genotype; no function is proposed twice.

    Proposals are told apart, and made, in their canonical form (`SearchSpace.canonical`, with
    ``options.equivalents``): an equivalent of an evaluated or already proposed genotype is never
    proposed.

    Args:
        space: the search space.
        objectives: what is optimised.
        constraints: limits; constraint-domination puts feasible individuals first.
        options: NSGA-II settings.
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: Sequence[Objective],
        constraints: Sequence[Constraint] = (),
        options: NSGA2Options | None = None,
    ) -> None:
        self.space = space
        self.objectives = tuple(objectives)
        self.constraints = tuple(constraints)
        self.options = options or NSGA2Options()
        self._crossover = CROSSOVERS[self.options.crossover]
        self._mutation = MUTATIONS[self.options.mutation]
        self.archive: dict[Genotype, Individual] = {}
        self._evaluated: set[Genotype] = set()  # canonical forms of the archive's genotypes
        self.population: list[Individual] = []
        self._surrounded: set[int] = set()  # uids whose every neighbour is evaluated (a cache: the archive only grows)

    def canonical(self, genotype: Genotype) -> Genotype:
        """The form under which genotypes are told apart: the space's canonical one, with ``options.equivalents``."""
        return self.space.canonical(genotype) if self.options.equivalents else genotype

    def is_evaluated(self, genotype: Genotype) -> bool:
        """Whether ``genotype`` or (with ``options.equivalents``) an equivalent of it is in the archive."""
        return self.canonical(genotype) in self._evaluated

    # -- ask -------------------------------------------------------------------------------
    def ask(self, n: int, rng: np.random.Generator, seeds: Sequence[Genotype] = ()) -> list[Offspring]:
        """Up to ``n`` new, distinct, never-evaluated genotypes (fewer only if the space runs out).

        ``seeds`` (an evaluator's proposals, best first) come first, those not evaluated yet, up to
        ``n``; the rest are proposed as below, from the same draws of ``rng`` as without seeds.
        With a predictor pool, ``ceil(n * predictor_pool)`` are proposed and the ``n`` predicted
        best are returned (all proposals while the archive holds no feasible architecture).
        """
        seeded: dict[Genotype, Offspring] = {}  # by canonical form
        for genotype in seeds:
            if len(seeded) == n:
                break
            key = self.canonical(genotype)
            if key not in self._evaluated and key not in seeded:
                seeded[key] = Offspring(key, (), "seed")
        n -= len(seeded)
        if n == 0:
            return list(seeded.values())
        taken = set(seeded)
        evaluated = self._feasible() if self.options.predictor_pool > 1.0 else []
        if not evaluated:
            return [*seeded.values(), *self._propose(n, rng, taken)]
        proposals = self._propose(math.ceil(n * self.options.predictor_pool), rng, taken)
        keep = closest_to_front(
            self.space,
            [self.canonical(ind.genotype).genes for ind in evaluated],
            minimisation_matrix([ind.metrics for ind in evaluated], self.objectives),
            [self.canonical(child.genotype).genes for child in proposals],
            n,
        )
        return [*seeded.values(), *(proposals[i] for i in keep)]

    def _propose(self, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """``n`` offspring, none evaluated nor in ``taken`` (canonical forms, left unchanged), no two equivalent."""
        offspring = self._neighbours_of_best(round(n * self.options.local_search), rng, taken)
        if len(offspring) >= n:
            return offspring
        taken = taken | {self.canonical(child.genotype) for child in offspring}
        parents = self._mating_pool()
        ranks, crowding = self._rank_and_crowding(parents)
        while len(offspring) < n:
            batch = self._vary(parents, ranks, crowding, rng, taken) if parents else None
            if batch is None:
                try:
                    batch = [self._fresh(rng, taken)]
                except SpaceExhaustedError:
                    if offspring:
                        return offspring
                    raise
            for child in batch[: n - len(offspring)]:
                taken.add(self.canonical(child.genotype))
                offspring.append(child)
        return offspring

    def _neighbours_of_best(self, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """Up to ``n`` unevaluated single-gene neighbours (not in ``taken``) of the archive's best individuals, best first.

        Neighbours equivalent to an evaluated, taken or already chosen genotype are passed over.

        The archive is ordered by constraint-domination rank, then by descending crowding distance
        within a rank, then by uid; each individual's neighbours are taken in an order drawn from
        ``rng`` (one permutation per individual visited). Every improvement of the front is thus
        followed by a look at everything one edit away from it: Pareto local search (Paquete et
        al., 2004), which finds a table's true front with fewer evaluations than variation alone.
        """
        if n == 0 or not self.archive:
            return []
        members = [ind for ind in self.archive.values() if ind.ok]
        ranks, crowding = self._rank_and_crowding(members)
        order = np.lexsort(([ind.uid for ind in members], -crowding, ranks))
        chosen: dict[Genotype, Offspring] = {}
        count = sum(len(gene) - 1 for gene in self.space.genes)  # neighbours of any genotype
        for position in order:
            member = members[position]
            permutation = rng.permutation(count)  # drawn for every member visited, so the stream never depends on the cache
            if member.uid in self._surrounded:
                continue
            neighbours = list(self.space.neighbours(member.genotype))
            unseen = False
            for i in permutation:
                child = neighbours[i]
                key = self.canonical(child)
                if key not in self._evaluated:
                    unseen = True
                    if key not in chosen and key not in taken:
                        chosen[key] = Offspring(key, (member.uid,), "neighbour")
                        if len(chosen) == n:
                            return list(chosen.values())
            if not unseen:
                self._surrounded.add(member.uid)
        return list(chosen.values())

    def _mating_pool(self) -> list[Individual]:
        return [ind for ind in self.population if ind.ok]

    def _vary(
        self,
        pool: list[Individual],
        ranks: np.ndarray,
        crowding: np.ndarray,
        rng: np.random.Generator,
        taken: set[Genotype],
    ) -> list[Offspring] | None:
        """Children of tournament-selected parents, or None after ``max_tries`` duplicates."""
        for _ in range(self.options.max_tries):
            first, second = (pool[i] for i in binary_tournament(ranks, crowding, 2, rng))
            if rng.random() < self.options.crossover_prob and first.genotype != second.genotype:
                children = self._crossover(first.genotype, second.genotype, self.space, rng=rng)
                lineage, label = (first.uid, second.uid), f"{self.options.crossover}+{self.options.mutation}"
            else:
                children, lineage, label = (first.genotype,), (first.uid,), self.options.mutation
            fresh, keys = [], set()
            for child in children:
                child = self._mutation(child, self.space, rng=rng)
                key = self.canonical(child)
                if key not in self._evaluated and key not in taken and key not in keys:
                    keys.add(key)
                    fresh.append(Offspring(key, lineage, label))
            if fresh:
                return fresh
        return None

    def _fresh(self, rng: np.random.Generator, taken: set[Genotype]) -> Offspring:
        """A uniformly random genotype not evaluated nor taken (nor equivalent to one), or `SpaceExhaustedError`."""
        for _ in range(self.options.max_tries):
            genotype = self.space.sample(rng)
            key = self.canonical(genotype)
            if key not in self._evaluated and key not in taken:
                return Offspring(key, (), "sample")
        if self.space.size > ENUMERATION_LIMIT:
            raise SpaceExhaustedError(f"no unseen architecture found in {self.options.max_tries} random draws")
        seen = {self.space.index(g) for g in (*self.archive, *self._evaluated, *taken)}
        unseen = np.setdiff1d(np.arange(self.space.size), np.fromiter(seen, dtype=np.int64, count=len(seen)))
        if self.options.equivalents and type(self.space).canonical is not SearchSpace.canonical:
            known = self._evaluated | taken
            unseen = unseen[[self.canonical(self.space.from_index(int(i))) not in known for i in unseen]]
        if len(unseen) == 0:
            raise SpaceExhaustedError(f"all {self.space.size} architectures of {self.space.name} are evaluated")
        return Offspring(self.canonical(self.space.from_index(int(unseen[rng.integers(len(unseen))]))), (), "sample")

    # -- tell ------------------------------------------------------------------------------
    def tell(self, individuals: Sequence[Individual]) -> None:
        """Adds evaluated individuals to the archive and keeps the best ``population`` of all."""
        for ind in individuals:
            self.archive[ind.genotype] = ind
            self._evaluated.add(self.canonical(ind.genotype))
        candidates = self.population + list(individuals)
        keep = survivors(*self._values_and_violations(candidates), self.options.population)
        self.population = [candidates[i] for i in keep]

    def restore(self, archive: Sequence[Individual], population_uids: Sequence[int]) -> None:
        """Sets the state saved in a checkpoint: every evaluated individual and the survivors' uids."""
        self.archive = {ind.genotype: ind for ind in archive}
        self._evaluated = {self.canonical(ind.genotype) for ind in archive}
        self._surrounded = set()
        by_uid = {ind.uid: ind for ind in archive}
        self.population = [by_uid[uid] for uid in population_uids]

    # -- views -----------------------------------------------------------------------------
    def front(self) -> list[Individual]:
        """The feasible non-dominated individuals of the whole archive, one (the first evaluated) per function."""
        feasible = self._feasible()
        if not feasible:
            return []
        ranks = nondominated_ranks(minimisation_matrix([i.metrics for i in feasible], self.objectives))
        functions: dict[Genotype, Individual] = {}
        for ind, r in zip(feasible, ranks):
            if r == 0:
                key = self.canonical(ind.genotype)
                if key not in functions or ind.uid < functions[key].uid:
                    functions[key] = ind
        return sorted(functions.values(), key=lambda ind: ind.uid)

    def _feasible(self) -> list[Individual]:
        """Archive members that were measured and meet every constraint."""
        usable = [ind for ind in self.archive.values() if ind.ok]
        if not self.constraints:
            return usable
        return [ind for ind in usable if total_violation(ind.metrics, self.constraints) == 0]

    def _values_and_violations(self, individuals: Sequence[Individual]) -> tuple[np.ndarray, np.ndarray]:
        ok = np.array([ind.ok for ind in individuals], dtype=bool)
        values = np.zeros((len(individuals), len(self.objectives)))
        violations = np.full(len(individuals), np.inf)
        usable = [ind for ind, good in zip(individuals, ok) if good]
        if usable:
            values[ok] = minimisation_matrix([ind.metrics for ind in usable], self.objectives)
            if self.constraints:
                violations[ok] = [total_violation(ind.metrics, self.constraints) for ind in usable]
            else:
                violations[ok] = 0.0
        return values, violations

    def _rank_and_crowding(self, individuals: Sequence[Individual]) -> tuple[np.ndarray, np.ndarray]:
        return rank_and_crowding(*self._values_and_violations(individuals))
