"""Proxy screening: draw more offspring than will be evaluated, keep the best by a zero-cost proxy.

The zero-cost warm-up and move proposal of Abdelfattah et al., "Zero-Cost Proxies for Lightweight
NAS" (ICLR 2021): the population manager proposes ``factor`` times as many offspring as a generation
evaluates, a proxy scores the untrained network of each (milliseconds on a CPU), and only the best
go to the evaluator. It works with any evaluator, the table one included: the proxy scores the
network the space builds for the stated image shape (CIFAR's 3x32x32 and 10 classes, the shape of
the published benchmarks, by default), while the evaluator supplies the objectives.

A genotype's score is drawn from `evonas.streams.screen_seed` (the run's seed, the genotype's index), so it
depends on the run's seed and the architecture alone: the same whenever it is proposed, and after a
resume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evonas.errors import ConfigError
from evonas.genotype import Genotype
from evonas.populations.pipeline import Filter, Offspring
from evonas.proxies import PROXIES
from evonas.spaces.base import SearchSpace
from evonas.streams import screen_seed

if TYPE_CHECKING:
    from evonas.populations.manager import PopulationManager


@dataclass(frozen=True, kw_only=True)
class ScreenOptions:
    """Settings of proxy screening.

    Attributes:
        proxy: registered proxy name (`evonas.proxies.PROXIES`); higher scores are kept.
        factor: offspring drawn per offspring evaluated.
        num_classes, in_channels, image_size: the shape the scored networks are built for.
        batch_size: random images (standard normal, random labels) that data-dependent proxies score.
        widths: width and depth options of the space's network (its published ones by default).
        threads: torch threads while scoring (one is fastest for single small networks).
    """

    proxy: str
    factor: int = 4
    num_classes: int = 10
    in_channels: int = 3
    image_size: int = 32
    batch_size: int = 64
    widths: dict[str, int] = field(default_factory=dict)
    threads: int = 1

    def __post_init__(self) -> None:
        PROXIES[self.proxy]
        if self.factor < 1:
            raise ConfigError(f"--screen-factor must be at least 1, got {self.factor}")
        for name in ("num_classes", "in_channels", "image_size", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"screening {name} must be at least 1, got {getattr(self, name)}")


class ProxyScreen(Filter):
    """Scores proposed genotypes by a proxy and keeps the best of them: the screen of a `Pipeline`.

    Asks for ``options.factor`` times as many offspring as a generation evaluates.

    Args:
        space: the search space.
        options: the screening settings.
        seed: the run's seed.
    """

    def __init__(self, space: SearchSpace, options: ScreenOptions, seed: int) -> None:
        from evonas.measure.meter import network_options
        from evonas.proxies.scorer import ProxyScorer
        from evonas.training import use_threads

        use_threads(options.threads)
        self.space = space
        self.options = options
        self.seed = seed
        self.scorer = ProxyScorer(
            space,
            num_classes=options.num_classes,
            in_channels=options.in_channels,
            image_size=options.image_size,
            batch_size=options.batch_size,
            **network_options(space, options.widths, {}),
        )
        self._scores: dict[Genotype, float] = {}

    def score(self, genotype: Genotype) -> float:
        """The proxy's score of ``genotype`` (remembered: a genotype is scored once per run)."""
        if genotype not in self._scores:
            seed = screen_seed(self.seed, self.space.index(genotype))
            value = self.scorer.scores(genotype, seed, [self.options.proxy])[self.options.proxy]
            self._scores[genotype] = value if not math.isnan(value) else -math.inf
        return self._scores[genotype]

    def drawn(self, manager: PopulationManager, n: int) -> int:
        return n * self.options.factor

    def select(self, manager: PopulationManager, offspring: Sequence[Offspring], n: int) -> list[Offspring]:
        """The ``n`` offspring with the highest scores (ties: the earlier proposed), in the order proposed."""
        if len(offspring) <= n:
            return list(offspring)
        scores = [self.score(child.genotype) for child in offspring]
        best = sorted(range(len(offspring)), key=lambda i: (-scores[i], i))[:n]
        return [offspring[i] for i in sorted(best)]
