from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.evaluators import Candidate, make_evaluator
from evonas.spaces import get_space

SPACE = get_space("macro")
TINY = {"data": "digits", "epochs": 1, "batch_size": 128, "widths": {"channels": 4, "head_channels": 16}}


def evaluator(**changes):
    return make_evaluator("train", space=SPACE, sources={"acc": "acc", "flops": "flops"}, state_dir=None,
                          options={**TINY, **changes})


def candidates(stream):
    genotypes = [SPACE.decode(a) for a in ("00000000", "12121212")]
    return [Candidate(i, g, SPACE.encode(g), np.random.SeedSequence(stream, spawn_key=(1, i))) for i, g in enumerate(genotypes)]


def test_training_depends_on_the_candidates_seed():
    ev = evaluator()
    first = [e.metrics for e in ev.evaluate(candidates(0))]
    assert [e.metrics for e in ev.evaluate(candidates(0))] == first  # (in worker processes: tests/test_parallel.py)
    other = [e.metrics["acc"] for e in ev.evaluate(candidates(1))]
    assert other != [m["acc"] for m in first]
    assert first[0]["flops"] < first[1]["flops"]


def test_the_train_evaluator_rejects_supernet_only_options():
    with pytest.raises(ConfigError, match="evaluator 'train' does not take --strategy"):
        evaluator(strategy="spos")
    with pytest.raises(ConfigError, match="evaluator 'train' does not take --jobs"):
        evaluator(jobs=2)  # how candidates are spread over workers is the search's, not the evaluator's
