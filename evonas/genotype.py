"""The two records every part of evonas passes around: a `Genotype` and an evaluated `Individual`."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Genotype:
    """An architecture: one choice index per gene of the named search space.

    Immutable and hashable, so genotypes serve as archive keys. ``str(genotype)`` is the space's
    canonical string (the published encoding where there is one).
    """

    space: str
    genes: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "genes", tuple(int(g) for g in self.genes))

    def replace(self, index: int, choice: int) -> Genotype:
        """Returns a copy with gene ``index`` set to ``choice``."""
        genes = list(self.genes)
        genes[index] = choice
        return Genotype(self.space, tuple(genes))

    def __str__(self) -> str:
        from evonas.spaces import get_space

        return get_space(self.space).encode(self)


@dataclass(frozen=True)
class Individual:
    """A genotype with what evaluating it gave and where it came from.

    Attributes:
        uid: run-wide identifier, in order of creation.
        genotype: the architecture.
        arch: its canonical string.
        metrics: metric name -> value, for every objective and constraint of the run.
        generation: the generation in which it was created and evaluated.
        parents: uids of its parents (empty for sampled ones).
        operator: the variation that made it ("sample", "uniform+resample", ...).
        status: "ok", or "failed: <reason>" when it could not be measured (see `evonas.parallel`).
        seconds: wall time its evaluation took.
    """

    uid: int
    genotype: Genotype
    arch: str
    metrics: dict[str, float] = field(compare=False)
    generation: int = 0
    parents: tuple[int, ...] = ()
    operator: str = "sample"
    status: str = "ok"
    seconds: float = 0.0

    @functools.cached_property
    def ok(self) -> bool:
        return self.status == "ok" and all(math.isfinite(v) for v in self.metrics.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "arch": self.arch,
            "genes": list(self.genotype.genes),
            "metrics": {k: (v if math.isfinite(v) else None) for k, v in self.metrics.items()},
            "generation": self.generation,
            "parents": list(self.parents),
            "operator": self.operator,
            "status": self.status,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], space: str) -> Individual:
        return cls(
            uid=int(data["uid"]),
            genotype=Genotype(space, tuple(data["genes"])),
            arch=data["arch"],
            metrics={k: math.nan if v is None else float(v) for k, v in data["metrics"].items()},
            generation=int(data["generation"]),
            parents=tuple(int(p) for p in data["parents"]),
            operator=data["operator"],
            status=data["status"],
            seconds=float(data["seconds"]),
        )
