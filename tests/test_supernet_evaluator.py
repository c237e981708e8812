from __future__ import annotations

import numpy as np
import pytest
import torch

import evonas.evaluators.supernet as supernet_module
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators import Candidate, make_evaluator
from evonas.evaluators.strategies import STRATEGIES, TrainingStrategy
from evonas.spaces import get_space

SPACE = get_space("macro")
TINY = {"data": "digits", "epochs": 2, "batch_size": 128, "calibration_batches": 2, "widths": {"channels": 4, "head_channels": 16}}
SOURCES = {"acc": "acc", "params": "params"}


def evaluator(state_dir=None, sources=SOURCES, seed=0, **changes):
    return make_evaluator("supernet", space=SPACE, sources=sources, state_dir=state_dir, seed=seed, options={**TINY, **changes})


def candidates(n=4, seed=5):
    rng = np.random.default_rng(seed)
    genotypes = [SPACE.sample(rng) for _ in range(n)]
    return [Candidate(i, g, SPACE.encode(g), np.random.SeedSequence(0, spawn_key=(1, i))) for i, g in enumerate(genotypes)]


def accuracies(ev, cands):
    return [e.metrics["acc"] for e in ev.evaluate(cands)]


def weights(ev):
    return {k: v.clone() for k, v in ev.supernet.state_dict().items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("run") / "evaluator"
    ev = evaluator(state_dir)
    ev.prepare(progress=False)
    return ev, state_dir


def test_inherited_weight_accuracy_is_deterministic_and_independent_of_order(trained):
    ev, _ = trained
    cands = candidates()
    first = accuracies(ev, cands)
    assert accuracies(ev, cands[::-1]) == first[::-1]
    other = evaluator(None)
    other.prepare(progress=False)
    assert accuracies(other, cands) == first
    assert len(set(first)) > 1 and all(0 <= a <= 100 for a in first)


def test_evaluation_recalibrates_batchnorm_and_matches_the_extracted_subnet(trained):
    ev, _ = trained
    candidate = candidates(1)[0]
    value = accuracies(ev, [candidate])[0]
    subnet = ev.supernet.subnet(candidate.genotype)  # carries the recalibrated statistics of the path
    correct = (subnet.eval()(ev.data.x_val).argmax(1) == ev.data.y_val).sum().item()
    assert value == pytest.approx(100 * correct / len(ev.data.y_val))
    norm = next(m for m in subnet.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert norm.num_batches_tracked.item() == TINY["calibration_batches"]


def test_network_metrics_come_from_the_built_network(trained):
    ev, _ = trained
    candidate = candidates(1)[0]
    network = SPACE.build(candidate.genotype, num_classes=10, in_channels=1, image_size=8, **TINY["widths"])
    metrics = next(ev.evaluate([candidate])).metrics
    assert metrics["params"] == sum(p.numel() for p in network.parameters())


class Crash(Exception):
    pass


def test_training_killed_midway_resumes_to_the_same_weights(trained, tmp_path, monkeypatch):
    _, state_dir = trained
    monkeypatch.setattr(supernet_module, "CHECKPOINT_SECONDS", -1.0)  # checkpoint after every step
    original = supernet_module.train_step
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # in the second epoch (5 steps per epoch)
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(supernet_module, "train_step", crashing)
    with pytest.raises(Crash):
        evaluator(tmp_path).prepare(progress=False)
    monkeypatch.setattr(supernet_module, "train_step", original)
    resumed = evaluator(tmp_path)
    resumed.prepare(progress=False)
    expected = torch.load(state_dir / "supernet.pt", weights_only=True)["weights"]  # as trained uninterrupted
    assert all(torch.equal(expected[k], v) for k, v in weights(resumed).items())
    assert resumed.reused is None and torch.load(tmp_path / "supernet.pt", weights_only=True)["complete"]


def test_a_trained_supernet_is_reused_without_training(trained, tmp_path, monkeypatch):
    ev, state_dir = trained
    run_dir = state_dir.parent

    def no_training(self, progress):
        raise AssertionError("a reused supernet must not be trained")

    monkeypatch.setattr(supernet_module.SupernetEvaluator, "_train", no_training)
    reuse = evaluator(tmp_path / "evaluator", sources={"acc": "acc", "flops": "flops"}, seed=9, supernet=str(run_dir))
    reuse.prepare(progress=False)
    cands = candidates()
    assert accuracies(reuse, cands) == accuracies(ev, cands)  # the supernet's data split, not seed 9's
    assert (tmp_path / "evaluator" / "supernet.pt").is_file()  # the run keeps its own copy
    with pytest.raises(ConfigError, match="no trained supernet"):
        evaluator(supernet=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="of space 'macro', not 'mobile'"):
        make_evaluator("supernet", space=get_space("mobile"), sources=SOURCES, state_dir=None,
                       options={**TINY, "widths": None, "supernet": str(run_dir)})


def test_a_checkpoint_of_another_training_is_not_resumed_nor_a_foreign_file_read(trained, tmp_path):
    _, state_dir = trained
    (tmp_path / "supernet.pt").write_bytes((state_dir / "supernet.pt").read_bytes())
    with pytest.raises(CheckpointError, match="trained otherwise"):
        evaluator(tmp_path, lr=0.05).prepare(progress=False)
    (tmp_path / "supernet.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable supernet checkpoint"):
        evaluator(tmp_path).prepare(progress=False)


def test_unfinished_training_is_refused_for_reuse(tmp_path, monkeypatch):
    monkeypatch.setattr(supernet_module, "CHECKPOINT_SECONDS", -1.0)
    original = supernet_module.train_step
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(supernet_module, "train_step", crashing)
    with pytest.raises(Crash):
        evaluator(tmp_path / "run" / "evaluator").prepare(progress=False)
    with pytest.raises(ConfigError, match="unfinished"):
        evaluator(supernet=str(tmp_path / "run"))


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"strategy": "nope"}, "unknown strategy 'nope'; known: eps, greedy, spos"),
        ({"strategy": "greedy", "strategy_options": {"k": 0}}, "option k must be a whole number of at least 1, got 0"),
        ({"strategy": "eps", "scoring_images": 0}, "--scoring-images must be at least 1 for strategy 'eps', got 0"),
        ({"strategy": "eps", "scoring_images": 5000}, "--scoring-images 5000 leaves none of the 1151 training images"),
        ({"table": "x.csv"}, "evaluator 'supernet' does not take --table"),
        ({"epochs": -1}, "--epochs must be at least 0"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"calibration_batches": 0}, "--calibration-batches must be at least 1"),
        ({"widths": {"depth": 3}}, "does not take width options"),
        ({"data": "/nowhere.npz"}, "cannot read /nowhere.npz"),
    ],
)
def test_bad_options_are_config_errors_naming_the_value(changes, message):
    with pytest.raises(ConfigError, match=message):
        evaluator(**changes)


