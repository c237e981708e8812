"""GreedyNAS and EPS on their own (a made-up score, no supernet) and inside the supernet evaluator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import evonas.evaluators.supernet as supernet_module
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators import make_evaluator
from evonas.evaluators.strategies import TrainingStep, make_strategy
from evonas.objectives import parse_constraint
from evonas.spaces import get_space

SPACE = get_space("macro")
TINY = {"data": "digits", "epochs": 2, "batch_size": 128, "calibration_batches": 2, "scoring_images": 64,
        "widths": {"channels": 4, "head_channels": 16}}
SMALL_OPTIONS = {"greedy": {"m": 4, "k": 2, "pool": 5}, "eps": {"population": 6, "interval": 3, "share": 0.5, "tournament": 3}}


def made_up_score(genotype):
    """A fixed, path-dependent score: strategies must follow it whatever it is."""
    return float(np.sin(1.0 + sum((i + 1) * g for i, g in enumerate(genotype.genes))))


class Recorder:
    """Scores paths with `made_up_score` and remembers which were scored."""

    def __init__(self):
        self.scored = []

    def __call__(self, genotype):
        self.scored.append(genotype)
        return made_up_score(genotype)


def steps(strategy, total, seed=0):
    """Runs ``strategy`` through ``total`` steps; yields (step, scored paths, paths to train)."""
    rng = np.random.default_rng(seed)
    for step in range(total):
        recorder = Recorder()
        paths = strategy.paths(TrainingStep(step, total, recorder), rng)
        yield step, recorder.scored, paths


def test_greedy_trains_the_best_k_of_the_m_it_scored_and_its_pool_keeps_its_bound():
    greedy = make_strategy("greedy", SPACE, {"m": 6, "k": 2, "pool": 4, "pool_prob": 1.0})
    from_pool, previous_pool = 0, set()
    for step, scored, paths in steps(greedy, 60):
        distinct = list(dict.fromkeys(scored))
        if step < 59:
            assert len(scored) == len(distinct) <= 6  # each sampled path scored once (repeats share one score)
        assert paths == sorted(distinct, key=made_up_score, reverse=True)[:2]
        assert len(greedy.candidates) <= 4
        from_pool += len(previous_pool.intersection(distinct))
        previous_pool = set(greedy.candidates)
        scores = list(greedy.candidates.values())
        assert scores == sorted(scores, reverse=True) and all(greedy.candidates[g] == made_up_score(g) for g in greedy.candidates)
    assert from_pool > 20  # late in training most sampled paths come from the pool
    assert greedy.seeds() == sorted(greedy.candidates, key=made_up_score, reverse=True) and len(greedy.seeds()) == 4


def test_greedy_samples_only_uniformly_at_the_first_step():
    greedy = make_strategy("greedy", SPACE, {"m": 10, "k": 5, "pool": 8, "pool_prob": 1.0})
    greedy.restore({"pool": [[[0] * 8, 5.0]]})  # a pool that a draw from it would surely hit
    _, scored, _ = next(steps(greedy, 100))
    assert SPACE.decode("00000000") not in scored


def test_eps_trains_only_members_of_its_population_which_keeps_its_size_and_ages():
    eps = make_strategy("eps", SPACE, {"population": 8, "interval": 5, "share": 0.75, "tournament": 3})
    before = None
    for step, scored, paths in steps(eps, 41):
        assert len(eps.members) == 8 and len(paths) == 1 and paths[0] in eps.members
        if step and step % 5 == 0 and step < 40:
            assert len(scored) == 6 and set(scored) <= set(before)  # the share of the population, scored
            children = 6 // 3
            assert eps.members[: 8 - children] == before[children:]  # the oldest left
            assert all(child not in before for child in eps.members[8 - children :])
        elif step and step < 40:
            assert scored == [] and eps.members == before
        before = list(eps.members)
    assert set(eps.members) <= set(scored)  # the last step scores them all, for the seeds' order
    assert eps.seeds() == sorted(dict.fromkeys(eps.members), key=made_up_score, reverse=True)


@pytest.mark.parametrize("name", ["spos", "greedy", "eps"])
def test_no_strategy_returns_a_path_outside_the_constraints(name):
    admissible = lambda genotype: genotype.genes[0] == 0 and genotype.genes[3] != 2  # noqa: E731
    strategy = make_strategy(name, SPACE, SMALL_OPTIONS.get(name), admissible=admissible)
    trained = [path for _, _, paths in steps(strategy, 40) for path in paths]
    assert len(trained) >= 40 and all(admissible(path) for path in trained)
    assert all(admissible(path) for path in strategy.seeds())


@pytest.mark.parametrize(
    "name,options,message",
    [
        ("greedy", {"k": 11}, "option k must be at most m \\(10\\), got 11"),
        ("greedy", {"pool": 0}, "option pool must be a whole number of at least 1, got 0"),
        ("greedy", {"pool_prob": 1.5}, "option pool_prob must be a number in \\[0, 1\\], got 1.5"),
        ("greedy", {"m": "ten"}, "option m must be a whole number of at least 1, got 'ten'"),
        ("greedy", {"poool": 3}, "strategy 'greedy' does not take option 'poool' \\(it takes: m, k, pool, pool_prob\\)"),
        ("eps", {"share": 0}, "option share must be a number in \\(0, 1\\], got 0"),
        ("eps", {"tournament": 30}, "option tournament must be at most population \\(20\\), got 30"),
        ("eps", {"mutation": "nope"}, "unknown mutation 'nope'"),
        ("spos", {"m": 3}, "strategy 'spos' does not take option 'm' \\(it takes: no options\\)"),
    ],
)
def test_bad_strategy_options_are_config_errors_naming_the_value(name, options, message):
    with pytest.raises(ConfigError, match=message):
        make_strategy(name, SPACE, options)


# -- inside the supernet evaluator -------------------------------------------------------------
def evaluator(state_dir, strategy, constraints=(), **changes):
    options = {**TINY, "strategy": strategy, "strategy_options": SMALL_OPTIONS.get(strategy), **changes}
    return make_evaluator("supernet", space=SPACE, sources={"acc": "acc", "params": "params"}, state_dir=state_dir,
                          options={k: v for k, v in options.items() if v is not None}, constraints=constraints)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny supernet trained uninterrupted by each scoring strategy: name -> its state folder."""
    folders = {}
    for name in ("greedy", "eps"):
        folders[name] = tmp_path_factory.mktemp(name)
        evaluator(folders[name], name).prepare(progress=False)
    return folders


