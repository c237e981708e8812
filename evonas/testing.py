"""Conformance checks for plug-ins: what evonas relies on from a space, an operator, an evaluator or a
training strategy, checked on the plug-in itself.

evonas runs them against every entry of its own registries (``tests/test_conformance.py``), so a new
space, operator, evaluator or strategy is checked the day it is registered. A plug-in's author runs
them in their own tests::

    # tests/test_my_plugin.py of the package that declares the plug-ins
    from evonas.testing import check_crossover, check_evaluator, check_mutation, check_space, check_strategy
    from my_plugin import MyEvaluator, MySpace, MyStrategy, my_crossover, my_mutation

    def test_my_space():
        check_space(MySpace())                      # add widths={...} to build its networks small

    def test_my_operators():
        check_mutation(my_mutation, MySpace())
        check_crossover(my_crossover, MySpace())

    def test_my_evaluator():
        space = MySpace()
        check_evaluator(lambda state_dir: MyEvaluator(space=space, sources={"acc": "acc"}, state_dir=state_dir), space)

    def test_my_strategy():
        check_strategy(MyStrategy, MySpace())

Each check returns None or raises `AssertionError` saying what broke the contract, with the genotype
or step it broke on. The random draws are fixed by ``seed``; Python's and numpy's global generators
are reseeded between two calls that must agree (and restored afterwards), so a plug-in that draws
from them rather than from the ``rng`` it is given fails.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import pickle
import random
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evonas.errors import ArchitectureError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy
from evonas.genotype import Genotype
from evonas.spaces.base import Gene, SearchSpace
from evonas.streams import evaluation_seed

__all__ = ["check_crossover", "check_evaluator", "check_mutation", "check_space", "check_strategy"]

NOT_AN_ARCHITECTURE = "\x00?not an architecture?\x00"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


@contextlib.contextmanager
def _global_generators_seeded(seed: int) -> Iterator[None]:
    """Python's and numpy's global generators seeded with ``seed`` inside, as they were outside."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _twice(call: Callable[[], Any]) -> tuple[Any, Any]:
    """``call()`` twice, with the global generators in two different states."""
    with _global_generators_seeded(1):
        first = call()
    with _global_generators_seeded(2):
        second = call()
    return first, second


def _valid(space: SearchSpace, genotype: Any, what: str) -> Genotype:
    _require(isinstance(genotype, Genotype), f"{what} is {genotype!r}, not a Genotype")
    try:
        space.validate(genotype)
    except ArchitectureError as error:
        raise AssertionError(f"{what} {genotype.genes} is not a genotype of space {space.name!r}: {error}") from None
    return genotype


def _genotypes(space: SearchSpace, samples: int, seed: int) -> list[Genotype]:
    """``samples`` sampled genotypes of ``space`` and the canonical forms of as many drawn uniformly from all of
    it (which `sample` may not reach: a space may sample small networks only)."""
    rng = np.random.default_rng(seed)
    sampled = [space.sample(rng) for _ in range(samples)]
    uniform = [Genotype(space.name, tuple(int(rng.integers(len(gene))) for gene in space.genes)) for _ in range(samples)]
    return sampled + [space.canonical(genotype) for genotype in uniform]


