from __future__ import annotations

import numpy as np
import pytest

from evonas.data import load_dataset
from evonas.errors import ConfigError
from evonas.evaluators import Candidate, make_evaluator
from evonas.measure.size import count_flops, count_params
from evonas.objectives import parse_objectives
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search, evaluation_seed
from evonas.spaces import get_space

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"channels": 4, "cells_per_stage": 1}


def evaluator(sources, **options):
    options = {"proxy": "synflow", "widths": SMALL, "data": "digits", **options}
    return make_evaluator("zero-cost", space=get_space("nb201"), sources=sources, state_dir=None, options=options, seed=3)


def candidates(n, seed=3):
    space = get_space("nb201")
    rng = np.random.default_rng(1)
    genotypes = [space.sample(rng) for _ in range(n)]
    return [Candidate(uid, g, space.encode(g), evaluation_seed(seed, uid)) for uid, g in enumerate(genotypes)]


def test_proxy_names_are_maximised_objectives_and_size_stays_minimised():
    directions = {o.name: o.direction for o in parse_objectives("synflow,params,naswot,flops")}
    assert directions == {"synflow": "max", "params": "min", "naswot": "max", "flops": "min"}


def test_scores_and_sizes_of_the_network_built_for_the_runs_data():
    zero_cost = evaluator({"synflow": "synflow", "params": "params", "flops": "flops"})
    batch = candidates(4)
    results = list(zero_cost.evaluate(batch))
    data = load_dataset("digits", seed=3)
    for candidate, result in zip(batch, results):
        network = get_space("nb201").build(candidate.genotype, num_classes=10, in_channels=1, image_size=8, **SMALL)
        assert result.metrics["params"] == count_params(network)
        assert result.metrics["flops"] == count_flops(network, (1, *data.x_train.shape[1:]))
    assert [r.metrics for r in zero_cost.evaluate(batch)] == [r.metrics for r in results]  # same candidate, same score
    assert len({r.metrics["synflow"] for r in results}) == 4


def test_latency_comes_from_the_network_meter():
    zero_cost = evaluator({"synflow": "synflow", "latency": "latency:measured"})
    assert zero_cost.meter.metrics == ("latency:measured",)
    result = next(zero_cost.evaluate(candidates(1)))
    assert result.metrics["latency"] > 0 and result.metrics["synflow"] > 0


def test_a_candidates_score_follows_its_own_seed():
    zero_cost = evaluator({"grad_norm": "grad_norm"}, proxy="grad_norm", batch_size=8)
    first, = candidates(1)
    again = Candidate(first.uid, first.genotype, first.arch, evaluation_seed(3, first.uid))
    other = Candidate(7, first.genotype, first.arch, evaluation_seed(3, 7))
    scores = [next(zero_cost.evaluate([c])).metrics["grad_norm"] for c in (first, again, other)]
    assert scores[0] == scores[1] != scores[2]


def test_a_network_without_signal_is_a_failed_evaluation():
    space = get_space("nb201")
    genotype = space.decode("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    result = next(evaluator({"naswot": "naswot"}, proxy="naswot").evaluate(
        [Candidate(0, genotype, space.encode(genotype), evaluation_seed(0, 0))]))
    assert result.status == "failed"


@pytest.mark.parametrize(
    "sources,options,message",
    [
        ({"synflow": "synflow"}, {"proxy": None}, "needs --proxy NAME"),
        ({"synflow": "synflow"}, {"proxy": "magic"}, "unknown proxy 'magic'"),
        ({"acc": "acc"}, {}, "measures synflow, params, flops, latency, latency:measured, not acc"),
        ({"synflow": "synflow"}, {"widths": {"depth": 3}}, "space 'nb201' does not take width options"),
        ({"synflow": "synflow"}, {"threads": 0}, "--threads must be at least 1"),
        ({"synflow": "synflow"}, {"batch_size": 1}, "--batch-size must be at least 2"),
        ({"synflow": "synflow"}, {"table": "x.csv"}, "does not take --table"),
    ],
)
def test_bad_options_are_config_errors(sources, options, message):
    with pytest.raises(ConfigError, match=message):
        evaluator(sources, **options)


def test_a_zero_cost_search_with_size_objectives_resumes_to_the_same_front(tmp_path):
    config = RunConfig(
        space="nb201", evaluator="zero-cost", evaluator_options={"proxy": "synflow", "widths": SMALL, "data": "digits"},
        objectives=("synflow", "params"), search=SearchOptions(population=4), generations=2, seed=5,
    )
    whole = Search.start(config, tmp_path / "whole")
    whole.run()
    cut = Search.start(config, tmp_path / "cut")
    cut.step()
    cut.close()  # as the process ending would
    Search.resume(tmp_path / "cut").run()
    front = (tmp_path / "whole" / "front.csv").read_text()
    assert (tmp_path / "cut" / "front.csv").read_text() == front
    assert front.splitlines()[0] == "arch,synflow,params" and len(front.splitlines()) > 1
