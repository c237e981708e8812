from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from evonas.cli import main
from evonas.errors import ConfigError
from evonas.measure.size import count_params
from evonas.populations.manager import PopulationManager, SearchOptions
from evonas.populations.screening import ProxyScreen, ScreenOptions
from evonas.search import RunConfig, Search, generation_rng
from evonas.spaces import get_space
from tests.tables import write_macro_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"channels": 4, "head_channels": 16}
SCREEN = ScreenOptions(proxy="params", factor=3, in_channels=1, image_size=8, widths=SMALL)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_macro_table(tmp_path_factory.mktemp("tables") / "macro.csv")


def config(table, **changes):
    base = RunConfig(
        space="macro", evaluator="table", evaluator_options={"table": str(table)}, objectives=("acc=top1", "params"),
        search=SearchOptions(population=6), screen=SCREEN, generations=3, seed=4,
    )
    return dataclasses.replace(base, **changes)


def params_of(genotype):
    return count_params(get_space("macro").build(genotype, num_classes=10, in_channels=1, image_size=8, **SMALL))


def test_screening_keeps_the_proxys_best_in_the_order_proposed():
    space = get_space("macro")
    offspring = PopulationManager(space, ()).ask(12, np.random.default_rng(0))
    kept = ProxyScreen(space, SCREEN, seed=0).select(None, offspring, 4)
    sizes = [params_of(child.genotype) for child in offspring]
    assert sorted(params_of(child.genotype) for child in kept) == sorted(sizes)[-4:]
    positions = [offspring.index(child) for child in kept]
    assert positions == sorted(positions)


def test_a_screened_generation_evaluates_the_best_of_what_the_manager_proposed(table, tmp_path):
    search = Search.start(config(table), tmp_path / "run")
    first = search.step()
    proposed = PopulationManager(get_space("macro"), search.objectives).ask(18, generation_rng(4, 0))
    best = sorted(proposed, key=lambda child: -params_of(child.genotype))[:6]
    assert {ind.genotype for ind in first.new} == {child.genotype for child in best}


def test_screened_runs_resume_to_the_uninterrupted_front_and_differ_from_unscreened_ones(table, tmp_path):
    Search.start(config(table), tmp_path / "whole").run()
    cut = Search.start(config(table), tmp_path / "cut")
    cut.step()
    cut.step()
    cut.close()  # as the process ending would
    Search.resume(tmp_path / "cut").run()
    front = (tmp_path / "whole" / "front.csv").read_bytes()
    assert (tmp_path / "cut" / "front.csv").read_bytes() == front
    Search.start(config(table, screen=None), tmp_path / "plain").run()
    assert (tmp_path / "plain" / "evaluations.csv").read_text().split("\n")[1:7] != (
        tmp_path / "whole" / "evaluations.csv").read_text().split("\n")[1:7]


def test_a_score_depends_on_the_run_seed_and_the_architecture_only():
    space = get_space("macro")
    genotype = space.sample(np.random.default_rng(2))
    options = dataclasses.replace(SCREEN, proxy="synflow")
    first = ProxyScreen(space, options, seed=1).score(genotype)
    assert ProxyScreen(space, options, seed=1).score(genotype) == first
    assert ProxyScreen(space, options, seed=2).score(genotype) != first


def test_run_config_keeps_the_screening_settings(table):
    restored = RunConfig.from_json(config(table).to_json())
    assert restored.screen == SCREEN and RunConfig.from_json(config(table, screen=None).to_json()).screen is None


@pytest.mark.parametrize(
    "change,message",
    [({"proxy": "nope"}, "unknown proxy 'nope'"), ({"factor": 0}, "--screen-factor must be at least 1")],
)
def test_bad_screening_options_are_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(SCREEN, **change)


def test_cli_screen_option(table, tmp_path, capsys):
    args = ["evolve", "--space", "macro", "--evaluator", "table", "--table", str(table), "--objectives", "acc=top1,params", "--population", "4",
            "--generations", "1", "--quiet", "--screen"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "nope", "--run-dir", str(tmp_path / "bad")])
    assert stop.value.code == 2 and capsys.readouterr().err.startswith("evonas: error: unknown proxy 'nope'")
    main([*args, "params", "--screen-factor", "2", "--screen-image-size", "8", "--screen-widths", "channels=4,head_channels=16", "--run-dir", str(tmp_path / "good")])
    screen = RunConfig.from_json(json.loads((tmp_path / "good" / "run.json").read_text())).screen
    assert (screen.proxy, screen.factor, screen.image_size, screen.widths) == ("params", 2, 8, {"channels": 4, "head_channels": 16})


def test_a_table_run_without_screening_does_not_load_torch(table, tmp_path):
    script = (
        "import sys\nfrom evonas.search import RunConfig, Search\n"
        f"config = RunConfig(space='macro', evaluator='table', evaluator_options={{'table': {str(table)!r}}},"
        " objectives=('acc=top1', 'params'), generations=1)\n"
        f"Search.start(config, {str(tmp_path / 'run')!r}).run()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_sigkill_during_a_screened_cli_run_then_resume_gives_the_uninterrupted_front(table, tmp_path):
    args = ["--space", "macro", "--evaluator", "table", "--table", str(table), "--objectives", "acc=top1,params",
            "--population", "6", "--generations", "4", "--screen", "params", "--screen-factor", "3", "--quiet"]

    def evonas(*more):
        return subprocess.Popen([sys.executable, "-m", "evonas", *more], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    whole = evonas("evolve", *args, "--run-dir", str(tmp_path / "whole"))
    assert whole.wait() == 0, whole.stderr.read()
    seed = int(np.random.SeedSequence().entropy % 2**32)
    print(f"seed {seed}")  # shown if the test fails
    rng = np.random.default_rng(seed)
    cut = tmp_path / "cut"
    process = evonas("evolve", *args, "--run-dir", str(cut))
    after = cut / "generations" / f"{rng.integers(1, 3):06d}.json"  # generation 1 or 2 of 0..4 is checkpointed
    while not after.exists():
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.02))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (cut / "generations" / "000004.json").exists()  # the kill landed mid-run
    process = evonas("resume", str(cut), "--quiet")
    assert process.wait() == 0, process.stderr.read()
    assert (cut / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
