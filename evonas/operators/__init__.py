"""Variation operators: pure functions of genotypes; one line per operator in its registry."""

from __future__ import annotations

from evonas.registry import Registry

__all__ = ["CROSSOVERS", "MUTATIONS"]

MUTATIONS = Registry(
    "mutation",
    {
        "resample": "evonas.operators.mutation:resample_mutation",
        "neighbour": "evonas.operators.mutation:neighbour_mutation",
        "edit": "evonas.operators.surgery:edit_mutation",
        "deepen": "evonas.operators.surgery:deepen",
        "widen": "evonas.operators.surgery:widen",
        "grow-kernel": "evonas.operators.surgery:grow_kernel",
        "remove-layer": "evonas.operators.surgery:remove_layer",
        "narrow": "evonas.operators.surgery:narrow",
    },
)

CROSSOVERS = Registry(
    "crossover",
    {
        "uniform": "evonas.operators.crossover:uniform_crossover",
        "two-point": "evonas.operators.crossover:two_point_crossover",
        "layers": "evonas.operators.surgery:layer_crossover",
    },
)