def test_the_scoring_set_is_held_out_of_training_and_the_same_for_every_path(trained):
    ev = evaluator(None, "greedy")
    assert len(ev.scoring[0]) == 64 and len(ev.x_train) == len(ev.data.x_train) - 64
    train_rows = {tuple(x.flatten().tolist()) for x in ev.x_train}
    assert not any(tuple(x.flatten().tolist()) in train_rows for x in ev.scoring[0])
    assert torch.equal(ev.scoring[0], evaluator(None, "eps").scoring[0])
    spos = evaluator(None, "spos")
    assert len(spos.x_train) == len(spos.data.x_train) and len(spos.scoring[0]) == 0  # SPOS scores nothing, holds nothing out


@pytest.mark.parametrize("name", ["spos", "greedy", "eps"])
def test_a_path_outside_the_constraints_is_never_trained(name, monkeypatch):
    limit = parse_constraint("params<=26000")
    ev = evaluator(None, name, constraints=[limit], epochs=1)
    trained_paths = []
    original = supernet_module.train_step

    def recording(model, *args, **kwargs):
        trained_paths.append(model.path)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(supernet_module, "train_step", recording)
    ev.prepare(progress=False)
    params = {g: ev.meter.measure(g)["params"] for g in set(trained_paths)}
    assert trained_paths and all(value <= 26000 for value in params.values())
    assert max(ev.meter.measure(SPACE.sample(np.random.default_rng(s)))["params"] for s in range(20)) > 26000  # the limit bites
    assert all(ev.meter.measure(g)["params"] <= 26000 for g in ev.seeds())


