from __future__ import annotations

import math

import pytest

from evonas.genotype import Genotype, Individual


def test_genotype_is_frozen_hashable_and_compares_by_value():
    a = Genotype("macro", (0, 1, 2, 0, 1, 2, 0, 1))
    b = Genotype("macro", [0, 1, 2, 0, 1, 2, 0, 1])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.genes = (0,) * 8  # type: ignore[misc]
    assert Genotype("nb201", a.genes[:6]) != Genotype("macro", a.genes[:6])


def test_replace_returns_a_copy():
    a = Genotype("macro", (0,) * 8)
    b = a.replace(3, 2)
    assert a.genes == (0,) * 8 and b.genes == (0, 0, 0, 2, 0, 0, 0, 0)


def test_str_is_the_canonical_string_of_its_space():
    assert str(Genotype("macro", (0, 1, 2, 0, 1, 2, 0, 1))) == "01201201"
    assert str(Genotype("nb201", (3, 3, 0, 1, 2, 4))) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def test_individual_json_round_trip_keeps_failed_metrics_as_nan():
    g = Genotype("macro", (1,) * 8)
    ind = Individual(7, g, "11111111", {"acc": 91.5, "params": math.nan}, 3, (1, 2), "uniform+resample", "failed", 0.25)
    data = ind.to_json()
    assert data["metrics"]["params"] is None  # strict JSON, no NaN token
    back = Individual.from_json(data, "macro")
    assert back.uid == 7 and back.genotype == g and back.parents == (1, 2) and back.metrics["acc"] == 91.5
    assert math.isnan(back.metrics["params"]) and not back.ok
