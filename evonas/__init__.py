"""evonas: multi-objective evolutionary neural architecture search.

The public API (README, "Python API"): define a `Space`, evaluate with a function ``f(genotype, context)``
or an `Evaluator` subclass, and run `evolve`, or drive the evaluations yourself with `open_run`'s
``ask``/``tell``. The names below are imported on first use, so ``import evonas`` stays light (no torch).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "evolve": "evonas.api",
    "open_run": "evonas.api",
    "Space": "evonas.api",
    "Run": "evonas.api",
    "Result": "evonas.api",
    "EvaluationContext": "evonas.evaluators.function",
    "FunctionEvaluator": "evonas.evaluators.function",
    "Evaluator": "evonas.evaluators.base",
    "Candidate": "evonas.evaluators.base",
    "Evaluation": "evonas.evaluators.base",
    "SearchSpace": "evonas.spaces.base",
    "Gene": "evonas.spaces.base",
    "Genotype": "evonas.genotype",
    "Individual": "evonas.genotype",
    "Objective": "evonas.objectives",
    "Constraint": "evonas.objectives",
    "SearchOptions": "evonas.populations.manager",
    "Pipeline": "evonas.populations.pipeline",
    "EvonasError": "evonas.errors",
    "ConfigError": "evonas.errors",
    "CheckpointError": "evonas.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evonas' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
