"""evonas.testing's conformance checks against every entry of every registry (parametrised from the registries
themselves, so a new space, operator, evaluator or strategy is checked the day it is registered), and each check
failing on a plug-in that breaks its contract."""

from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.evaluators import EVALUATORS, Evaluation, make_evaluator
from evonas.evaluators.strategies import STRATEGIES
from evonas.evaluators.strategies.spos import SPOS
from evonas.genotype import Genotype
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.operators.crossover import uniform_crossover
from evonas.operators.mutation import resample_mutation
from evonas.spaces import SPACES, get_space
from evonas.testing import check_crossover, check_evaluator, check_mutation, check_space, check_strategy
from tests.local_plugin import OnesEvaluator, ParitySpace

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Small networks for the spaces' forward pass (their published widths otherwise).
SPACE_WIDTHS = {"nb201": {"channels": 4, "cells_per_stage": 1}, "macro": {"channels": 4, "head_channels": 16}}
TINY_NET = {"channels": 4, "head_channels": 16}
TINY_TRAINING = {"data": "digits", "epochs": 1, "batch_size": 128}
# evaluator -> (space, sources, options): a cheap configuration each; the table one's table is made per session.
EVALUATOR_SETTINGS = {
    "table": ("macro", {"acc": "top1", "params": "params"}, {}),
    "supernet": ("macro", {"acc": "acc", "params": "params"}, {**TINY_TRAINING, "calibration_batches": 1, "widths": TINY_NET}),
    "train": ("macro", {"acc": "acc", "flops": "flops"}, {**TINY_TRAINING, "widths": TINY_NET}),
    "zero-cost": ("nb201", {"synflow": "synflow", "params": "params"}, {"proxy": "synflow", "data": "digits", "widths": SPACE_WIDTHS["nb201"]}),
    "surgery": ("surgery", {"acc": "acc", "params": "params"}, {"data": "digits", "steps": 4, "recovery_steps": 2, "batch_size": 32}),
}


def own(registry) -> list[str]:
    """The registry's names; installed plug-ins are left to their own packages' tests."""
    return [name for name in registry if registry.origin(name) is None]


@pytest.mark.parametrize("name", own(SPACES))
def test_every_space_conforms(name):
    check_space(get_space(name), widths=SPACE_WIDTHS.get(name))


@pytest.mark.parametrize(("registry", "check"), [(MUTATIONS, check_mutation), (CROSSOVERS, check_crossover)], ids=["mutation", "crossover"])
def test_every_operator_conforms_on_every_space_it_takes(registry, check):
    for name in own(registry):
        taken = []
        for space in own(SPACES):
            try:
                check(registry[name], get_space(space))
            except ConfigError:  # an operator of one space (network surgery's) refuses the others, in one line
                continue
            taken.append(space)
        assert taken, f"{registry.kind} {name!r} works on no registered space"


@pytest.mark.parametrize("name", own(STRATEGIES))
@pytest.mark.parametrize("space", ["macro", "surgery"])
def test_every_training_strategy_conforms(name, space):
    check_strategy(STRATEGIES[name], get_space(space))


@pytest.mark.parametrize("name", own(EVALUATORS))
def test_every_evaluator_conforms(name, synthetic_table):
    assert name in EVALUATOR_SETTINGS, f"give the evaluator {name!r} a cheap configuration in EVALUATOR_SETTINGS"
    space_name, sources, options = EVALUATOR_SETTINGS[name]
    if name == "table":
        options = {"table": str(synthetic_table)}
    space = get_space(space_name)
    check_evaluator(lambda state_dir: make_evaluator(name, space=space, sources=sources, state_dir=state_dir, options=options, seed=4), space, samples=1)


# -- each check fails on a plug-in that breaks its contract ------------------------------------------
class OffByOneStrings(ParitySpace):
    """Decodes a string to another genotype than the one it encodes."""

    def decode(self, text):
        genotype = super().decode(text)
        return genotype.replace(0, 1 - genotype.genes[0])


class GlobalSampling(ParitySpace):
    """Samples from numpy's global generator instead of its ``rng``."""

    def sample(self, rng):
        return Genotype(self.name, tuple(int(np.random.randint(2)) for _ in self.genes))


class LenientDecoding(ParitySpace):
    """Accepts any string (as all zeros) rather than naming what is wrong with it."""

    def decode(self, text):
        return super().decode(text) if set(text) <= {"0", "1"} and len(text) == len(self.genes) else Genotype(self.name, (0,) * len(self.genes))


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (OffByOneStrings(), "decodes to"),
        (GlobalSampling(), r"sample\(\) with the same rng gave .* then .* \(draw 0\): it must draw from its rng only"),
        (LenientDecoding(), "it must raise ArchitectureError"),
    ],
    ids=["decode-wrong", "global-random", "lenient-decode"],
)
def test_check_space_fails_on_a_broken_space(space, message):
    check_space(ParitySpace())
    with pytest.raises(AssertionError, match=message):
        check_space(space)