KILLED_TRAINING = """
import sys
from pathlib import Path
import evonas.evaluators.supernet as supernet_module
from tests.test_strategies import evaluator
supernet_module.CHECKPOINT_SECONDS = -1.0  # a checkpoint after every step
evaluator(Path(sys.argv[1]), sys.argv[2]).prepare(progress=False)
"""


@pytest.mark.parametrize("name", ["greedy", "eps"])
def test_training_killed_by_sigkill_resumes_to_the_same_weights_pool_and_streams(trained, tmp_path, name):
    checkpoint = tmp_path / "supernet.pt"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, "-c", KILLED_TRAINING, str(tmp_path), name], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    cut = torch.load(checkpoint, weights_only=True)
    assert not cut["complete"] and cut["step"] > 0
    resumed = evaluator(tmp_path, name)
    resumed.prepare(progress=False)
    whole = torch.load(trained[name] / "supernet.pt", weights_only=True)
    ended = torch.load(checkpoint, weights_only=True)
    assert ended["complete"] and ended["step"] == whole["step"]
    assert all(torch.equal(whole["weights"][k], v) for k, v in ended["weights"].items())
    assert json.loads(ended["sampler"]) == json.loads(whole["sampler"])  # pool or population, and the sampler's stream
    assert resumed.seeds() == evaluator(trained[name], name).seeds()


def test_a_resume_with_other_strategy_options_is_refused(trained, tmp_path):
    (tmp_path / "supernet.pt").write_bytes((trained["greedy"] / "supernet.pt").read_bytes())
    with pytest.raises(CheckpointError, match="trained otherwise"):
        evaluator(tmp_path, "greedy", strategy_options={**SMALL_OPTIONS["greedy"], "pool": 6}).prepare(progress=False)
    with pytest.raises(CheckpointError, match="trained otherwise"):
        evaluator(tmp_path, "greedy", scoring_images=32).prepare(progress=False)


def test_the_seeds_are_the_final_pool_and_population_best_first(trained):
    for name, size in (("greedy", 5), ("eps", 6)):
        ev = evaluator(trained[name], name)
        seeds = ev.seeds()
        assert 0 < len(seeds) <= size and len(set(seeds)) == len(seeds)
        scores = [ev._score(g) for g in seeds]
        assert scores == sorted(scores, reverse=True)  # rescored at the last step, with the final weights
        reuse = make_evaluator("supernet", space=SPACE, sources={"acc": "acc"}, state_dir=None, options={"supernet": str(trained[name])})
        assert reuse.strategy_name == name and reuse.seeds() == seeds  # a reused supernet brings its seeds along


@pytest.mark.parametrize("name", ["spos", "greedy", "eps"])
def test_every_strategy_trains_an_nb201_supernet_on_a_users_npz(name, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(120, 3, 8, 8), dtype=np.uint8)
    y = np.arange(120) % 3
    x[y == 1, 0] = 255  # classes a network can tell apart
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    options = {"population": 4, "interval": 2, "tournament": 2} if name == "eps" else SMALL_OPTIONS.get(name)
    ev = make_evaluator("supernet", space=get_space("nb201"), sources={"acc": "acc"}, state_dir=tmp_path / "evaluator",
                        options={"data": str(tmp_path / "mine.npz"), "epochs": 2, "batch_size": 16, "calibration_batches": 1,
                                 "scoring_images": 16, "widths": {"channels": 4}, "strategy": name,
                                 **({"strategy_options": options} if options else {})})
    ev.prepare(progress=False)
    assert ev.data.in_channels == 3 and ev.data.num_classes == 3
    assert len(ev.seeds()) == {"spos": 0, "greedy": 5, "eps": 4}[name] or (name == "greedy" and 0 < len(ev.seeds()) <= 5)
    genotype = get_space("nb201").sample(np.random.default_rng(1))
    from evonas.evaluators import Candidate

    evaluation = next(iter(ev.evaluate([Candidate(0, genotype, get_space("nb201").encode(genotype), np.random.SeedSequence(0))])))
    assert 0 <= evaluation.metrics["acc"] <= 100 and evaluation.status == "ok"
    assert torch.load(tmp_path / "evaluator" / "supernet.pt", weights_only=True)["complete"]
