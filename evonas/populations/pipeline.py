"""The pieces a search is composed of, and the pipeline that composes them.

Each generation, the population manager (`evonas.populations.manager.PopulationManager`) asks
its pipeline for offspring and, once they are evaluated, for the survivors:

1. the evaluator's seeds (generation 0 only) come first;
2. the **proposals**, in order, each asked for what the ones before it left to propose;
3. the **filters**, in order, each keeping the best of more proposals than it passes on (the
   ridge predictor of `evonas.populations.predictor`);
4. the **screen**, one filter over the whole generation, seeds included (the proxy screen of
   `evonas.populations.screening`);
5. **survival** keeps ``population`` of the population and the newly evaluated.

Today's search, which ``evonas evolve`` runs, is `Pipeline.default`: while the archive is small, a
per-gene model of good against bad architectures (`GeneModelProposal`), then Pareto local search
(`LocalSearch`), then NSGA-II variation (`Variation`: binary tournament, crossover, mutation, with
fresh samples when variation finds nothing new), the predictor filter, and NSGA-II survival. A
search of your own is a `Pipeline` of other pieces, as pymoo composes
``NSGA2(sampling=..., crossover=..., mutation=..., survival=...)``::

    from evonas.populations import Pipeline, PredictorFilter, Variation

    pipeline = Pipeline(proposals=(Variation(crossover="two-point"),), filters=(PredictorFilter(pool=4.0),))
    Search.start(config, run_dir, pipeline=pipeline)  # and Search.resume(run_dir, pipeline=pipeline)

Adding a proposal piece:

1. Subclass `Proposal` and write ``propose(manager, n, rng, taken)``: return up to ``n``
   `Offspring` in canonical form (``manager.canonical(genotype)``) that are neither evaluated
   (``genotype in manager.canonical_forms``) nor in ``taken``, no two the same, each with its
   parents' uids and an operator label (written to evaluations.csv). Read what you need from the
   manager (``space``, ``archive``, ``population``, ``feasible()``, ``rank_and_crowding(individuals)``,
   ``objectives``, ``constraints``) and draw only from ``rng`` (the generation's stream), so that
   runs repeat and resume exactly. Return fewer than ``n`` when you have no more: the next piece
   fills the rest. If you remember things about the archive between generations, forget them in
   ``restored()``.
2. Put it in a pipeline's ``proposals`` where it should take its turn, e.g. before today's:
   ``dataclasses.replace(default, proposals=(Mine(), *default.proposals))`` with
   ``default = Pipeline.default(options)``.
3. To make it part of the search ``evonas evolve`` runs, give `SearchOptions` a field for its
   setting and add the piece in `Pipeline.default`. A run.json written before lacks the field:
   if its default changes what a run does, give `RunConfig.from_json` the value that keeps old
   runs as they ran (as it does for ``local_search``). `tests/test_pinned_fronts.py` says whether
   today's results moved.

A new filter is a subclass of `Filter` (``drawn`` and ``select``); survival and parent selection
are plain functions (`evonas.populations.nsga2`'s ``survivors`` and ``binary_tournament`` by
default).

Pieces may remember things about the archive (local search remembers which individuals have no
unevaluated neighbour left): a pipeline belongs to one manager, so build one per search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evonas.genotype import Genotype
from evonas.populations.nsga2 import survivors

if TYPE_CHECKING:
    from evonas.populations.manager import PopulationManager, SearchOptions


@dataclass(frozen=True)
class Offspring:
    """A genotype proposed for evaluation, with its lineage."""

    genotype: Genotype
    parents: tuple[int, ...]
    operator: str


class Proposal(ABC):
    """A source of offspring: local search, variation, random samples, or your own."""

    @abstractmethod
    def propose(self, manager: PopulationManager, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """Up to ``n`` offspring in canonical form, none evaluated nor in ``taken``, no two the same.

        Raises `evonas.errors.SpaceExhaustedError` if it can propose none because every
        architecture is evaluated or taken.
        """

    def restored(self) -> None:
        """The manager's archive was replaced (a resume): forget whatever was remembered about it."""


class Filter(ABC):
    """Keeps the best ``n`` of more proposals than it passes on (a predictor, a proxy)."""

    @abstractmethod
    def drawn(self, manager: PopulationManager, n: int) -> int:
        """How many offspring to propose so that ``n`` are kept (``n`` to keep them all)."""

    @abstractmethod
    def select(self, manager: PopulationManager, offspring: Sequence[Offspring], n: int) -> list[Offspring]:
        """The ``n`` best of ``offspring`` (all of them if there are no more), in the order proposed."""


Survival = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
"""``(values to minimise, constraint violations, n) -> indices of the n rows kept``."""


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """The pieces of a search, in the order they act (see the module's docstring).

    Attributes:
        proposals: sources of offspring, asked in turn for what is still missing.
        filters: applied in turn to the proposals.
        screen: applied last to the whole generation, the evaluator's seeds included.
        survival: which of the population and the newly evaluated stay.
    """

    proposals: tuple[Proposal, ...]
    filters: tuple[Filter, ...] = ()
    screen: Filter | None = None
    survival: Survival = survivors

    def describe(self) -> dict[str, Any]:
        """Where each piece's code comes from (``module:name``), in order: what run.json records of a pipeline of one's own."""
        where = lambda piece: f"{piece.__module__}:{piece.__qualname__}"  # noqa: E731
        return {
            "proposals": [where(type(piece)) for piece in self.proposals],
            "filters": [where(type(piece)) for piece in self.filters],
            "screen": where(type(self.screen)) if self.screen else None,
            "survival": where(self.survival),
        }

    @classmethod
    def default(cls, options: SearchOptions, screen: Filter | None = None) -> Pipeline:
        """Today's search with ``options``: the gene model (with a share), local search, variation, the predictor filter, ``screen``."""
        from evonas.populations.gene_model import GeneModelProposal
        from evonas.populations.predictor import PredictorFilter
        from evonas.populations.proposals import LocalSearch, Sampling, Variation

        variation = Variation(
            crossover=options.crossover,
            mutation=options.mutation,
            crossover_prob=options.crossover_prob,
            max_tries=options.max_tries,
            sampling=Sampling(max_tries=options.max_tries),
        )
        model = GeneModelProposal(share=options.model_share, until=options.model_evaluations)
        return cls(
            proposals=(*([model] if options.model_share > 0 else []),
                       LocalSearch(share=options.local_search, neutral_moves=options.neutral_moves, swap_moves=options.swap_moves), variation),
            filters=(PredictorFilter(pool=options.predictor_pool, min_fit=options.predictor_fit),),
            screen=screen,
        )
