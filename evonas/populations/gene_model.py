"""A per-gene model of good against bad architectures, for the first few hundred evaluations.

`GeneModelProposal` (a pipeline proposal, `evonas.populations.pipeline`) is the idea of the
tree-structured Parzen estimator (Bergstra et al., "Algorithms for Hyper-Parameter Optimization",
NeurIPS 2011) on categorical genes: the archive is split into a good group (the best by
non-domination rank, then crowding) and the rest; each gene's choices are counted in either
group, smoothed by one count each; candidates are drawn gene by gene from the good group's
frequencies, and those where the good group's model is most above the bad group's (the product
over genes of the two frequencies' ratio) are proposed. From a few dozen samples it learns which
choice of each gene the front prefers, which local search around the few best cannot, and it
hands over to local search and variation once the archive is large enough for them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from evonas.errors import ConfigError
from evonas.genotype import Genotype
from evonas.populations.pipeline import Offspring, Proposal

if TYPE_CHECKING:
    from evonas.populations.manager import PopulationManager


def gene_frequencies(genes: np.ndarray, cardinalities: np.ndarray, prior: float = 1.0) -> list[np.ndarray]:
    """Each gene's smoothed choice frequencies over the rows of ``genes``: (count + prior) / (rows + prior * choices)."""
    genes = np.asarray(genes, dtype=np.int64).reshape(-1, len(cardinalities))
    return [(np.bincount(genes[:, i], minlength=int(k)) + prior) / (len(genes) + prior * int(k))
            for i, k in enumerate(cardinalities)]


class GeneModelProposal(Proposal):
    """Draws candidates from the good group's per-gene frequencies; proposes those the good group prefers most.

    Args:
        share: share of what it is asked for that it proposes (``round(n * share)`` at most).
        until: it proposes while the archive holds fewer evaluations than this, nothing after.
        gamma: share of the archive's measured members in the good group (at least one member,
            and at least one left in the bad group).
        candidates: candidates drawn per offspring proposed.
    """

    def __init__(self, *, share: float = 0.35, until: int = 600, gamma: float = 0.25, candidates: int = 24) -> None:
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"gene model share must be in [0, 1], got {share}")
        if until < 0:
            raise ConfigError(f"gene model evaluations must be at least 0, got {until}")
        if not 0.0 < gamma < 1.0:
            raise ConfigError(f"gene model gamma must be in (0, 1), got {gamma}")
        if candidates < 1:
            raise ConfigError(f"gene model candidates must be at least 1, got {candidates}")
        self.share, self.until, self.gamma, self.candidates = share, until, gamma, candidates

    def propose(self, manager: PopulationManager, n: int, rng: np.random.Generator, taken: set[Genotype]) -> list[Offspring]:
        """Up to ``round(n * share)`` unseen canonical forms, highest good-to-bad ratio first.

        Nothing while the archive has fewer than two measured members or at least ``until``
        evaluations. ``candidates * n`` genotypes are drawn from ``rng`` (one array per gene), put
        in canonical form, and the unevaluated ones not in ``taken`` kept, each once, by
        descending ratio (ties: the earlier draw). Each one's parent is the good group's member
        fewest genes away (the better ranked of equals): what an evaluator that inherits weights
        (network surgery) starts from.
        """
        n = round(n * self.share)
        members = [ind for ind in manager.archive.values() if ind.ok]
        if n == 0 or len(members) < 2 or len(manager.archive) >= self.until:
            return []
        ranks, crowding = manager.rank_and_crowding(members)
        order = np.lexsort(([ind.uid for ind in members], -crowding, ranks))
        good = min(max(1, math.ceil(self.gamma * len(members))), len(members) - 1)
        genes = np.array([manager.canonical(ind.genotype).genes for ind in members], dtype=np.int64)[order]
        cardinalities = manager.space.cardinalities
        better = gene_frequencies(genes[:good], cardinalities)
        worse = gene_frequencies(genes[good:], cardinalities)
        drawn = np.stack([rng.choice(len(p), size=self.candidates * n, p=p) for p in better], axis=1)
        scores = sum(np.log(better[i][drawn[:, i]] / worse[i][drawn[:, i]]) for i in range(len(better)))
        uids = [members[i].uid for i in order[:good]]
        chosen: dict[Genotype, Offspring] = {}
        evaluated = manager.canonical_forms
        for row in np.argsort(-scores, kind="stable"):
            key = manager.canonical(Genotype(manager.space.name, tuple(int(g) for g in drawn[row])))
            if key not in evaluated and key not in taken and key not in chosen:
                nearest = int(np.argmin((genes[:good] != np.array(key.genes)).sum(axis=1)))  # the better-ranked of equals
                chosen[key] = Offspring(key, (uids[nearest],), "gene-model")
                if len(chosen) == n:
                    break
        return list(chosen.values())