# -- spaces ------------------------------------------------------------------------------------------
def check_space(
    space: SearchSpace,
    *,
    samples: int = 16,
    seed: int = 0,
    widths: Mapping[str, Any] | None = None,
    image_size: int = 16,
    in_channels: int = 3,
) -> None:
    """Checks a search space: its genes, sampling, strings, canonical forms, default operators and networks.

    - ``name`` is a plain word (genotypes carry it), ``genes`` a non-empty tuple of `Gene` with choices;
    - `sample` draws valid genotypes from its ``rng`` alone (the same seed, the same genotypes) and more than one;
    - ``decode(encode(g))`` encodes back to the same string and has the same canonical form as ``g``; a canonical
      genotype survives the round trip unchanged; ``decode`` of a string that is no architecture raises
      `ArchitectureError`; `canonical` gives valid genotypes and is idempotent; `from_index` inverts `index`;
    - the operators the space asks for (``default_operators``, else the search's defaults) pass
      `check_mutation` and `check_crossover` on it;
    - if the space builds networks: ``build`` gives a module whose forward pass on a batch of two
      ``in_channels x image_size x image_size`` images gives finite logits of the right shape, and the same
      module twice (weights from the default generator). ``widths`` are the space's width options (small
      ones keep the check fast).
    """
    from evonas.operators import CROSSOVERS, MUTATIONS
    from evonas.populations.manager import SearchOptions

    _require(isinstance(space, SearchSpace), f"{space!r} is not a SearchSpace")
    name = getattr(space, "name", None)
    _require(isinstance(name, str) and bool(name) and ":" not in name and not name.isspace(),
             f"a space's name must be a plain non-empty word (genotypes carry it), got {name!r}")
    _require(isinstance(getattr(space, "description", None), str), f"space {name!r} has no description string")
    genes = getattr(space, "genes", None)
    _require(isinstance(genes, tuple) and len(genes) > 0, f"space {name!r}: genes must be a non-empty tuple, got {genes!r}")
    for gene in genes:
        _require(isinstance(gene, Gene) and len(gene.choices) > 0, f"space {name!r}: {gene!r} is not a Gene with choices")
    _require(space.size == math.prod(len(g) for g in genes), f"space {name!r}: size {space.size} is not the product of its genes' choices")

    def draw() -> list[Genotype]:
        rng = np.random.default_rng(seed)
        return [space.sample(rng) for _ in range(samples)]

    first, second = _twice(draw)
    differ = next((i for i, (a, b) in enumerate(zip(first, second)) if a != b), None)
    _require(differ is None, f"space {name!r}: sample() with the same rng gave {first[differ or 0].genes} then {second[differ or 0].genes} "
             f"(draw {differ}): it must draw from its rng only")
    for genotype in first:
        _valid(space, genotype, "a sampled genotype")
    _require(space.size == 1 or samples < 4 or len(set(first)) > 1, f"space {name!r}: {samples} samples were all {first[0].genes}")

    for genotype in _genotypes(space, samples, seed):
        try:
            _check_strings(space, genotype)
        except ArchitectureError as error:
            raise AssertionError(f"space {name!r}: the strings of {genotype.genes} do not round-trip: {error}") from None
    try:
        space.decode(NOT_AN_ARCHITECTURE)
    except ArchitectureError:
        pass
    except Exception as error:
        raise AssertionError(f"space {name!r}: decode of a string that is no architecture raised {error!r}, not an ArchitectureError") from None
    else:
        raise AssertionError(f"space {name!r}: decode({NOT_AN_ARCHITECTURE!r}) gave a genotype; it must raise ArchitectureError")

    check_mutation(MUTATIONS[space.default_operators.get("mutation", SearchOptions.mutation)], space, samples=samples, seed=seed)
    check_crossover(CROSSOVERS[space.default_operators.get("crossover", SearchOptions.crossover)], space, samples=samples, seed=seed)
    if type(space).network is not SearchSpace.network:
        for genotype in first[:2]:
            _check_network(space, genotype, dict(widths or {}), image_size, in_channels)


def _check_strings(space: SearchSpace, genotype: Genotype) -> None:
    text = space.encode(genotype)
    _require(isinstance(text, str), f"space {space.name!r}: encode({genotype.genes}) gave {text!r}, not a string")
    decoded = _valid(space, space.decode(text), f"decode({text!r})")
    _require(space.encode(decoded) == text, f"space {space.name!r}: {text!r} decodes to {decoded.genes}, which encodes to {space.encode(decoded)!r}")
    canonical = _valid(space, space.canonical(genotype), f"canonical({genotype.genes})")
    _require(space.canonical(canonical) == canonical, f"space {space.name!r}: canonical() is not idempotent on {genotype.genes}")
    _require(space.canonical(decoded) == canonical,
             f"space {space.name!r}: {genotype.genes} encodes to {text!r}, which decodes to {decoded.genes}, another network")
    again = space.decode(space.encode(canonical))
    _require(again == canonical, f"space {space.name!r}: the canonical {canonical.genes} comes back from its string as {again.genes}")
    _require(space.from_index(space.index(genotype)) == genotype, f"space {space.name!r}: from_index(index(g)) != g for {genotype.genes}")


