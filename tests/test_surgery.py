"""The surgery space, its edits, the weight transfer and the surgery evaluator."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from evonas.errors import ArchitectureError, ConfigError
from evonas.evaluators.surgery import SurgeryEvaluator
from evonas.genotype import Genotype
from evonas.networks.transfer import align, operate, transfer_tensors
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.operators.surgery import EDITS, FUNCTION_PRESERVING, apply_edit
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space
from evonas.spaces.surgery import MAX_DEPTH, WIDTHS

SPACE = get_space("surgery")
SHAPE = {"num_classes": 10, "in_channels": 1, "image_size": 12}
LOSSY = [name for name in EDITS if name not in FUNCTION_PRESERVING]


def random_genotype(rng):
    """Any genotype of the space, its unused genes included (not canonical)."""
    return Genotype("surgery", tuple(int(rng.integers(len(g))) for g in SPACE.genes))


def trained_like(genotype, seed):
    """A network whose BatchNorm layers hold non-trivial scales, shifts and running statistics, in eval mode."""
    network = SPACE.build(genotype, **SHAPE, generator=torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                for tensor, low, high in ((module.weight, 0.5, 1.5), (module.bias, -0.5, 0.5), (module.running_mean, -1, 1), (module.running_var, 0.5, 2)):
                    tensor.copy_(low + (high - low) * torch.rand(tensor.shape, generator=generator))
    return network.eval()


def parents(n, seed):
    """``n`` canonical networks grown from samples by a few random edits."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(n):
        genotype = SPACE.sample(rng)
        for _ in range(int(rng.integers(1, 6))):
            genotype = MUTATIONS["edit"](genotype, SPACE, rng=rng)
        found.append(genotype)
    return found


# -- the space ----------------------------------------------------------------------------------
def test_strings_round_trip_and_unused_genes_do_not_make_another_network():
    rng = np.random.default_rng(0)
    for _ in range(50):
        genotype = random_genotype(rng)
        canonical = SPACE.canonical(genotype)
        assert SPACE.decode(SPACE.encode(genotype)) == canonical == SPACE.canonical(canonical)
        assert SPACE.layers(genotype) == SPACE.layers(canonical)
    assert SPACE.encode(SPACE.decode("8k3|16k3-32k5|64k1")) == "8k3|16k3-32k5|64k1"
    for bad in ("8k3|16k3", "8k3|16k2|8k3", "8k3|12k3|8k3", "8k3|8k3-8k3-8k3-8k3-8k3|8k3", "8x3|8k3|8k3"):
        with pytest.raises(ArchitectureError):
            SPACE.decode(bad)


def test_samples_are_small_and_the_surgery_edits_give_canonical_genotypes():
    # generic operators and neighbours may leave unused slots as they were: the population manager proposes
    # every offspring in canonical form (SearchOptions.equivalents, tests/test_manager.py)
    rng = np.random.default_rng(1)
    samples = [SPACE.sample(rng) for _ in range(40)]
    assert all(len(stage) == 1 and stage[0][0] in WIDTHS[:2] for g in samples for stage in SPACE.layers(g))
    assert len(set(samples)) > 20
    for genotype in parents(20, 2):
        for name in ("edit", *EDITS):
            child = MUTATIONS[name](genotype, SPACE, rng=rng)
            assert SPACE.canonical(child) == child
        assert all(SPACE.canonical(c) == c for c in CROSSOVERS["layers"](genotype, samples[0], SPACE, rng=rng))


