"""The zero-cost evaluator: scores each candidate's untrained network with a zero-cost proxy (no training)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from evonas.data import data_input, load_dataset
from evonas.errors import ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.supernet import DEFAULT_DATA
from evonas.measure.meter import NETWORK_METRICS, NetworkMeter, network_options
from evonas.proxies import PROXIES
from evonas.proxies.scorer import ProxyScorer
from evonas.spaces.base import SearchSpace
from evonas.training import use_threads


class ZeroCostEvaluator(Evaluator):
    """A proxy's score of the network the space builds for the run's data, and that network's size and latency.

    Metrics it supplies: the proxy (named after it, higher is better: ``--objectives synflow``) and
    the network metrics of `NetworkMeter` (``params``, ``flops``, ``latency``, ``latency:measured``).
    Each candidate's initial weights and batch are drawn from its own ``Candidate.seed``, so a
    candidate's score depends on the run's seed and its uid alone. A non-finite score (a network
    with no path from input to output) is a failed evaluation.

    Args:
        proxy: registered proxy name (`evonas.proxies.PROXIES`).
        data: the run's data: the network is built for its image shape and classes, and
            data-dependent proxies score a batch of its training split (see `evonas.data.load_dataset`).
        batch_size: images in that batch.
        widths: width and depth options of the space's network (its published ones by default,
            the size at which the proxies were validated).
        threads: torch's thread count for this process (set on construction); one is fastest for
            single small networks, and on a busy machine more threads can be many times slower.
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
        data: str = DEFAULT_DATA,
        batch_size: int = 64,
        widths: Mapping[str, int] | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        if not proxy:
            raise ConfigError(f"the zero-cost evaluator needs --proxy NAME (one of: {', '.join(PROXIES)})")
        PROXIES[proxy]
        supplied = (proxy, *NETWORK_METRICS)
        unknown = sorted({s for s in self.sources.values() if s not in supplied})
        if unknown:
            raise ConfigError(
                f"the zero-cost evaluator with --proxy {proxy} measures {', '.join(supplied)}, not {', '.join(unknown)}"
            )
        if batch_size < 2:
            raise ConfigError(f"--batch-size must be at least 2, got {batch_size}")
        use_threads(threads)
        self.threads = threads
        dataset = load_dataset(data, seed=seed)
        self.data_source = data
        shape = {"num_classes": dataset.num_classes, "in_channels": dataset.in_channels, "image_size": dataset.image_size}
        build_options = {**shape, **network_options(space, widths, {})}
        self.proxy = proxy
        self.scorer = ProxyScorer(
            space, **build_options, images=dataset.x_train, labels=dataset.y_train, batch_size=batch_size
        )
        self.meter = NetworkMeter(space, build_options, [s for s in dict.fromkeys(self.sources.values()) if s != proxy], state_dir)

    def prepare(self, *, progress: bool = True) -> None:
        self.meter.prepare(progress=progress)

    def inputs(self) -> dict[str, Path | str]:
        return {"data": data_input(self.data_source)}

    def on_worker(self) -> None:
        use_threads(self.threads)

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        measured = {**self.meter.measure(candidate.genotype), **self.scorer.scores(candidate.genotype, candidate.seed, [self.proxy])}
        metrics = {name: measured[source] for name, source in self.sources.items()}
        return Evaluation(metrics, status="ok" if all(math.isfinite(v) for v in metrics.values()) else "failed")