def _check_network(space: SearchSpace, genotype: Genotype, widths: dict[str, Any], image_size: int, in_channels: int) -> None:
    import torch

    classes = 3
    shape = {"num_classes": classes, "in_channels": in_channels, "image_size": image_size}
    images = torch.randn(2, in_channels, image_size, image_size, generator=torch.Generator().manual_seed(0))
    outputs = []
    for _ in range(2):
        network = space.build(genotype, **shape, **widths)
        _require(isinstance(network, torch.nn.Module), f"space {space.name!r}: build({genotype.genes}) gave a {type(network).__name__}, not a torch module")
        with torch.no_grad():
            outputs.append(network.eval()(images))
    logits = outputs[0]
    _require(tuple(logits.shape) == (2, classes), f"space {space.name!r}: the network of {genotype.genes} gives outputs of shape {tuple(logits.shape)}, not (2, {classes})")
    _require(bool(torch.isfinite(logits).all()), f"space {space.name!r}: the network of {genotype.genes} gives non-finite outputs")
    _require(torch.equal(outputs[0], outputs[1]), f"space {space.name!r}: two builds of {genotype.genes} compute different functions")


# -- operators ---------------------------------------------------------------------------------------
def check_mutation(mutation: Callable[..., Genotype], space: SearchSpace, *, samples: int = 16, seed: int = 0) -> None:
    """Checks ``mutation(genotype, space, *, rng) -> Genotype`` on ``space``: each result is a valid genotype, the
    input is left as it was, the same ``rng`` seed gives the same result (whatever the global generators), and
    it changes at least one of the genotypes it is given."""
    what = getattr(mutation, "__name__", repr(mutation))
    changed = 0
    for i, genotype in enumerate(_genotypes(space, samples, seed)):
        before = genotype.genes

        def mutated(genotype: Genotype = genotype, before: tuple[int, ...] = before, i: int = i) -> Genotype:
            child = mutation(genotype, space, rng=np.random.default_rng([seed, i]))
            _require(genotype.genes == before, f"mutation {what} changed its input in place: {before} became {genotype.genes}")
            return child

        first, second = _twice(mutated)
        _valid(space, first, f"mutation {what} of {before}")
        _require(first == second, f"mutation {what} of {before} with the same rng gave {first.genes} then {second.genes}: it must draw from its rng only")
        changed += first != genotype
    _require(changed > 0, f"mutation {what} changed none of {2 * samples} genotypes of space {space.name!r}")


def check_crossover(crossover: Callable[..., tuple[Genotype, Genotype]], space: SearchSpace, *, samples: int = 16, seed: int = 0) -> None:
    """Checks ``crossover(a, b, space, *, rng) -> (child, child)`` on ``space``: two valid children, the parents
    left as they were, and the same ``rng`` seed giving the same children (whatever the global generators)."""
    what = getattr(crossover, "__name__", repr(crossover))
    pool = _genotypes(space, samples, seed)
    for i, (a, b) in enumerate(zip(pool, pool[1:] + pool[:1])):
        before = (a.genes, b.genes)

        def crossed(a: Genotype = a, b: Genotype = b, before: tuple = before, i: int = i) -> Any:
            children = crossover(a, b, space, rng=np.random.default_rng([seed, i]))
            _require((a.genes, b.genes) == before, f"crossover {what} changed its parents in place: {before} became {(a.genes, b.genes)}")
            return children

        first, second = _twice(crossed)
        _require(isinstance(first, tuple) and len(first) == 2, f"crossover {what} gave {first!r}, not a pair of genotypes")
        for child in first:
            _valid(space, child, f"a child of crossover {what} of {before}")
        _require(first == second, f"crossover {what} of {before} with the same rng gave {first} then {second}: it must draw from its rng only")