def test_unknown_metric_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot measure 'energy'"):
        evaluator(sources={"acc": "acc", "energy": "energy"})


class ScoredPair(TrainingStrategy):
    """A GreedyNAS-like strategy in miniature: samples two paths, trains both, remembers the better's score."""

    name = "scored-pair"
    description = "test strategy"
    scores_paths = True

    def __init__(self, space, *, admissible=None):
        super().__init__(space, admissible=admissible)
        self.best: list[float] = []

    def paths(self, step, rng):
        pair = [self.space.sample(rng), self.space.sample(rng)]
        self.best.append(max(step.score(p) for p in pair))
        return pair

    def state(self):
        return {"best": self.best}

    def restore(self, state):
        self.best = list(state["best"])


def test_a_strategy_plugs_in_with_one_registry_line_and_its_state_is_checkpointed(tmp_path):
    STRATEGIES.register("scored-pair", "tests.test_supernet_evaluator:ScoredPair")
    try:
        ev = evaluator(tmp_path, strategy="scored-pair", epochs=1)
        ev.prepare(progress=False)
        steps = -(-(len(ev.data.x_train) - ev.scoring_images) // TINY["batch_size"])
        assert len(ev.strategy.best) == steps and all(s < 0 for s in ev.strategy.best)  # minus a cross-entropy
        checkpoint = torch.load(tmp_path / "supernet.pt", weights_only=True)
        assert '"best"' in checkpoint["sampler"] and checkpoint["complete"]
    finally:
        STRATEGIES._entries.pop("scored-pair")
