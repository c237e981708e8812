"""Plug-ins from outside evonas: an installed third-party-style package (tests/plugin_pkg) found through entry
points, and ``module:attr`` names from the working directory (tests/local_plugin.py).

The package is installed once for this module, offline, into a folder of its own that the ``evonas`` commands
run here see on their PYTHONPATH (so the running environment is left as it was, and "uninstalled" is a command
run without it); .ci/run also installs it into a virtual environment and uninstalls it there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evonas.checkpoint import config_digest
from evonas.errors import ConfigError
from evonas.evaluators import EVALUATORS
from evonas.populations.manager import SearchOptions
from evonas.registry import Registry
from evonas.search import RunConfig, Search
from evonas.testing import check_evaluator, check_space, check_strategy
from tests.cli_runner import run_cli
from tests.local_plugin import OnesEvaluator

ROOT = Path(__file__).resolve().parents[1]
EVONAS = shutil.which("evonas", path=str(Path(sys.executable).parent)) or shutil.which("evonas")
TOY_RECORD = {"distribution": "evonas-toy-plugin", "version": "0.1.0", "name": "toy"}
TOY_ARGS = ["--space", "toy", "--evaluator", "toy", "--objectives", "acc,params", "--population", "6", "--seed", "3", "--quiet"]
LOCAL = "tests.local_plugin"


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory) -> Path:
    """The folder the toy plug-in package is installed into (built from a copy: the source tree stays clean)."""
    folder = tmp_path_factory.mktemp("toy-plugin")
    source = shutil.copytree(ROOT / "tests" / "plugin_pkg", folder / "source")
    site = folder / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", "--no-deps", "--target", str(site), str(source)],
        check=True, capture_output=True,
    )
    return site


def evonas(*args, cwd: Path, site: Path | None = None) -> tuple[int, str, str]:
    """``evonas ARGS`` as a user runs it: the console script, in ``cwd``, seeing the plug-ins installed in ``site``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    done = subprocess.run([EVONAS, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_installed_plugin_is_listed_by_evonas_spaces_and_in_help(toy_site, tmp_path):
    code, out, err = evonas("spaces", cwd=tmp_path, site=toy_site)
    assert code == 0, err
    toy = [line for line in out.splitlines() if line.startswith("toy ")]
    assert len(toy) == 1 and "81 architectures" in toy[0] and "[plug-in: evonas_toy_plugin.space:ToySpace from evonas-toy-plugin 0.1.0]" in toy[0]
    assert out.splitlines()[0].startswith("nb201") and "plug-in" not in out.replace(toy[0], "")  # evonas's own first, unmarked
    code, out, _ = evonas("evolve", "--help", cwd=tmp_path, site=toy_site)
    flat = " ".join(out.split())
    for option, names in (("--space", "surgery, toy, module:attr"), ("--evaluator", "surgery, toy, module:attr"), ("--strategy", "eps, toy, module:attr")):
        assert names in flat.split(option + " ", 1)[1].split(" --", 1)[0], option
    code, out, _ = evonas("spaces", cwd=tmp_path)
    assert code == 0 and "toy" not in out


def test_a_run_of_the_plugin_records_it_resumes_and_needs_it(toy_site, tmp_path):
    code, _, err = evonas("evolve", *TOY_ARGS, "--generations", "1", "--run-dir", "run", cwd=tmp_path, site=toy_site)
    assert code == 0, err
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["plugins"]
    assert recorded == [
        {**TOY_RECORD, "kind": "space", "target": "evonas_toy_plugin.space:ToySpace"},
        {**TOY_RECORD, "kind": "evaluator", "target": "evonas_toy_plugin.evaluator:ToyEvaluator"},
    ]
    code, _, err = evonas("resume", "run", "--generations", "3", "--quiet", cwd=tmp_path, site=toy_site)
    assert code == 0 and not err, err
    code, _, err = evonas("evolve", *TOY_ARGS, "--generations", "3", "--run-dir", "whole", cwd=tmp_path, site=toy_site)
    assert code == 0, err
    front = (tmp_path / "run" / "front.csv").read_text()
    assert front == (tmp_path / "whole" / "front.csv").read_text() and len(front.splitlines()) > 2

    code, _, err = evonas("resume", "run", "--generations", "4", cwd=tmp_path)  # the plug-in uninstalled
    assert code == 2
    assert one_error_line(err) == (
        "evonas: error: this run used the space plug-in 'toy' (evonas_toy_plugin.space:ToySpace from evonas-toy-plugin 0.1.0), "
        "which is not installed: install evonas-toy-plugin to resume it"
    )

    document = json.loads((tmp_path / "run" / "run.json").read_text())
    document["plugins"][1]["version"] = "0.0.9"  # the run started with an older release of the plug-in
    (tmp_path / "run" / "run.json").write_text(json.dumps(document))
    code, _, err = evonas("resume", "run", "--generations", "4", "--quiet", cwd=tmp_path, site=toy_site)
    assert code == 0
    assert one_error_line(err) == (
        "evonas: warning: the evaluator plug-in 'toy' is evonas_toy_plugin.evaluator:ToyEvaluator from evonas-toy-plugin 0.1.0 now, "
        "evonas_toy_plugin.evaluator:ToyEvaluator from evonas-toy-plugin 0.0.9 when the run started; resuming with it"
    )


def test_the_toy_plugin_passes_the_conformance_suite(toy_site, monkeypatch):
    monkeypatch.syspath_prepend(str(toy_site))
    from evonas_toy_plugin.evaluator import ToyEvaluator
    from evonas_toy_plugin.space import ToySpace
    from evonas_toy_plugin.strategy import ToyStrategy

    space = ToySpace()
    check_space(space)
    check_evaluator(lambda state_dir: ToyEvaluator(space=space, sources={"acc": "acc", "size": "params"}, state_dir=state_dir), space)
    check_strategy(ToyStrategy, space)


def test_listing_installed_plugins_imports_none_of_them_nor_torch(toy_site):
    script = (
        "import sys\nimport evonas.cli\nfrom evonas.spaces import SPACES\nfrom evonas.evaluators import EVALUATORS\n"
        "assert list(SPACES)[-1] == 'toy' and 'toy' in EVALUATORS and SPACES.origin('toy')['version'] == '0.1.0'\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('evonas_toy_plugin', 'torch')))\n"
        "assert not loaded, loaded\n"
        "assert SPACES['toy'].__module__ == 'evonas_toy_plugin.space'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(toy_site)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_registry_lists_its_own_entries_then_installed_plugins(toy_site, monkeypatch):
    monkeypatch.syspath_prepend(str(toy_site))
    registry = Registry("space", {"macro": "evonas.spaces.macro:MacroSpace"}, group="evonas.spaces")
    assert list(registry) == ["macro", "toy"] and len(registry) == 2 and "toy" in registry and "nope" not in registry
    assert registry.origin("macro") is None
    assert registry.origin("toy") == {**TOY_RECORD, "target": "evonas_toy_plugin.space:ToySpace"}
    assert registry["toy"]().name == "toy"
    registry.register("mine", "tests.local_plugin:ParitySpace")
    assert list(registry) == ["macro", "mine", "toy"] and registry.origin("mine") == {"name": "mine", "target": "tests.local_plugin:ParitySpace"}


def test_a_registered_name_comes_before_an_installed_plugin_of_the_same_name(toy_site, monkeypatch):
    monkeypatch.syspath_prepend(str(toy_site))
    registry = Registry("space", {"toy": f"{LOCAL}:ParitySpace"}, group="evonas.spaces")
    assert list(registry) == ["toy"] and registry["toy"].name == "parity" and registry.origin("toy") is None


def test_module_attr_plugins_from_the_working_directory(tmp_path):
    args = ["evolve", "--space", f"{LOCAL}:ParitySpace", "--evaluator", f"{LOCAL}:OnesEvaluator", "--mutation", f"{LOCAL}:flip_one",
            "--objectives", "acc,params", "--population", "4", "--local-search", "0", "--quiet", "--run-dir", tmp_path / "run"]
    code, _, err = evonas(*args, "--generations", "1", cwd=ROOT)  # `tests` is importable only from the checkout
    assert code == 0, err
    document = json.loads((tmp_path / "run" / "run.json").read_text())
    assert document["space"] == f"{LOCAL}:ParitySpace"
    assert document["plugins"] == [
        {"kind": kind, "name": f"{LOCAL}:{attr}", "target": f"{LOCAL}:{attr}"}
        for kind, attr in (("space", "ParitySpace"), ("evaluator", "OnesEvaluator"), ("mutation", "flip_one"))
    ]
    rows = (tmp_path / "run" / "evaluations.csv").read_text().splitlines()
    assert any(row.split(",")[2].count("1") + row.split(",")[2].count("0") == 6 for row in rows[1:])  # the space's own strings
    assert any(f"{LOCAL}:flip_one" in row for row in rows[1:])

    code, _, err = evonas("resume", tmp_path / "run", "--generations", "2", cwd=tmp_path)
    assert code == 2
    assert one_error_line(err).startswith(
        f"evonas: error: this run used the space plug-in '{LOCAL}:ParitySpace' ({LOCAL}:ParitySpace), which cannot be loaded "
        f"(cannot import space '{LOCAL}:ParitySpace': ModuleNotFoundError: No module named 'tests'): resume from the folder it is importable from"
    )
    code, _, err = evonas("resume", tmp_path / "run", "--generations", "2", cwd=ROOT)
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "nosuch.module:Space"], "cannot import space 'nosuch.module:Space': ModuleNotFoundError: No module named 'nosuch'"),
        (["--space", f"{LOCAL}:Nope"], f"cannot import space '{LOCAL}:Nope': module '{LOCAL}' has no attribute 'Nope'"),
        (["--space", f"{LOCAL}:flip_one"], f"space '{LOCAL}:flip_one' is <function flip_one"),
        (["--space", f"{LOCAL}:ParitySpace", "--evaluator", f"{LOCAL}:ParitySpace"],
         f"evaluator '{LOCAL}:ParitySpace' is <class '{LOCAL}.ParitySpace'>, not a subclass of evonas.evaluators.Evaluator"),
        (["--space", "nope"], "unknown space 'nope'; known: macro, mobile, nb201, surgery"),
        (["--space", f"{LOCAL}:ParitySpace", "--evaluator", f"{LOCAL}:OnesEvaluator", "--mutation", "nosuch:flip"],
         "cannot import mutation 'nosuch:flip': ModuleNotFoundError: No module named 'nosuch'"),
        (["--space", f"{LOCAL}:ParitySpace", "--evaluator", f"{LOCAL}:OnesEvaluator", "--mutation", "json:loads"],
         "the mutation 'json:loads' (json:loads(s, *, cls=None,"),
        (["--space", f"{LOCAL}:ParitySpace", "--evaluator", f"{LOCAL}:OnesEvaluator", "--crossover", "json:dumps"],
         "cannot be called as crossover(a, b, space, rng=...)"),
    ],
)
def test_a_bad_plugin_name_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    code, _, err = run_cli(["evolve", *args, "--objectives", "acc,params", "--run-dir", tmp_path / "run", "--quiet"], capsys)
    assert code == 2 and message in one_error_line(err)
    assert not (tmp_path / "run").exists()