# -- evaluators --------------------------------------------------------------------------------------
def check_evaluator(
    factory: Callable[[Path], Evaluator], space: SearchSpace, *, samples: int = 3, seed: int = 0, rtol: float = 0.0
) -> None:
    """Checks an evaluator that ``factory(state_dir)`` builds (with its sources and options) for ``space``.

    - after ``prepare``, `evaluate_one` of sampled candidates gives an `Evaluation` with status ``ok`` and a
      finite number for every metric of ``sources``; `evaluate` gives the same in order;
    - the result depends only on the evaluator's state and the candidate (its seed): the same candidate
      again, the evaluator pickled and unpickled (what a worker process gets), another evaluator from the
      factory prepared in a state folder of its own, and one built on the first one's state folder (which
      `prepare` resumes from) all give the same metrics, within ``rtol`` (0: exactly; a measured latency
      needs some);
    - `inputs` names files, folders or embedded datasets; `seeds` gives valid genotypes of the space.
    """
    with tempfile.TemporaryDirectory(prefix="evonas-check-") as folder:
        first = _prepared(factory, Path(folder) / "first")
        candidates = [Candidate(uid, g, space.encode(g), evaluation_seed(seed, uid)) for uid, g in enumerate(_genotypes(space, samples, seed)[:samples])]
        expected = [_evaluated(first, c) for c in candidates]
        batch = list(first.evaluate(candidates))
        _require(len(batch) == len(candidates), f"evaluate() gave {len(batch)} evaluations for {len(candidates)} candidates")
        for candidate, evaluation, metrics in zip(candidates, batch, expected):
            _same(metrics, evaluation.metrics, rtol, f"evaluate() and evaluate_one() of {candidate.arch}")
        copies = {
            "the same candidate evaluated again": first,
            "the evaluator pickled and unpickled (as a worker gets it)": _shipped(first),
            "an evaluator from the factory, prepared in a state folder of its own": _prepared(factory, Path(folder) / "second"),
            "an evaluator on the first one's state folder, prepared again (resumed)": _prepared(factory, Path(folder) / "first"),
        }
        for how, evaluator in copies.items():
            for candidate, metrics in zip(candidates, expected):
                _same(metrics, _evaluated(evaluator, candidate), rtol, f"{how}: {candidate.arch}")
        inputs = first.inputs()
        _require(isinstance(inputs, dict) and all(isinstance(k, str) and isinstance(v, (str, Path)) for k, v in inputs.items()),
                 f"inputs() must map names to paths or dataset names, got {inputs!r}")
        for genotype in first.seeds():
            _valid(space, genotype, "a genotype of seeds()")


def _prepared(factory: Callable[[Path], Evaluator], state_dir: Path) -> Evaluator:
    state_dir.mkdir(parents=True, exist_ok=True)
    evaluator = factory(state_dir)
    _require(isinstance(evaluator, Evaluator), f"the factory gave {evaluator!r}, not an Evaluator")
    evaluator.prepare(progress=False)
    return evaluator


def _shipped(evaluator: Evaluator) -> Evaluator:
    """The evaluator as a worker process receives it."""
    try:
        return pickle.loads(pickle.dumps(evaluator))
    except Exception as error:  # whatever pickle raises for what it cannot ship
        raise AssertionError(f"the evaluator does not pickle, so no worker process can receive it: {type(error).__name__}: {error}") from None


