"""Supernet training strategies: one module per strategy, one line per strategy in `STRATEGIES`."""

from __future__ import annotations

from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy
from evonas.registry import Registry

__all__ = ["STRATEGIES", "TrainingStep", "TrainingStrategy"]

STRATEGIES = Registry(
    "strategy",
    {
        "spos": "evonas.evaluators.strategies.spos:SPOS",
    },
)