def parity_config(**changes) -> RunConfig:
    settings = {"space": f"{LOCAL}:ParitySpace", "evaluator": f"{LOCAL}:OnesEvaluator", "objectives": ("acc", "params"),
                "search": SearchOptions(population=4), "generations": 1, "seed": 1}
    return RunConfig(**{**settings, **changes})


def test_the_record_is_absent_without_plugins_and_outside_the_fingerprint(synthetic_table, tmp_path):
    own = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)}, objectives=("acc=top1", "params"), generations=0)
    with Search.start(own, tmp_path / "own") as search:
        search.run()
    assert "plugins" not in json.loads((tmp_path / "own" / "run.json").read_text())
    with Search.start(parity_config(), tmp_path / "run") as search:
        search.run()
    document = json.loads((tmp_path / "run" / "run.json").read_text())
    assert [record["kind"] for record in document["plugins"]] == ["space", "evaluator"]
    assert config_digest(document) == config_digest({k: v for k, v in document.items() if k != "plugins"}) == document["fingerprint"]["config"]
    document["plugins"] = "edited"
    (tmp_path / "run" / "run.json").write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="run.json's plugins record is malformed: 'edited'"):
        Search.resume(tmp_path / "run")


def test_a_plugin_registered_from_code_must_be_registered_again_to_resume(tmp_path):
    EVALUATORS.register("ones", OnesEvaluator)
    try:
        with Search.start(parity_config(evaluator="ones"), tmp_path / "run") as search:
            search.run()
        record = json.loads((tmp_path / "run" / "run.json").read_text())["plugins"][1]
        assert record == {"kind": "evaluator", "name": "ones", "target": f"{LOCAL}:OnesEvaluator"}
        with Search.resume(tmp_path / "run", generations=2) as search:  # registered: resumes
            search.run()
    finally:
        EVALUATORS._entries.pop("ones")
    with pytest.raises(ConfigError, match=rf"evaluator plug-in 'ones' \({LOCAL}:OnesEvaluator\), which is not installed: register it again"):
        Search.resume(tmp_path / "run", generations=3)
