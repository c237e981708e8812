"""Malformed calls of the command line, one per row: each must end with exit code 2, exactly one line on
stderr, no traceback, and nothing left behind (no run directory, no output file). Then the behaviours that
are not errors but were once silent or crashed: a single objective, an unsatisfiable constraint."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import run_cli
from tests.tables import finished_run

RUN = "run"  # the run directory every evolve row names; it must not exist afterwards



def _image(path: Path, value: int) -> None:
    from PIL import Image

    Image.fromarray(np.full((8, 8), value, dtype=np.uint8)).save(path)


def _image_folder(root: Path, broken: str | None) -> Path:
    """Two class folders of six 8x8 images each; ``broken`` ("garbage", "empty" or "truncated") spoils b/3.png."""
    for label, name in enumerate("ab"):
        (root / name).mkdir(parents=True)
        for k in range(6):
            _image(root / name / f"{k}.png", 40 * label + k)
    spoilt = root / "b" / "3.png"
    if broken == "garbage":
        spoilt.write_bytes(b"not a picture at all")
    elif broken == "empty":
        spoilt.write_bytes(b"")
    elif broken == "truncated":
        spoilt.write_bytes(spoilt.read_bytes()[:40])
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, synthetic_table):
    """Hostile input files, and a finished two-objective table run to point output commands at."""
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 8, 8), dtype=np.float32), np.arange(60) % 3
    nan = x.copy()
    nan[17, 3, 4] = np.nan
    np.savez(root / "nan.npz", x=nan, y=y)
    np.savez(root / "one-class.npz", x=x, y=np.zeros(60, dtype=np.int64))
    np.savez(root / "huge-label.npz", x=x, y=np.where(np.arange(60) == 5, 3_000_000, y))
    np.savez(root / "gap.npz", x=x, y=y * 2)  # labels 0, 2, 4: class 1 and 3 have no images
    np.savez(root / "three.npz", x=x[:3], y=np.arange(3))
    np.savez(root / "text.npz", x=np.full((60, 8, 8), "a"), y=y)
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    with open(root / "inf.csv", "w", newline="") as handle:
        rows = list(csv.reader(open(synthetic_table)))[:50]
        rows[7][rows[0].index("params")] = "inf"
        csv.writer(handle).writerows(rows)
    for broken in ("garbage", "empty", "truncated"):
        _image_folder(root / f"images-{broken}", broken)
    (root / "a-file").write_text("a file where a folder should be\n")
    finished_run(synthetic_table, root / "finished", generations=1)
    return root


def evolve(*extra, objectives="acc=top1,params", table="{table}", run_dir=RUN):
    return ["evolve", "--space", "macro", "--evaluator", "table", "--table", table, "--objectives", objectives,
            "--population", "6", "--generations", "1", "--run-dir", run_dir, "--quiet", *extra]


def train(data, *extra):
    return ["evolve", "--space", "macro", "--evaluator", "train", "--data", data, "--objectives", "acc,params",
            "--epochs", "1", "--population", "2", "--generations", "0", "--run-dir", RUN, "--quiet", *extra]


# id, arguments ({in}: the inputs folder, {table}: a full macro table), what stderr must say, the file or
# folder that must not exist afterwards (beyond that, nothing may change in the inputs or the working folder).
CASES = [
    ("empty-objective", evolve(objectives="acc=top1,,params"), "empty objective in 'acc=top1,,params'", RUN),
    ("trailing-comma", evolve(objectives="acc=top1,params,"), "empty objective", RUN),
    ("same-column-twice", evolve(objectives="acc=top1,acc2=top1:max"), "objectives acc and acc2 both read 'top1'", RUN),
    ("objective-named-arch", evolve(objectives="acc=top1,arch=params:min"), "objective 'arch' would clash", RUN),
    ("objective-named-seconds", evolve(objectives="acc=top1,seconds=params:min"), "objective 'seconds' would clash", RUN),
    ("objective-named-generation", evolve(objectives="acc=top1,generation=params:min"), "'generation' would clash", RUN),
    ("objective-named-status", evolve(objectives="status=top1:max,params"), "objective 'status' would clash", RUN),
    ("constraint-on-uid", evolve("--constraint", "uid<=3"), "constraint on 'uid' would clash", RUN),
    ("binary-table", evolve(table="{in}/binary.csv"), "binary.csv is not a CSV text file", RUN),
    ("inf-in-table", evolve(table="{in}/inf.csv"), "line 8, column 'params': value is infinite", RUN),
    ("screen-widths-zero", evolve("--screen", "synflow", "--screen-widths", "channels=0"),
     "width option channels=0 must be a positive integer", RUN),
    ("widths-zero", train("digits", "--widths", "channels=0"), "width option channels=0 must be a positive integer", RUN),
    ("head-widths-zero", train("digits", "--widths", "head_channels=0"), "head_channels=0 must be a positive integer", RUN),
    ("nan-pixel", train("{in}/nan.npz"), "nan.npz: 1 image(s) hold NaN or infinite values, the first is x[17]", RUN),
    ("one-class", train("{in}/one-class.npz"), "the labels hold 1 class(es); a classifier needs at least two", RUN),
    ("label-3-million", train("{in}/huge-label.npz"), "labels must be 0..K-1 with every class present; they are 4 "
     "distinct values from 0 to 3000000", RUN),
    ("label-gaps", train("{in}/gap.npz"), "3 distinct values from 0 to 4 (renumber them 0..2)", RUN),
    ("three-samples", train("{in}/three.npz"), "three.npz: too few images for the splits", RUN),
    ("text-pixels", train("{in}/text.npz"), "x must hold real numbers", RUN),
    ("garbage-image", train("{in}/images-garbage"), "images-garbage/b/3.png is not a readable image", RUN),
    ("zero-byte-image", train("{in}/images-empty"), "images-empty/b/3.png is not a readable image", RUN),
    ("truncated-image", train("{in}/images-truncated"), "images-truncated/b/3.png is not a readable image", RUN),
    ("report-unwritable", ["report", "{in}/finished", "-o", "{in}/a-file/report.html"], "cannot write", "{in}/a-file/report.html"),
    ("plot-unwritable", ["plot", "{in}/finished", "-o", "{in}/a-file/front.png"], "cannot write", "{in}/a-file/front.png"),
    ("compare-unwritable", ["plot", "{in}/finished", "--compare", "{in}/finished", "-o", "{in}/a-file/c.png"], "cannot write",
     "{in}/a-file/c.png"),
    ("report-of-no-run", ["report", "{in}", "-o", "{in}/new/report.html"], "is not an evonas run directory", "{in}/new"),
    ("export-unwritable", ["export", "{in}/finished", "--rank", "1", "-o", "{in}/a-file/best.json"], "cannot write",
     "{in}/a-file/best.json"),
]


@pytest.mark.parametrize("args,message,absent", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_call_is_one_line_exit_2_and_leaves_nothing(inputs, synthetic_table, tmp_path, monkeypatch, capsys,
                                                             args, message, absent):
    monkeypatch.chdir(tmp_path)
    fill = {"in": inputs, "table": synthetic_table}
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*"))
    code, out, err = run_cli([a.format(**fill) for a in args], capsys)
    assert code == 2, err
    assert err.startswith("evonas: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert not Path(absent.format(**fill)).exists()
    assert sorted(p.relative_to(inputs) for p in inputs.rglob("*")) == before  # nothing written anywhere else either
    assert not list(tmp_path.iterdir())


def test_single_objective_runs_end_to_end(synthetic_table, tmp_path, capsys):
    run = tmp_path / "single"
    code, out, err = run_cli(evolve(objectives="acc=top1", table=synthetic_table, run_dir=run), capsys)
    assert code == 0, err
    front = list(csv.DictReader(open(run / "front.csv")))
    rows = list(csv.DictReader(open(run / "evaluations.csv")))
    best = max(float(r["acc"]) for r in rows)
    assert front and {float(r["acc"]) for r in front} == {best} and list(front[0]) == ["arch", "acc"]
    assert (run / "plots" / "front.png").stat().st_size > 0 and (run / "plots" / "hypervolume.png").stat().st_size > 0
    code, out, err = run_cli(["show", run, "--format", "csv"], capsys)
    assert code == 0 and out.splitlines()[1].split(",")[:2] == [front[0]["arch"], f"{best:.6g}"]
    for args in (["plot", run, "-o", tmp_path / "f.svg"], ["plot", run, "--compare", run, "-o", tmp_path / "c.svg"],
                 ["report", run, "-o", tmp_path / "r.html"], ["export", run, "--rank", "1", "-o", tmp_path / "best.json"]):
        code, out, err = run_cli(args, capsys)
        assert code == 0 and "Traceback" not in err, (args, err)
    assert 'id="final-front"' in (tmp_path / "f.svg").read_text() and (tmp_path / "f-hypervolume.svg").is_file()
    assert (tmp_path / "best.json").read_text().count(front[0]["arch"]) == 1


def test_unsatisfiable_constraint_ends_with_a_warning_naming_the_closest(synthetic_table, tmp_path, capsys):
    code, out, err = run_cli(evolve("--constraint", "params<=0", table=synthetic_table, run_dir=tmp_path / "run"), capsys)
    assert code == 0
    assert list(csv.reader(open(tmp_path / "run" / "front.csv"))) == [["arch", "acc", "params"]]
    rows = list(csv.DictReader(open(tmp_path / "run" / "evaluations.csv")))
    least = min(float(r["params"]) for r in rows)
    (warning,) = err.splitlines()
    assert warning.startswith("evonas: warning: the front is empty: no architecture met the constraints; the closest")
    assert f"params={least:.6g} (params<=0.0)" in warning and f"violation of {least:.3g}" in warning


def test_a_full_disk_is_one_line_naming_the_file(inputs, tmp_path, monkeypatch, capsys):
    import errno

    import evonas.checkpoint

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(evonas.checkpoint, "atomic_write", full)
    code, out, err = run_cli(["report", inputs / "finished", "-o", tmp_path / "report.html"], capsys)
    assert code == 2 and err == f"evonas: error: No space left on device: {tmp_path / 'report.html'}\n"
