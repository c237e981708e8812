from __future__ import annotations

import math

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.objectives import (
    Objective,
    metric_sources,
    minimisation_matrix,
    parse_constraint,
    parse_objectives,
    total_violation,
)


def test_default_directions_and_column_mapping():
    objectives = parse_objectives("acc=cifar10_test_acc,latency=latency_fpga_ms,params,size,flops,accuracy")
    assert objectives[0] == Objective("acc", "cifar10_test_acc", "max")
    assert objectives[1] == Objective("latency", "latency_fpga_ms", "min")
    assert [o.direction for o in objectives[2:]] == ["min", "min", "min", "max"]


def test_explicit_direction_and_metric_variants():
    a, b, c = parse_objectives(["energy=joules:min", "latency:measured", "score:max"])
    assert a == Objective("energy", "joules", "min")
    assert b == Objective("latency", "latency:measured", "min")
    assert c == Objective("score", "score", "max")
    assert parse_objectives(a.spec + "," + b.spec) == (a, b)  # spec round-trips


@pytest.mark.parametrize(
    "spec,message",
    [
        ("energy", "no default direction"),
        ("acc=", "ill-formed"),
        ("=col", "ill-formed"),
        ("acc:min:max", "direction twice"),
        ("acc,acc=other", "named twice"),
        ("acc:fast!", "ill-formed"),
        ("", "no objectives"),
    ],
)
def test_bad_specs_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_objectives(spec)


def test_constraints_parse_and_measure_relative_violation():
    c = parse_constraint("latency <= 5")
    assert (c.metric, c.operator, c.limit) == ("latency", "<=", 5.0)
    assert c.violation(4.0) == 0 and c.violation(6.0) == pytest.approx(0.2)
    floor = parse_constraint("acc>90")
    assert floor.violation(99) == 0 and floor.violation(81) == pytest.approx(0.1)
    assert math.isinf(c.violation(math.nan))
    assert parse_constraint(c.spec) == c
    for bad in ("latency=5", "latency<=", "<=5", "latency<=five", "latency<=inf"):
        with pytest.raises(ConfigError):
            parse_constraint(bad)


def test_sources_matrix_and_violation():
    objectives = parse_objectives("acc=col_a,params")
    constraints = [parse_constraint("latency<=2"), parse_constraint("params<=100")]
    assert metric_sources(objectives, constraints) == {"acc": "col_a", "params": "params", "latency": "latency"}
    metrics = [{"acc": 90.0, "params": 50.0, "latency": 3.0}]
    np.testing.assert_array_equal(minimisation_matrix(metrics, objectives), [[-90.0, 50.0]])
    assert total_violation(metrics[0], constraints) == pytest.approx(0.5)
