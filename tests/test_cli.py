from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from evonas.spaces import get_space
from tests.cli_runner import run_cli
from tests.tables import write_macro_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_macro_table(tmp_path_factory.mktemp("tables") / "macro.csv")



def evolve_args(table, run_dir, *extra):
    return ["evolve", "--space", "macro", "--evaluator", "table", "--table", str(table), "--objectives", "acc=top1,params",
            "--population", "10", "--generations", "3", "--run-dir", str(run_dir), "--quiet", *extra]


@pytest.mark.parametrize(
    "change,message",
    [
        (["--space", "nope"], "unknown space 'nope'; known: macro, mobile, nb201"),
        (["--evaluator", "nope"], "unknown evaluator 'nope'; known:"),
        (["--objectives", "energy"], "no default direction; write energy:min or energy:max"),
        (["--objectives", "acc=top2"], "no column 'top2'"),
        (["--constraint", "params<"], "ill-formed constraint"),
        (["--population", "1"], "population must be at least 2"),
        (["--population", "many"], "'many' is not a valid integer"),
        (["--crossover", "nope"], "unknown crossover 'nope'"),
        (["--local-search", "1.5"], "1.5 is not in the range 0<=x<=1"),
        (["--predictor-pool", "0.5"], "0.5 is not in the range x>=1"),
        (["--model-share", "-0.1"], "-0.1 is not in the range 0<=x<=1"),
        (["--predictor-fit", "2"], "2.0 is not in the range x<=1"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(table, tmp_path, capsys, change, message):
    args = evolve_args(table, tmp_path / "run")
    for i in range(0, len(change), 2):
        if change[i] in args:
            args[args.index(change[i]) + 1] = change[i + 1]
        else:
            args.extend(change[i : i + 2])
    code, out, err = run_cli(args, capsys)
    assert code == 2 and message in err
    assert err.count("\n") == 1 and err.startswith("evonas: error: ") and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_search_options_reach_the_run_and_change_its_course(table, tmp_path, capsys):
    assert run_cli(evolve_args(table, tmp_path / "default"), capsys)[0] == 0
    plain = ["--local-search", "0", "--predictor-pool", "1"]
    assert run_cli(evolve_args(table, tmp_path / "plain", *plain), capsys)[0] == 0
    search = json.loads((tmp_path / "plain" / "run.json").read_text())["search"]
    assert search["local_search"] == 0.0 and search["predictor_pool"] == 1.0
    operators = {run: {row["operator"] for row in csv.DictReader(open(tmp_path / run / "evaluations.csv"))}
                 for run in ("default", "plain")}
    assert "neighbour" in operators["default"] and "neighbour" not in operators["plain"]
    modelled = ["--model-share", "1", "--model-evaluations", "20", "--predictor-fit", "0.3", "--neutral-moves", "--swap-moves"]
    assert run_cli(evolve_args(table, tmp_path / "modelled", *modelled), capsys)[0] == 0
    search = json.loads((tmp_path / "modelled" / "run.json").read_text())["search"]
    assert (search["model_share"], search["model_evaluations"], search["predictor_fit"]) == (1.0, 20, 0.3)
    assert search["neutral_moves"] and search["swap_moves"]
    with open(tmp_path / "modelled" / "evaluations.csv") as handle:
        rows = list(csv.DictReader(handle))
    operators = [{row["operator"] for row in rows[i:i + 10]} for i in (0, 10, 20)]  # generations of 10
    assert operators[0] == {"sample"} and operators[1] == {"gene-model"} and "gene-model" not in operators[2]  # until 20 evaluations


def test_missing_table_unwritable_dir_and_foreign_run_dir(table, tmp_path, capsys):
    code, _, err = run_cli(evolve_args(tmp_path / "absent.csv", tmp_path / "a"), capsys)
    assert code == 2 and "cannot read table" in err
    (tmp_path / "file").write_text("")
    code, _, err = run_cli(evolve_args(table, tmp_path / "file" / "run"), capsys)
    assert code == 2 and "cannot write run directory" in err
    assert run_cli(evolve_args(table, tmp_path / "run"), capsys)[0] == 0
    code, _, err = run_cli(evolve_args(table, tmp_path / "run", "--seed", "9"), capsys)
    assert code == 2 and "holds a different run" in err
    code, _, err = run_cli(["show", str(tmp_path)], capsys)
    assert code == 2 and "is not an evonas run directory" in err and err.count("\n") == 1
    code, _, err = run_cli(["resume", str(tmp_path)], capsys)
    assert code == 2 and "is not an evonas run directory" in err


def test_evolve_show_resume_and_spaces(table, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, out, _ = run_cli(evolve_args(table, run_dir), capsys)
    assert code == 0 and "40 architectures evaluated in 4 generations" in out
    code, out, _ = run_cli(["show", str(run_dir)], capsys)
    lines = out.splitlines()
    front = (run_dir / "front.csv").read_text().splitlines()
    assert lines[0].split() == ["arch", "acc", "params", "generation"]
    assert [line.split()[0] for line in lines[1:]] == [row.split(",")[0] for row in front[1:]]
    assert (run_dir / "plots" / "front.png").read_bytes().startswith(b"\x89PNG")
    code, out, _ = run_cli(["resume", str(run_dir)], capsys)
    assert "is complete (40 evaluations)" in out
    code, out, _ = run_cli(["resume", str(run_dir), "--generations", "5", "--quiet"], capsys)
    assert "60 architectures evaluated in 6 generations" in out
    code, out, _ = run_cli(["spaces"], capsys)
    assert "nb201" in out and "15,625" in out and "6,561" in out


def test_show_formats_plot_and_report(table, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert run_cli(evolve_args(table, run_dir), capsys)[0] == 0
    code, out, _ = run_cli(["show", str(run_dir), "--format", "csv", "--sort", "params"], capsys)
    rows = [line.split(",") for line in out.splitlines()]
    assert code == 0 and rows[0] == ["arch", "acc", "params", "generation"]
    assert [float(r[2]) for r in rows[1:]] == sorted(float(r[2]) for r in rows[1:])
    code, out, _ = run_cli(["plot", str(run_dir), "-o", str(tmp_path / "f.svg"), "--compare", str(run_dir)], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "f.svg") and (tmp_path / "f.svg").stat().st_size > 0
    code, out, _ = run_cli(["report", str(run_dir)], capsys)
    assert code == 0 and (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    code, out, err = run_cli(["export", str(run_dir), "--rank", "1", "-o", str(tmp_path / "best.json")], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "best.json") and "freshly initialised" in err
    for command in (["plot", str(tmp_path)], ["report", str(tmp_path)], ["show", str(run_dir), "--sort", "x"],
                    ["plot", str(run_dir), "-o", str(tmp_path / "f.jpg")], ["retrain", str(tmp_path)],
                    ["export", str(tmp_path), "--rank", "1", "-o", str(tmp_path / "x.pt")], ["retrain", str(run_dir), "--top", "0"]):
        code, _, err = run_cli(command, capsys)
        assert code == 2 and err.startswith("evonas: error: ") and err.count("\n") == 1, (command, err)


def evonas(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "evonas", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


SUPERNET_ARGS = ["--objectives", "acc,params", "--epochs", "3", "--widths", "channels=4,head_channels=16", "--batch-size", "32",
                 "--population", "6", "--generations", "3", "--seed", "4", "--quiet"]


def wait_for(path, process, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_during_supernet_training_and_during_search_then_resume_gives_the_uninterrupted_front(tmp_path):
    whole = evonas("evolve", *SUPERNET_ARGS, "--run-dir", str(tmp_path / "whole"))
    cut = tmp_path / "cut"
    process = evonas("evolve", *SUPERNET_ARGS, "--run-dir", str(cut))
    wait_for(cut / "evaluator" / "supernet.pt", process)  # the first epoch's checkpoint: training goes on
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not torch_load(cut / "evaluator" / "supernet.pt")["complete"] and not (cut / "LATEST").exists()
    process = evonas("resume", str(cut), "--quiet")
    wait_for(cut / "generations" / "000000.json", process)  # the search has started
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert torch_load(cut / "evaluator" / "supernet.pt")["complete"]
    assert not (cut / "generations" / "000003.json").exists()  # killed mid-search: the last generation is still to come
    process = evonas("resume", str(cut), "--quiet")
    assert process.wait() == 0, process.stderr.read()
    assert whole.wait() == 0, whole.stderr.read()
    assert (cut / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert (cut / "front.csv").read_text().startswith("arch,acc,params\n")


def torch_load(path):
    import torch

    return torch.load(path, weights_only=True)


def test_a_second_search_reuses_a_trained_supernet_with_other_objectives(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    tiny = ["--data", "digits", "--epochs", "1", "--widths", "channels=4,head_channels=16", "--population", "4",
            "--generations", "1", "--quiet"]
    assert run_cli(["evolve", "--objectives", "acc,params", *tiny, "--run-dir", str(first)], capsys)[0] == 0
    # the same seed: generation 0 draws the same architectures, whatever the objectives
    code, _, err = run_cli(["evolve", "--objectives", "acc,flops", "--constraint", "flops<=1e9", "--supernet", str(first),
                            *tiny, "--run-dir", str(second)], capsys)
    assert code == 0, err
    assert (second / "evaluator" / "supernet.pt").read_bytes() == (first / "evaluator" / "supernet.pt").read_bytes()
    accuracies = [{row["arch"]: row["acc"] for row in csv.DictReader(open(run / "evaluations.csv"))} for run in (first, second)]
    shared = accuracies[0].keys() & accuracies[1].keys()
    assert len(shared) >= 4
    assert all(accuracies[0][arch] == accuracies[1][arch] for arch in shared)  # the same architecture, the same accuracy


@pytest.mark.parametrize(
    "args,message",
    [
        (["--evaluator", "table", "--table", "t.csv", "--epochs", "3"], "evaluator 'table' does not take --epochs"),
        (["--widths", "channels"], "expected NAME=INTEGER"),
        (["--strategy", "nope"], "unknown strategy 'nope'; known: eps, greedy, spos"),
        (["--supernet", "nowhere"], "no trained supernet there"),
        (["--objectives", "acc,energy:min"], "cannot measure 'energy'"),
        (["--space", "nb201", "--widths", "head_channels=8"], "does not take width options"),
    ],
)
def test_network_evaluator_options_fail_in_one_line(tmp_path, capsys, args, message):
    code, _, err = run_cli(["evolve", *args, "--run-dir", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_resume_honours_a_new_evaluation_budget(table, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert run_cli(evolve_args(table, run_dir), capsys)[0] == 0
    code, out, err = run_cli(["resume", str(run_dir), "--evaluations", "55", "--quiet"], capsys)
    assert code == 0, err
    assert "55 architectures evaluated" in out
    assert len((run_dir / "evaluations.csv").read_text().splitlines()) == 1 + 55
    assert json.loads((run_dir / "run.json").read_text())["evaluations"] == 55


def test_an_error_during_a_run_is_an_error_not_a_warning_and_the_run_resumes(table, tmp_path, capsys, monkeypatch):
    # An evaluation's own exception is recorded as a failed row (tests/test_parallel.py); an error of the
    # run itself, here a checkpoint that cannot be written, must stop it with exit 2.
    from evonas.checkpoint import RunStore
    from evonas.errors import CheckpointError

    assert run_cli(evolve_args(table, tmp_path / "whole"), capsys)[0] == 0
    original = RunStore.write_generation

    def failing(self, generation, payload):
        if generation == 2:
            raise CheckpointError("the run's disk went away")
        return original(self, generation, payload)

    monkeypatch.setattr(RunStore, "write_generation", failing)
    code, out, err = run_cli(evolve_args(table, tmp_path / "cut"), capsys)
    assert code == 2 and err == "evonas: error: the run's disk went away\n" and out == ""
    monkeypatch.setattr(RunStore, "write_generation", original)
    assert run_cli(["resume", str(tmp_path / "cut"), "--quiet"], capsys)[0] == 0
    assert (tmp_path / "cut" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()


def test_the_generation_bar_starts_after_the_evaluators_preparation(table, tmp_path, capsys, monkeypatch):
    import evonas.cli as cli
    from evonas.evaluators.table import TableEvaluator

    events = []
    monkeypatch.setattr(TableEvaluator, "prepare", lambda self, progress=True: events.append(("prepare", progress)))
    original = cli._Progress.__init__

    def recording(self, search, enabled):
        events.append(("generation bar", search.evaluated))
        original(self, search, enabled)

    monkeypatch.setattr(cli._Progress, "__init__", recording)
    args = evolve_args(table, tmp_path / "run")
    args.remove("--quiet")
    assert run_cli(args, capsys)[0] == 0
    assert events[:2] == [("prepare", True), ("generation bar", 0)]

@pytest.mark.parametrize(
    "strategy,options,pool",
    [("greedy", ["m=4", "k=2", "pool=3"], 3), ("eps", ["population=3", "interval=2", "tournament=2"], 3)],
)
def test_strategy_options_reach_the_run_and_the_strategy_seeds_generation_0(strategy, options, pool, tmp_path, capsys):
    run_dir = tmp_path / "run"
    tiny = ["--data", "digits", "--epochs", "1", "--widths", "channels=4,head_channels=16", "--scoring-images", "64",
            "--objectives", "acc,params", "--population", "5", "--generations", "0", "--quiet"]
    given = [arg for option in options for arg in ("--strategy-option", option)]
    code, _, err = run_cli(["evolve", "--strategy", strategy, *given, *tiny, "--run-dir", str(run_dir)], capsys)
    assert code == 0, err
    recorded = json.loads((run_dir / "run.json").read_text())
    assert recorded["evaluator_options"]["strategy_options"] == {k: int(v) for k, v in (o.split("=") for o in options)}
    seeds = json.loads((run_dir / "seeds.json").read_text())["archs"]
    assert len(seeds) == pool
    rows = list(csv.DictReader(open(run_dir / "evaluations.csv")))
    assert [row["arch"] for row in rows[:pool]] == seeds and [row["operator"] for row in rows] == ["seed"] * pool + ["sample"] * 2


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--strategy", "greedy", "--strategy-option", "pool"], "expected NAME=VALUE, got 'pool'"),
        (["--strategy", "greedy", "--strategy-option", "pol=3"], "strategy 'greedy' does not take option 'pol' (it takes: m, k, pool, pool_prob)"),
        (["--strategy", "eps", "--strategy-option", "share=2"], "option share must be a number in (0, 1], got 2"),
    ],
)
def test_bad_strategy_options_are_one_line_and_exit_2(extra, message, tmp_path, capsys):
    code, _, err = run_cli(["evolve", *extra, "--data", "digits", "--run-dir", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_evolve_help_lists_the_registries(capsys):
    from evonas.evaluators import EVALUATORS
    from evonas.evaluators.strategies import STRATEGIES
    from evonas.operators import CROSSOVERS, MUTATIONS
    from evonas.spaces import SPACES

    code, out, _ = run_cli(["evolve", "--help"], capsys)
    flat = " ".join(out.split())
    assert code == 0
    for option, registry in (("--strategy", STRATEGIES), ("--evaluator", EVALUATORS), ("--space", SPACES),
                             ("--mutation", MUTATIONS), ("--crossover", CROSSOVERS)):
        assert ", ".join(registry) in flat.split(option, 1)[1], option
    assert "greedy: m, k, pool, pool_prob" in flat

def test_an_nb201_search_evaluates_one_cell_per_function_unless_told_apart(nb201_table, tmp_path, capsys):
    space = get_space("nb201")
    forms = {}
    for flag in ("--equivalents", "--no-equivalents"):
        run_dir = tmp_path / flag
        args = ["evolve", "--space", "nb201", "--evaluator", "table", "--table", str(nb201_table), "--objectives",
                "acc=cifar10_test_acc,latency=latency_fpga_ms", "--evaluations", "200", "--run-dir", str(run_dir), "--quiet", flag]
        assert run_cli(args, capsys)[0] == 0
        with open(run_dir / "evaluations.csv", newline="") as handle:
            archs = [row["arch"] for row in csv.DictReader(handle)]
        forms[flag] = [space.canonical(space.decode(a)) for a in archs]
        assert len(archs) == len(set(archs)) == 200
        assert json.loads((run_dir / "run.json").read_text())["search"]["equivalents"] == (flag == "--equivalents")
    assert len(set(forms["--equivalents"])) == 200  # no function twice
    assert len(set(forms["--no-equivalents"])) < 200  # the string search evaluates some functions more than once