def _evaluated(evaluator: Evaluator, candidate: Candidate) -> dict[str, float]:
    evaluation = evaluator.evaluate_one(candidate)
    _require(isinstance(evaluation, Evaluation), f"evaluate_one({candidate.arch}) gave {evaluation!r}, not an Evaluation")
    _require(evaluation.status == "ok", f"evaluate_one({candidate.arch}) failed: {evaluation.status}")
    missing = sorted(set(evaluator.sources) - set(evaluation.metrics))
    _require(not missing, f"evaluate_one({candidate.arch}) lacks the metrics {missing} (it gave {sorted(evaluation.metrics)})")
    for name in evaluator.sources:
        value = evaluation.metrics[name]
        _require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
                 f"evaluate_one({candidate.arch}) gave {name}={value!r}, not a finite number")
    return {name: float(evaluation.metrics[name]) for name in evaluator.sources}


def _same(expected: Mapping[str, float], got: Mapping[str, float], rtol: float, what: str) -> None:
    close = all(math.isclose(expected[name], got[name], rel_tol=rtol) if rtol else expected[name] == got[name] for name in expected)
    _require(close, f"{what}: {dict(got)} where the first evaluation gave {dict(expected)}")


# -- training strategies -----------------------------------------------------------------------------
def check_strategy(factory: Callable[..., TrainingStrategy], space: SearchSpace, *, steps: int = 40, seed: int = 0) -> None:
    """Checks a supernet training strategy that ``factory(space, admissible=...)`` builds (its class will do).

    - each step gives a non-empty list of valid paths, all admissible (here: those of even `index`);
    - the same ``rng`` seed gives the same paths (whatever the global generators);
    - ``state()`` is JSON data, and a fresh strategy that ``restore``s it halfway through training, from JSON,
      then draws the same paths and proposes the same `seeds` as the one that went on;
    - ``options()`` is JSON data with a value for every option name.
    """
    admissible = lambda genotype: space.index(genotype) % 2 == 0  # noqa: E731  (about half of any space)
    score = lambda genotype: -float(space.index(genotype) % 101) / 101  # noqa: E731  (a deterministic stand-in for a loss)

    def build() -> TrainingStrategy:
        strategy = factory(space, admissible=admissible)
        _require(isinstance(strategy, TrainingStrategy), f"the factory gave {strategy!r}, not a TrainingStrategy")
        return strategy

    def train(strategy: TrainingStrategy, rng: np.random.Generator, span: Sequence[int]) -> list[list[Genotype]]:
        return [list(strategy.paths(TrainingStep(step, steps, score), rng)) for step in span]

    first, second = _twice(lambda: train(build(), np.random.default_rng(seed), range(steps)))
    what = type(build()).__name__
    for step, paths in enumerate(first):
        _require(len(paths) > 0, f"strategy {what} gave no path at step {step}")
        for path in paths:
            _valid(space, path, f"a path of strategy {what} at step {step}")
            _require(admissible(path), f"strategy {what} gave the inadmissible path {path.genes} at step {step}")
    _require(first == second, f"strategy {what} with the same rng drew different paths: it must draw from its rng only")

    going_on, rng = build(), np.random.default_rng(seed)
    half = steps // 2
    train(going_on, rng, range(half))
    state = going_on.state()
    try:
        saved = json.loads(json.dumps(state))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"strategy {what}: state() is not JSON data ({error}): {state!r}") from None
    restored, restored_rng = build(), copy.deepcopy(rng)
    restored.restore(saved)
    after = train(going_on, rng, range(half, steps))
    _require(train(restored, restored_rng, range(half, steps)) == after,
             f"strategy {what}: restoring state() at step {half} in a fresh strategy gives other paths than going on: state() misses something")
    _require(restored.seeds() == going_on.seeds(), f"strategy {what}: after restoring state() the seeds differ")
    for genotype in going_on.seeds():
        _valid(space, genotype, f"a seed of strategy {what}")
    options = going_on.options()
    _require(set(options) == set(going_on.option_names()), f"strategy {what}: options() {sorted(options)} are not its option names {going_on.option_names()}")
    try:
        json.dumps(options)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"strategy {what}: options() are not JSON data ({error}): {options!r}") from None