def in_place_mutation(genotype, space, *, rng):
    """Flips a gene of the genotype it is given (frozen, but not beyond reach) and returns it."""
    i = int(rng.integers(len(genotype.genes)))
    object.__setattr__(genotype, "genes", genotype.replace(i, 1 - genotype.genes[i]).genes)
    return genotype


def global_mutation(genotype, space, *, rng):
    return genotype.replace(0, int(np.random.randint(2)))


def out_of_range_mutation(genotype, space, *, rng):
    return genotype.replace(0, 2)


def identity_mutation(genotype, space, *, rng):
    return genotype


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (in_place_mutation, "changed its input in place"),
        (global_mutation, "must draw from its rng only"),
        (out_of_range_mutation, "is not a genotype of space 'parity'"),
        (identity_mutation, "changed none of 32 genotypes"),
    ],
    ids=["in-place", "global-random", "invalid", "no-op"],
)
def test_check_mutation_fails_on_a_broken_mutation(mutation, message):
    check_mutation(resample_mutation, ParitySpace())
    with pytest.raises(AssertionError, match=message):
        check_mutation(mutation, ParitySpace())


def in_place_crossover(a, b, space, *, rng):
    object.__setattr__(a, "genes", b.genes)
    return a, b


def single_child_crossover(a, b, space, *, rng):
    return (a,)


@pytest.mark.parametrize(
    ("crossover", "message"),
    [(in_place_crossover, "changed its parents in place"), (single_child_crossover, "not a pair of genotypes")],
    ids=["in-place", "one-child"],
)
def test_check_crossover_fails_on_a_broken_crossover(crossover, message):
    check_crossover(uniform_crossover, ParitySpace())
    with pytest.raises(AssertionError, match=message):
        check_crossover(crossover, ParitySpace())


class CountingEvaluator(OnesEvaluator):
    """Adds how many candidates it has measured to the accuracy: the result depends on what came before."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.count = 0

    def evaluate_one(self, candidate):
        self.count += 1
        evaluation = super().evaluate_one(candidate)
        return Evaluation({**evaluation.metrics, "acc": evaluation.metrics["acc"] + self.count})


class SilentEvaluator(OnesEvaluator):
    """Leaves out a metric it was asked for."""

    def evaluate_one(self, candidate):
        return Evaluation({"acc": 1.0})


class UnpicklableEvaluator(OnesEvaluator):
    """Holds a lambda, which a worker process cannot receive."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = lambda x: x


@pytest.mark.parametrize(
    ("evaluator", "message"),
    [
        (CountingEvaluator, "where the first evaluation gave"),
        (SilentEvaluator, r"lacks the metrics \['params'\]"),
    ],
    ids=["stateful", "missing-metric"],
)
def test_check_evaluator_fails_on_a_broken_evaluator(evaluator, message):
    space = ParitySpace()

    def factory(cls):
        return lambda state_dir: cls(space=space, sources={"acc": "acc", "params": "params"}, state_dir=state_dir)

    check_evaluator(factory(OnesEvaluator), space)
    with pytest.raises(AssertionError, match=message):
        check_evaluator(factory(evaluator), space)
    with pytest.raises(AssertionError, match="does not pickle.*lambda"):
        check_evaluator(factory(UnpicklableEvaluator), space)


class ForgetfulStrategy(SPOS):
    """Trains each sampled path once, twice or three times in turn, but its state does not say whose turn it is."""

    def __init__(self, space, *, admissible=None):
        super().__init__(space, admissible=admissible)
        self.calls = 0

    def paths(self, step, rng):
        self.calls += 1
        path = self.sample(rng)
        return [path] * (1 + self.calls % 3)


class SamplingAnything(SPOS):
    """Ignores the constraints (its ``admissible``)."""

    def paths(self, step, rng):
        return [self.space.sample(rng)]


@pytest.mark.parametrize(
    ("strategy", "message"),
    [(ForgetfulStrategy, "state\\(\\) misses something"), (SamplingAnything, "inadmissible path")],
    ids=["state-incomplete", "inadmissible"],
)
def test_check_strategy_fails_on_a_broken_strategy(strategy, message):
    space = get_space("macro")
    check_strategy(SPOS, space)
    with pytest.raises(AssertionError, match=message):
        check_strategy(strategy, space)
