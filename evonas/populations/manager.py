"""The population manager: an archive and a population, driven by ask (offspring) and tell (evaluated).

What it proposes and whom it keeps is its `Pipeline` (`evonas.populations.pipeline`): today's
search (Pareto local search, NSGA-II variation, the predictor filter, NSGA-II survival) unless
another is given.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from evonas.errors import ConfigError, SpaceExhaustedError
from evonas.genotype import Genotype, Individual
from evonas.objectives import Constraint, Objective, minimisation_matrix, total_violation
from evonas.populations.nsga2 import nondominated_ranks, rank_and_crowding
from evonas.populations.pipeline import Offspring, Pipeline
from evonas.spaces.base import SearchSpace


@dataclass(frozen=True, kw_only=True)
class SearchOptions:
    """Settings of a search: its population, and the pieces of today's pipeline (`Pipeline.default`).

    Stored as run.json's ``"search"``.

    Attributes:
        population: individuals kept after survival, and offspring per generation.
        local_search: share of each generation's offspring drawn as single-gene neighbours of the
            archive's best individuals (Pareto local search); the rest, and whatever the
            neighbourhoods cannot supply, come from tournament selection, crossover and mutation.
        predictor_pool: offspring proposed per offspring evaluated; above 1, a ridge regression
            fitted on the archive keeps the proposals predicted to fall least short of the front
            (`evonas.populations.predictor`); 1 evaluates every proposal.
        predictor_fit: the least leave-one-out R^2 of that regression, on every objective, at which
            it filters; while it fits some objective worse (NB201 accuracy), every proposal is
            evaluated and no more are drawn; 0 filters whenever there is data.
        crossover: registered crossover name.
        crossover_prob: probability that a pair of parents is crossed before mutation.
        mutation: registered mutation name, applied to every child.
        max_tries: draws of an offspring before falling back to a fresh random architecture.
        equivalents: treat genotypes with the same canonical form (`SearchSpace.canonical`) as one
            architecture: offspring are proposed in their canonical form (on NB201 the cell
            without the edges that compute nothing, the cheapest network of its function), and
            none whose function is evaluated or already proposed, so no function is evaluated
            twice; False tells every genotype apart.
        model_share: share of each generation's offspring drawn from a per-gene model of the
            archive's best against the rest (`GeneModelProposal`) while the archive holds fewer
            than ``model_evaluations`` evaluations; 0 turns it off.
        model_evaluations: evaluations after which the gene model stops proposing.
        neutral_moves: local search also proposes two-gene moves through a neutral edit (on
            NB201, reviving a dead path: `neutral_neighbours`); needs ``equivalents``.
        swap_moves: local search also proposes exchanges of two genes' choices (`swaps`).

    ``local_search``, ``neutral_moves`` and ``swap_moves`` are `LocalSearch`'s settings;
    ``crossover``, ``crossover_prob``, ``mutation`` and ``max_tries`` `Variation`'s
    (`evonas.populations.proposals`); ``predictor_pool`` and ``predictor_fit`` `PredictorFilter`'s
    (`evonas.populations.predictor`); ``model_share`` and ``model_evaluations`` `GeneModelProposal`'s
    (`evonas.populations.gene_model`).
    """

    population: int = 24
    local_search: float = 1.0
    predictor_pool: float = 3.0
    predictor_fit: float = 0.5
    crossover: str = "uniform"
    crossover_prob: float = 0.9
    mutation: str = "resample"
    max_tries: int = 100
    equivalents: bool = True
    model_share: float = 0.35
    model_evaluations: int = 600
    neutral_moves: bool = True
    swap_moves: bool = True

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ConfigError(f"population must be at least 2, got {self.population}")
        Pipeline.default(self)  # its pieces check their settings


class PopulationManager:
    """Holds the population and the archive of every evaluated genotype; no function is proposed twice.

    Proposals are told apart, and made, in their canonical form (`SearchSpace.canonical`, with
    ``options.equivalents``): an equivalent of an evaluated or already proposed genotype is never
    proposed.

    Args:
        space: the search space.
        objectives: what is optimised.
        constraints: limits; constraint-domination puts feasible individuals first.
        options: the population's size, equivalents, and the settings of the default pipeline.
        pipeline: the pieces that propose offspring and choose survivors (`Pipeline.default(options)`
            if not given; a pipeline of its own ignores the options' piece settings).
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: Sequence[Objective],
        constraints: Sequence[Constraint] = (),
        options: SearchOptions | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.space = space
        self.objectives = tuple(objectives)
        self.constraints = tuple(constraints)
        self.options = options or SearchOptions()
        self.pipeline = pipeline or Pipeline.default(self.options)
        self.equivalents = self.options.equivalents
        self.archive: dict[Genotype, Individual] = {}
        self.canonical_forms: set[Genotype] = set()  # of the archive's genotypes
        self.population: list[Individual] = []

    def canonical(self, genotype: Genotype) -> Genotype:
        """The form under which genotypes are told apart: the space's canonical one, with ``options.equivalents``."""
        return self.space.canonical(genotype) if self.equivalents else genotype

    def is_evaluated(self, genotype: Genotype) -> bool:
        """Whether ``genotype`` or (with ``options.equivalents``) an equivalent of it is in the archive."""
        return self.canonical(genotype) in self.canonical_forms

    # -- ask -------------------------------------------------------------------------------
    def ask(self, n: int, rng: np.random.Generator, seeds: Sequence[Genotype] = ()) -> list[Offspring]:
        """Up to ``n`` new, distinct, never-evaluated genotypes (fewer only if the space runs out).

        ``seeds`` (an evaluator's proposals, best first) come first, those not evaluated yet, up to
        what the screen draws; the rest are proposed (`propose`), from the same draws of ``rng`` as
        without seeds. The pipeline's screen then keeps ``n`` of them.
        """
        screen = self.pipeline.screen
        drawn = screen.drawn(self, n) if screen else n
        seeded: dict[Genotype, Offspring] = {}  # by canonical form
        for genotype in seeds:
            if len(seeded) == drawn:
                break
            key = self.canonical(genotype)
            if key not in self.canonical_forms and key not in seeded:
                seeded[key] = Offspring(key, (), "seed")
        offspring = list(seeded.values())
        if drawn > len(offspring):
            offspring += self.propose(drawn - len(offspring), rng, set(seeded))
        return screen.select(self, offspring, n) if screen else offspring

    def propose(self, n: int, rng: np.random.Generator, taken: Collection[Genotype] = ()) -> list[Offspring]:
        """``n`` offspring from the pipeline's proposals and filters, none evaluated nor in ``taken``, no two equivalent.

        Each filter says how many proposals it needs to keep what the next asks for; the proposals
        are asked in turn for what is still missing; the filters then keep their best. Fewer only
        if the space runs out (`SpaceExhaustedError` if nothing is left at all).
        """
        sizes = [n]
        for piece in reversed(self.pipeline.filters):
            sizes.insert(0, piece.drawn(self, sizes[0]))
        offspring: list[Offspring] = []
        taken = set(taken)
        for piece in self.pipeline.proposals:
            wanted = sizes[0] - len(offspring)
            if wanted <= 0:
                break
            try:
                children = piece.propose(self, wanted, rng, taken)
            except SpaceExhaustedError:
                if offspring:
                    break
                raise
            taken.update(child.genotype for child in children)
            offspring += children
        for piece, size in zip(self.pipeline.filters, sizes[1:]):
            offspring = piece.select(self, offspring, size)
        return offspring

    # -- tell ------------------------------------------------------------------------------
    def tell(self, individuals: Sequence[Individual]) -> None:
        """Adds evaluated individuals to the archive and keeps the best ``population`` of all (the pipeline's survival)."""
        for ind in individuals:
            self.archive[ind.genotype] = ind
            self.canonical_forms.add(self.canonical(ind.genotype))
        candidates = self.population + list(individuals)
        keep = self.pipeline.survival(*self.values_and_violations(candidates), self.options.population)
        self.population = [candidates[i] for i in keep]

    def restore(self, archive: Sequence[Individual], population_uids: Sequence[int]) -> None:
        """Sets the state saved in a checkpoint: every evaluated individual and the survivors' uids."""
        self.archive = {ind.genotype: ind for ind in archive}
        self.canonical_forms = {self.canonical(ind.genotype) for ind in archive}
        for piece in self.pipeline.proposals:
            piece.restored()
        by_uid = {ind.uid: ind for ind in archive}
        self.population = [by_uid[uid] for uid in population_uids]

    # -- views -----------------------------------------------------------------------------
    def front(self) -> list[Individual]:
        """The feasible non-dominated individuals of the whole archive, one (the first evaluated) per function."""
        feasible = self.feasible()
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

    def feasible(self) -> list[Individual]:
        """Archive members that were measured and meet every constraint."""
        usable = [ind for ind in self.archive.values() if ind.ok]
        if not self.constraints:
            return usable
        return [ind for ind in usable if total_violation(ind.metrics, self.constraints) == 0]

    def values_and_violations(self, individuals: Sequence[Individual]) -> tuple[np.ndarray, np.ndarray]:
        """Objective values to minimise and total constraint violations (infinite for failed evaluations), one row each."""
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

    def rank_and_crowding(self, individuals: Sequence[Individual]) -> tuple[np.ndarray, np.ndarray]:
        """Constraint-domination ranks and crowding distances of ``individuals`` among themselves."""
        return rank_and_crowding(*self.values_and_violations(individuals))
