"""Hostile run directories, one case per row: what `evonas` answers (exit code, exactly one line on stderr,
no traceback) and what it leaves behind."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from evonas.checkpoint import RunStore, _checksum, config_digest
from evonas.cli import main
from tests.cli_runner import run_cli
from tests.tables import write_macro_table

EVOLVE = ["evolve", "--space", "macro", "--evaluator", "table", "--objectives", "acc=top1,params", "--constraint", "params<=8000",
          "--population", "10", "--generations", "3", "--quiet"]



@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished table run (4 generations of 10) and its table; cases work on copies of the run."""
    folder = tmp_path_factory.mktemp("finished")
    table = write_macro_table(folder / "macro.csv")
    assert main_ok(EVOLVE + ["--table", table, "--run-dir", folder / "run"])
    return folder / "run", table


def main_ok(args) -> bool:
    try:
        main([str(a) for a in args])
    except SystemExit as stop:
        return stop.code == 0
    return True


def edit_json(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def rewrite_column(table, column, factor):
    rows = list(csv.reader(open(table)))
    at = rows[0].index(column)
    for row in rows[1:]:
        row[at] = repr(float(row[at]) * factor)
    with open(table, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def forge_generation(run, field, value):
    """Rewrites the newest generation file with ``field`` changed and a valid checksum."""
    path = run / "generations" / "000003.json"
    document = json.loads(path.read_text())
    del document["checksum"]
    document[field] = value
    document["checksum"] = _checksum(document)
    path.write_text(json.dumps(document))


def own_table_run(run, table, tmp_path):
    """A run on a copy of the table (so that the case may edit the table); returns the copy."""
    copy = tmp_path / "own.csv"
    shutil.copy(table, copy)
    shutil.rmtree(run)
    assert main_ok(EVOLVE + ["--table", copy, "--run-dir", run])
    return copy


def stop_during_generation_0(run):
    """As if killed 4 evaluations into generation 0: 4 rows logged, no generation file."""
    lines = (run / "evaluations.csv").read_text().splitlines(keepends=True)
    (run / "evaluations.csv").write_text("".join(lines[:5]))
    for path in (run / "generations").iterdir():
        path.unlink()
    (run / "LATEST").unlink()
    (run / "front.csv").unlink()


HELD: list[RunStore] = []


def hold_lock(run):
    holder = RunStore.open(run)
    holder.lock()
    HELD.append(holder)


def forge_config_checksum(document):
    document["seed"] = 9
    document["fingerprint"]["config"] = config_digest(document)


def edit_row(run, generation):
    """Changes the accuracy of the first row of ``generation`` in evaluations.csv."""
    lines = (run / "evaluations.csv").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{generation},"))
    fields = lines[at].split(",")
    fields[6] = "99.5"
    lines[at] = ",".join(fields)
    (run / "evaluations.csv").write_text("".join(lines))


def cut_one_byte(run):
    os.truncate(run / "evaluations.csv", (run / "evaluations.csv").stat().st_size - 1)


def edited_table(run, table, tmp):
    rewrite_column(own_table_run(run, table, tmp), "params", 10)
    return ["resume", run, "--evaluations", "60", "--quiet"]


def extend(run):
    return ["resume", run, "--generations", "5", "--quiet"]


def then(action, args):
    """Runs ``action`` (a change to the run directory), then gives ``args``."""
    action()
    return args


# Each case: prepare(run, table, tmp_path) -> the command (after changing the run directory), the exit code,
# a phrase of the single stderr line ("" for none), and what must hold afterwards.
CASES = {
    "edited table column": (edited_table, 2, "the table changed since the run started", "unchanged"),
    "edited objective column in run.json": (
        lambda run, table, tmp: then(lambda: edit_json(run / "run.json", lambda d: d.update(objectives=["acc=energy_mj", "params"])), extend(run)),
        2, "run.json was edited since the run started", "unchanged",
    ),
    "edited seed in run.json": (
        lambda run, table, tmp: then(lambda: edit_json(run / "run.json", lambda d: d.update(seed=9)), extend(run)),
        2, "run.json was edited since the run started", "unchanged",
    ),
    "edited constraint in run.json": (
        lambda run, table, tmp: then(lambda: edit_json(run / "run.json", lambda d: d.update(constraints=["params<=1e9"])), extend(run)),
        2, "run.json was edited since the run started", "unchanged",
    ),
    "seed and its config checksum both edited in run.json": (
        lambda run, table, tmp: then(lambda: edit_json(run / "run.json", forge_config_checksum), extend(run)),
        2, "does not carry the fingerprint its generations were written with", "unchanged",
    ),
    "another process holds the lock": (
        lambda run, table, tmp: then(lambda: hold_lock(run), extend(run)), 2, "is in use by another evonas process (pid", "unchanged",
    ),
    "stale lock file of a killed process": (
        lambda run, table, tmp: then(lambda: (run / ".lock").write_text("999999\n"), extend(run)), 0, "", "extended",
    ),
    "one byte cut from evaluations.csv (truncate -s -1)": (
        lambda run, table, tmp: then(lambda: cut_one_byte(run), extend(run)),
        0, "000003.json (truncated or edited); falling back to generation 2", "extended",
    ),
    "value edited in generation 1's rows": (
        lambda run, table, tmp: then(lambda: edit_row(run, generation=1), extend(run)),
        0, "falling back to generation 0 (3 generations skipped)", "extended",
    ),
    "truncated evaluations.csv read by show": (
        lambda run, table, tmp: then(lambda: cut_one_byte(run), ["show", run]), 0, "falling back to generation 2", "unchanged",
    ),
    "truncated evaluations.csv read by report": (
        lambda run, table, tmp: then(lambda: cut_one_byte(run), ["report", run, "-o", tmp / "r.html"]), 0, "", "unchanged",
    ),
    "truncated evaluations.csv read by plot": (
        lambda run, table, tmp: then(lambda: cut_one_byte(run), ["plot", run, "-o", tmp / "f.svg"]), 0, "", "unchanged",
    ),
    "budget below the evaluations done": (
        lambda run, table, tmp: ["resume", run, "--evaluations", "25"], 2, "--evaluations 25 is below the 40 evaluations", "unchanged",
    ),
    "budget below the generations done": (
        lambda run, table, tmp: ["resume", run, "--generations", "1"], 2, "--generations 1 is below the generation 3", "unchanged",
    ),
    "generation forged with a valid checksum, population of strings": (
        lambda run, table, tmp: then(lambda: forge_generation(run, "population", ["1", "2"]), extend(run)),
        0, "field 'population' is ['1', '2'], expected a list of uids; falling back to generation 2", "extended",
    ),
    "generation forged with a valid checksum, counter of the wrong type": (
        lambda run, table, tmp: then(lambda: forge_generation(run, "next_uid", "forty"), ["show", run]),
        0, "field 'next_uid' is 'forty', expected a non-negative integer; falling back to generation 2", "unchanged",
    ),
    "generation forged with a valid checksum, population naming unknown uids": (
        lambda run, table, tmp: then(lambda: forge_generation(run, "population", [4000]), extend(run)),
        2, "generation 3 lists uids that evaluations.csv lacks: [4000]", "unchanged",
    ),
    "temporary file of a write killed halfway": (
        lambda run, table, tmp: then(lambda: (run / ".front.csv.4242.tmp").write_text("arch,acc,par"), extend(run)), 0, "", "extended",
    ),
    "stopped during generation 0, resumed": (
        lambda run, table, tmp: then(lambda: stop_during_generation_0(run), ["resume", run, "--quiet"]), 0, "", "complete",
    ),
    "stopped during generation 0, evolve again with the same config": (
        lambda run, table, tmp: then(lambda: stop_during_generation_0(run), EVOLVE + ["--table", table, "--run-dir", run]),
        0, "already holds this run; continuing it", "complete",
    ),
    "evolve with another config into a run": (
        lambda run, table, tmp: EVOLVE + ["--table", table, "--run-dir", run, "--seed", "5"],
        2, "already holds a different run; choose another --run-dir", "unchanged",
    ),
    "run.json that is not JSON": (
        lambda run, table, tmp: then(lambda: (run / "run.json").write_text("{ seed: 1"), ["resume", run]), 2, "run.json is unreadable", "unchanged",
    ),
    "table holding part of the space": (
        lambda run, table, tmp: then(lambda: (tmp / "part.csv").write_text("arch,top1,params\n00000000,1,1\n"),
                                     EVOLVE + ["--table", tmp / "part.csv", "--run-dir", tmp / "new"]),
        2, "holds 1 of the 6,561 architectures", "no new run",
    ),
}


def snapshot(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_hostile_run_directory(finished, tmp_path, capsys, case):
    prepare, expected_code, phrase, after = CASES[case]
    base, table = finished
    run = tmp_path / "run"
    shutil.copytree(base, run)
    args = prepare(run, table, tmp_path)
    before = snapshot(run)
    code, out, err = run_cli(args, capsys)
    for holder in HELD:
        holder.close()
    assert code == expected_code, err
    assert "Traceback" not in err and "Traceback" not in out
    if phrase:
        assert err.count("\n") == 1 and phrase in err, err
        assert err.startswith("evonas: error: " if code else "evonas: warning: ")
    else:
        assert err == ""
    if after == "unchanged":
        assert snapshot(run) == before  # a refusal (or a reader) changes nothing
    elif after == "extended":
        assert "60 architectures evaluated in 6 generations" in out
        assert not list(run.rglob("*.tmp"))  # a temporary left by a killed write is cleared
    elif after == "complete":
        assert "40 architectures evaluated in 4 generations" in out
        assert (run / "front.csv").read_bytes() == (base / "front.csv").read_bytes()
    elif after == "no new run":
        assert not (tmp_path / "new").exists()


def test_a_resumed_run_that_fell_back_ends_as_the_uninterrupted_run(finished, straight, tmp_path, capsys):
    """Falling back over edited rows re-evaluates them: the extended run equals one run straight to 6 generations."""
    base, _ = finished
    run = tmp_path / "run"
    shutil.copytree(base, run)
    edit_row(run, generation=2)
    assert run_cli(["resume", run, "--generations", "5", "--quiet"], capsys)[0] == 0
    assert (run / "front.csv").read_bytes() == (straight / "front.csv").read_bytes()
    without_time = [[row[:-1] for row in csv.reader(open(d / "evaluations.csv"))] for d in (run, straight)]
    assert without_time[0] == without_time[1]


# The evonas command line in a process that, when it syncs the temporary file of TORN, cuts it to half its length and
# kills itself (SIGKILL): a write torn by a kill.
TORN_WRITE = """
import os, signal, sys
prefix = "." + os.environ["TORN"] + "."
real_fsync = os.fsync
def fsync(fd):
    path = os.readlink(f"/proc/self/fd/{fd}")
    if os.path.basename(path).startswith(prefix) and path.endswith(".tmp"):
        os.ftruncate(fd, os.fstat(fd).st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)
os.fsync = fsync
from evonas.cli import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def straight(finished, tmp_path_factory):
    """The finished run's configuration run straight to generation 5."""
    _, table = finished
    run = tmp_path_factory.mktemp("straight") / "run"
    assert main_ok([*EVOLVE[:-3], "--generations", "5", "--quiet", "--table", table, "--run-dir", run])
    return run


@pytest.mark.parametrize("torn", ["run.json", "front.csv", "000004.json", "LATEST"])
def test_a_kill_inside_a_write_leaves_the_old_file_and_the_run_resumes(finished, straight, tmp_path, capsys, torn):
    base, _ = finished
    run = tmp_path / "run"
    shutil.copytree(base, run)
    before = {name: (run / name).read_bytes() for name in ("run.json", "front.csv", "LATEST")}
    killed = subprocess.run([sys.executable, "-c", TORN_WRITE, "resume", str(run), "--generations", "5", "--quiet"],
                            env={**os.environ, "TORN": torn}, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (temporary,) = run.rglob(f".{torn}.*.tmp")  # the torn write, under its temporary name
    if torn in before:
        assert (run / torn).read_bytes() == before[torn]
    newest = 4 if torn == "LATEST" else 3  # LATEST is written after the generation file it names
    assert RunStore.open(run).restore_point().state["generation"] == newest
    code, out, err = run_cli(["resume", run, "--generations", "5", "--quiet"], capsys)
    assert code == 0 and err == "" and "60 architectures evaluated in 6 generations" in out
    assert not temporary.exists()
    assert (run / "front.csv").read_bytes() == (straight / "front.csv").read_bytes()


def test_a_second_process_is_refused_while_the_first_runs_and_a_killed_ones_lock_blocks_nothing(finished, tmp_path, capsys):
    base, _ = finished
    run = tmp_path / "run"
    shutil.copytree(base, run)
    first = subprocess.Popen([sys.executable, "-m", "evonas", "resume", str(run), "--generations", "400", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not (run / "generations" / "000005.json").exists():  # the first process is searching, lock held
        assert first.poll() is None, first.stderr.read()
    first.send_signal(signal.SIGSTOP)  # frozen mid-run, holding the lock
    assert not (run / "generations" / "000012.json").exists()
    code, out, err = run_cli(["resume", run, "--generations", "400", "--quiet"], capsys)
    assert code == 2 and err == f"evonas: error: {run} is in use by another evonas process (pid {first.pid}); wait for it to end\n"
    first.kill()
    first.wait()
    code, out, err = run_cli(["resume", run, "--generations", "12", "--quiet"], capsys)
    assert code == 0 and err == "" and "in 13 generations" in out
    rows = list(csv.reader(open(run / "evaluations.csv")))[1:]
    assert len({row[1] for row in rows}) == len(rows) == 130  # no uid twice
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)  # generations never go back
