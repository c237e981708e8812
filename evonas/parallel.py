"""One ``map`` over candidates through joblib: in-process, local processes (loky), or a Dask or Ray cluster.

Results come back in input order whatever the backend, and every task carries its own seed, so the
outcome of a run does not depend on the backend or the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from evonas.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("sequential", "loky", "threading", "dask", "ray")


@dataclass(frozen=True)
class Parallelism:
    """Where evaluations run.

    Attributes:
        backend: one of `BACKENDS`; "dask" needs a running ``dask.distributed.Client``, "ray" an
            installed ray (``pip install evonas[dask]`` / ``evonas[ray]``).
        jobs: number of workers (-1: one per core); 1 with "sequential" runs in this process.
    """

    backend: str = "sequential"
    jobs: int = 1

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.jobs == 0 or self.jobs < -1:
            raise ConfigError(f"jobs must be a positive number or -1, got {self.jobs}")

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``function`` applied to each item, yielded in order as results arrive."""
        if self.backend == "sequential" or self.jobs == 1:
            yield from map(function, items)
            return
        import joblib

        if self.backend == "ray":
            _register_ray()
        with joblib.parallel_config(backend=self.backend, n_jobs=self.jobs):
            yield from joblib.Parallel(return_as="generator")(joblib.delayed(function)(item) for item in items)


def _register_ray() -> Any:
    try:
        from ray.util.joblib import register_ray
    except ImportError:
        raise ConfigError("the ray backend needs ray: pip install 'evonas[ray]'") from None
    register_ray()
