"""The zero-cost evaluator: scores each candidate's untrained network with a zero-cost proxy (no training)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from evonas.errors import ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.proxies import PROXIES
from evonas.spaces.base import SearchSpace

SIZE_METRICS = ("params", "flops")


class ZeroCostEvaluator(Evaluator):
    """A proxy's score of the network the space builds for the run's data, and that network's size.

    Metrics it supplies: the proxy (named after it, higher is better: ``--objectives synflow``),
    ``params`` and ``flops``. Each candidate's network weights and batch are drawn from its own
    ``Candidate.seed``, so a candidate's score depends on the run's seed and its uid alone. A
    non-finite score (a network with no path from input to output) is a failed evaluation.

    Args:
        proxy: registered proxy name (`evonas.proxies.PROXIES`).
        data: the run's data: the network is built for its image shape and classes, and
            data-dependent proxies score a batch of its training split ("digits", a ``.npz`` file
            or a folder of class folders; see `evonas.data.load_dataset`).
        batch_size: images in that batch.
        widths: width and depth options of the space's network (its published ones by default,
            the size at which the proxies were validated).
        threads: torch threads while scoring; one is fastest for single small networks, and on a
            busy machine more threads can be many times slower.
    """

    name = "zero-cost"
    description = "score untrained networks with a zero-cost proxy (--proxy synflow, naswot, ...)"

    def __init__(
        self,
        *,
        space: SearchSpace,
        sources: Mapping[str, str],
        state_dir: Path | None = None,
        seed: int = 0,
        proxy: str | None = None,
        data: str = "digits",
        batch_size: int = 64,
        widths: Mapping[str, int] | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        if not proxy:
            raise ConfigError(f"the zero-cost evaluator needs --proxy NAME (one of: {', '.join(PROXIES)})")
        PROXIES[proxy]
        supplied = (proxy, *SIZE_METRICS)
        unknown = sorted({s for s in self.sources.values() if s not in supplied})
        if unknown:
            raise ConfigError(
                f"the zero-cost evaluator with --proxy {proxy} measures {', '.join(supplied)}, not {', '.join(unknown)}"
            )
        if batch_size < 2:
            raise ConfigError(f"--batch-size must be at least 2, got {batch_size}")
        if threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {threads}")
        import torch

        from evonas.data import load_dataset
        from evonas.proxies.scorer import ProxyScorer

        dataset = load_dataset(data, seed=seed)
        self.proxy = proxy
        self.threads = threads
        self.scorer = ProxyScorer(
            space,
            num_classes=dataset.num_classes,
            in_channels=dataset.in_channels,
            image_size=dataset.image_size,
            images=dataset.x_train,
            labels=dataset.y_train,
            batch_size=batch_size,
            network_options=widths,
        )
        try:
            self.scorer.network(space.from_index(0), torch.Generator())
        except TypeError as error:
            raise ConfigError(f"--widths {dict(widths or {})} do not fit the {space.name} network: {error}") from None

    def prepare(self, *, progress: bool = True) -> None:
        import torch

        torch.set_num_threads(self.threads)

    def evaluate(self, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        measured = list(dict.fromkeys(self.sources.values()))
        for candidate in candidates:
            scores = self.scorer.scores(candidate.genotype, candidate.seed, measured)
            metrics = {name: scores[source] for name, source in self.sources.items()}
            yield Evaluation(metrics, status="ok" if all(math.isfinite(v) for v in metrics.values()) else "failed")
