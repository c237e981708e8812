"""Evaluators: one module per family, one line per evaluator in `EVALUATORS`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evonas.errors import ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.objectives import Constraint
from evonas.registry import Registry
from evonas.spaces.base import SearchSpace

__all__ = ["EVALUATORS", "Candidate", "Evaluation", "Evaluator", "make_evaluator"]

EVALUATORS = Registry(
    "evaluator",
    {
        "table": "evonas.evaluators.table:TableEvaluator",
        "supernet": "evonas.evaluators.supernet:SupernetEvaluator",
        "train": "evonas.evaluators.train:TrainEvaluator",
        "zero-cost": "evonas.evaluators.zero_cost:ZeroCostEvaluator",
        "surgery": "evonas.evaluators.surgery:SurgeryEvaluator",
    },
    group="evonas.evaluators",
)


def make_evaluator(
    name: str,
    *,
    space: SearchSpace,
    sources: Mapping[str, str],
    state_dir: Path | None,
    options: Mapping[str, Any],
    seed: int = 0,
    constraints: Sequence[Constraint] = (),
) -> Evaluator:
    """Builds the evaluator registered as ``name``, telling it the run's ``constraints``; an option it
    does not take is a `ConfigError`."""
    cls = EVALUATORS[name]
    if not (isinstance(cls, type) and issubclass(cls, Evaluator)):
        raise ConfigError(f"evaluator {name!r} is {cls!r}, not a subclass of evonas.evaluators.Evaluator")
    accepted = {
        p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    } - {"space", "sources", "state_dir", "seed"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"evaluator {name!r} does not take {', '.join('--' + u.replace('_', '-') for u in unknown)}"
            f" (it takes: {', '.join('--' + a.replace('_', '-') for a in sorted(accepted)) or 'no options'})"
        )
    evaluator = cls(space=space, sources=sources, state_dir=state_dir, seed=seed, **options)
    evaluator.constraints = tuple(constraints)
    return evaluator