def test_each_edit_changes_the_network_as_named():
    rng = np.random.default_rng(3)
    for genotype in parents(20, 4):
        before = SPACE.layers(genotype)
        depth = sum(len(s) for s in before)
        widths = sorted(w for s in before for w, _ in s)
        kernels = sorted(k for s in before for _, k in s)
        after = {name: SPACE.layers(apply_edit(name, genotype, SPACE, rng)) for name in EDITS}
        if any(len(s) < MAX_DEPTH for s in before):
            assert sum(len(s) for s in after["deepen"]) == depth + 1
        if any(len(s) > 1 for s in before):
            assert sum(len(s) for s in after["remove-layer"]) == depth - 1
        if widths[-1] < WIDTHS[-1] or widths[0] > WIDTHS[0]:
            assert sum(w for s in after["widen"] for w, _ in s) >= sum(widths) and sum(w for s in after["narrow"] for w, _ in s) <= sum(widths)
        assert sorted(k for s in after["grow-kernel"] for _, k in s) >= kernels
    with pytest.raises(ConfigError, match="surgery space"):
        MUTATIONS["deepen"](get_space("macro").decode("00000000"), get_space("macro"), rng=rng)


def test_alignment_keeps_layers_and_marks_inserted_and_removed_ones():
    assert align([(8, 3), (16, 3)], [(8, 3), (8, 5), (16, 3)]) == [(0, 0), (None, 1), (1, 2)]
    assert align([(8, 3), (16, 3), (32, 5)], [(8, 3), (32, 5)]) == [(0, 0), (1, None), (2, 1)]
    assert align([(8, 3)], [(24, 5)]) == [(0, 0)]


