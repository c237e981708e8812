"""benchmarks/kill_resume.py at a small size: SIGKILL at random moments (and inside checkpoint writes), resume each
time, and every resumed run ends as the uninterrupted one did."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kill_resume.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("kill_resume", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_resume_after_a_sigkill_mid_run_matches_the_uninterrupted_run(synthetic_table, tmp_path, capsys):
    results = load_benchmark().main(["--kills", "4", "--runs", "table", "--table", str(synthetic_table), "--objectives",
                                     "acc=top1,params", "--table-generations", "6", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    print(out)  # the seed of the kill moments, shown if the test fails
    assert out.startswith("seed ")
    tally = results["table"]
    assert tally.kills == 4  # counted only when the run was unfinished at the kill
    assert tally.resumes == tally.kills - tally.phases["start-up"]  # a kill before run.json existed is followed by evolve
    assert tally.resumes_matched == tally.resumes
    assert tally.copies_matched == tally.copies and not tally.corrupt