# -- the weight transfer ------------------------------------------------------------------------
@pytest.mark.parametrize("edit", FUNCTION_PRESERVING)
def test_function_preserving_edits_give_the_parents_outputs(edit, one_torch_thread):
    rng = np.random.default_rng(5)
    x = torch.randn(32, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    checked = 0
    for i, parent in enumerate(parents(12, 6)):
        child = apply_edit(edit, parent, SPACE, rng)
        if child == parent:
            continue
        network = trained_like(parent, i)
        inherited, surgery = operate(SPACE, parent, network.state_dict(), child, SHAPE, torch.Generator().manual_seed(i))
        assert surgery.exact
        with torch.no_grad():
            assert (inherited.eval()(x) - network(x)).abs().max() <= 1e-5
        checked += 1
    assert checked >= 8


def test_several_preserving_edits_at_once_preserve_the_function_too(one_torch_thread):
    parent = SPACE.decode("8k3|16k3|16k1")
    child = SPACE.decode("16k3-16k5|16k3-24k3|24k3-48k1-48k3")  # widen, deepen, grow kernels everywhere
    network = trained_like(parent, 0)
    inherited, surgery = operate(SPACE, parent, network.state_dict(), child, SHAPE, torch.Generator().manual_seed(0))
    x = torch.randn(16, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    assert surgery.exact
    with torch.no_grad():
        assert (inherited.eval()(x) - network(x)).abs().max() <= 1e-5


@pytest.mark.parametrize("edit", LOSSY)
def test_lossy_edits_give_a_network_that_trains(edit, one_torch_thread):
    rng = np.random.default_rng(7)
    parent = next(p for p in parents(10, 8) if apply_edit(edit, p, SPACE, np.random.default_rng(0)) != p)
    child = apply_edit(edit, parent, SPACE, rng)
    inherited, surgery = operate(SPACE, parent, trained_like(parent, 1).state_dict(), child, SHAPE, torch.Generator().manual_seed(2))
    assert not surgery.exact
    generator = torch.Generator().manual_seed(3)
    x, y = torch.randn(64, 1, 12, 12, generator=generator), torch.randint(10, (64,), generator=generator)
    optimizer = torch.optim.Adam(inherited.parameters(), lr=0.01)
    inherited.train()
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(inherited(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0]


def test_any_pair_of_genotypes_transfers_and_optimiser_state_follows_the_weights(one_torch_thread):
    rng = np.random.default_rng(9)
    for i in range(30):
        parent, child = SPACE.canonical(random_genotype(rng)), SPACE.canonical(random_genotype(rng))
        network = SPACE.build(parent, **SHAPE)
        momentum = {name: torch.randn_like(p) for name, p in network.named_parameters()}
        inherited, surgery = operate(SPACE, parent, network.state_dict(), child, SHAPE, torch.Generator().manual_seed(i))
        moved = transfer_tensors(surgery, momentum, dict(inherited.named_parameters()), identity=False)
        assert {k: v.shape for k, v in moved.items()} == {k: p.shape for k, p in inherited.named_parameters()}
        assert torch.isfinite(inherited(torch.randn(2, 1, 12, 12))).all()


# -- the evaluator ------------------------------------------------------------------------------
TINY = {"data": "digits", "steps": 4, "recovery_steps": 2, "batch_size": 32}


def surgery_config(**changes):
    values = {
        "space": "surgery", "evaluator": "surgery", "evaluator_options": TINY, "objectives": ("acc", "params"),
        "search": SearchOptions(population=4, mutation="edit", crossover="layers"), "generations": 3, "seed": 5,
    }
    return RunConfig(**{**values, **changes})


def run_outputs(run_dir):
    with open(run_dir / "evaluations.csv") as handle:
        rows = [row[:-1] for row in csv.reader(handle)]
    weights = {p.name: torch.load(p, weights_only=True)["weights"] for p in sorted((run_dir / "evaluator" / "networks").glob("*.pt"))}
    return (run_dir / "front.csv").read_bytes(), rows, weights


def same_outputs(a, b):
    assert a[:2] == b[:2] and a[2].keys() == b[2].keys()
    assert all(torch.equal(a[2][f][k], b[2][f][k]) for f in a[2] for k in a[2][f])


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("surgery") / "whole"
    torch.set_num_threads(1)
    search = Search.start(surgery_config(), run_dir)
    search.run()
    return run_dir, search


def test_children_inherit_and_only_the_population_keeps_its_networks(whole_run):
    run_dir, search = whole_run
    _, rows, weights = run_outputs(run_dir)
    assert {int(name[:-3]) for name in weights} == {ind.uid for ind in search.manager.population}
    later = [r for r in rows[1:] if int(r[0]) > 0]
    assert later and all(r[3] for r in later)  # every later candidate has a parent
    state = torch.load(run_dir / "evaluator" / "networks" / f"{search.manager.population[0].uid}.pt", weights_only=True)
    assert state["momentum"].keys() == {n for n, _ in search.evaluator.space.build(search.space.decode(state["arch"]), **search.evaluator.build_options).named_parameters()}


def test_the_kept_network_reproduces_the_measured_accuracy(whole_run):
    from evonas.export import export, load_network
    from evonas.retrain import retrain
    from evonas.training import accuracy

    run_dir, search = whole_run
    best = search.front()[0]
    network = search.evaluator.inherited_network(best.genotype)
    data = search.evaluator.data
    assert accuracy(network, data.x_val, data.y_val) == pytest.approx(best.metrics["acc"], abs=1e-9)
    out, inherited = export(run_dir, run_dir.parent / "best.pt", arch=best.arch)
    assert inherited and accuracy(load_network(out), data.x_val, data.y_val) == pytest.approx(best.metrics["acc"], abs=1e-9)
    table = retrain(run_dir, top=1, epochs=1)  # from scratch, as for any run
    assert table.rows[0][1] == best.arch and 0 <= float(table.rows[0][-3]) <= 100


class Crash(BaseException):  # not an evaluation's own error (which is recorded as a failure): the process dies
    pass


def test_a_run_killed_anywhere_resumes_to_the_same_front_and_networks(whole_run, tmp_path, monkeypatch, one_torch_thread):
    import evonas.evaluators.surgery as module

    expected = run_outputs(whole_run[0])
    original_save, original_survived = module.save_tensors, SurgeryEvaluator.survived
    saves = {"n": 0}

    def save_then_crash(path, payload):  # dies after the network is on disk but before its row is logged
        original_save(path, payload)
        saves["n"] += 1
        if saves["n"] == 9:
            raise Crash

    monkeypatch.setattr(module, "save_tensors", save_then_crash)
    with pytest.raises(Crash):
        Search.start(surgery_config(), tmp_path / "cut").run()
    monkeypatch.setattr(module, "save_tensors", original_save)
    calls = {"n": 0}

    def crash_before_freeing(self, generation, population, next_uid):  # dies between a checkpoint and freeing the dead
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        original_survived(self, generation, population, next_uid)

    monkeypatch.setattr(SurgeryEvaluator, "survived", crash_before_freeing)
    with pytest.raises(Crash):
        Search.resume(tmp_path / "cut").run()
    monkeypatch.setattr(SurgeryEvaluator, "survived", original_survived)
    Search.resume(tmp_path / "cut").run()
    same_outputs(run_outputs(tmp_path / "cut"), expected)


def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="--space surgery"):
        Search.start(surgery_config(space="macro"), tmp_path / "a")
    with pytest.raises(ConfigError, match="not both"):
        Search.start(surgery_config(evaluator_options={**TINY, "epochs": 2}), tmp_path / "b")
    with pytest.raises(ConfigError, match="sgd"):
        Search.start(surgery_config(evaluator_options={**TINY, "optimizer": "adam"}), tmp_path / "c")


def test_the_latency_table_covers_every_network_and_a_deeper_one_is_slower(tmp_path, monkeypatch):
    import evonas.measure.latency as latency
    from evonas.evaluators import make_evaluator

    monkeypatch.setattr(latency, "measure_latency", lambda module, shape, **_: 0.001 * sum(p.numel() for p in module.parameters()) + 0.01)
    evaluator = make_evaluator("surgery", space=SPACE, sources={"latency": "latency"}, state_dir=tmp_path, options={"data": "digits"})
    evaluator.prepare()
    rng = np.random.default_rng(11)
    for genotype in [SPACE.canonical(random_genotype(rng)) for _ in range(30)]:
        deeper = apply_edit("deepen", genotype, SPACE, rng)
        if deeper != genotype:
            assert evaluator._latency(deeper) > evaluator._latency(genotype) > 0
    assert (tmp_path / "latency_table.json").is_file()


def test_sigkill_while_children_train_then_resume_gives_the_uninterrupted_front(whole_run, tmp_path):
    """kill -9 of `evonas evolve` in generation 2, once a child's network is on disk, then `evonas resume`."""
    import subprocess
    import sys
    import time

    args = ["--space", "surgery", "--evaluator", "surgery", "--objectives", "acc,params", "--population", "4", "--generations", "3",
            "--seed", "5", "--data", "digits", "--steps", "4", "--recovery-steps", "2", "--batch-size", "32", "--quiet"]
    cut = tmp_path / "cut"

    def evonas(*words):
        return subprocess.Popen([sys.executable, "-m", "evonas", *words], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    process = evonas("evolve", *args, "--run-dir", str(cut))
    deadline = time.monotonic() + 300
    while not (cut / "evaluator" / "networks" / "9.pt").exists():  # the second child of generation 2
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.kill()
    process.wait()
    assert not (cut / "generations" / "000002.json").exists()
    resumed = evonas("resume", str(cut), "--quiet")
    assert resumed.wait() == 0, resumed.stderr.read()
    same_outputs(run_outputs(cut), run_outputs(whole_run[0]))


def test_the_cli_lists_the_space_and_gives_it_the_surgery_edits_by_default(tmp_path, capsys):
    import json

    from evonas.cli import main

    main(["spaces"])
    assert any(line.startswith("surgery") for line in capsys.readouterr().out.splitlines())
    with pytest.raises(SystemExit) as stop:  # no supernet for this space: one line, exit 2
        main(["evolve", "--space", "surgery", "--generations", "0", "--run-dir", str(tmp_path / "a"), "--quiet"])
    assert stop.value.code == 2 and "no supernet" in capsys.readouterr().err
    main(["evolve", "--space", "surgery", "--evaluator", "surgery", "--objectives", "acc,params", "--population", "2", "--generations", "0",
          "--data", "digits", "--steps", "0", "--run-dir", str(tmp_path / "b"), "--quiet"])
    search = json.loads((tmp_path / "b" / "run.json").read_text())["search"]
    assert (search["mutation"], search["crossover"]) == ("edit", "layers")
