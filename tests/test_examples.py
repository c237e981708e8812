"""The scripts of examples/ at --small, and the README's "Python API" section, each run as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(arguments: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def front(path: Path) -> list[dict[str, str]]:
    with open(path / "front.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py")} == {"custom_space_npz.py", "ask_tell.py", "supernet_reuse.py", "read_run.py"}


def test_custom_space_and_training_evaluator_on_npz(tmp_path):
    completed = run([str(EXAMPLES / "custom_space_npz.py"), "--small", "--out", "out"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    rows = front(tmp_path / "out" / "run")
    assert rows and all(re.fullmatch(r"depth=\d\|width=\d+\|kernel=\d", r["arch"]) for r in rows)
    assert max(float(r["acc"]) for r in rows) > 40  # three classes: training learnt something
    assert [line.split()[0] for line in completed.stdout.splitlines()[1:]] == [r["arch"] for r in rows]
    config = json.loads((tmp_path / "out" / "run" / "run.json").read_text())
    assert config["evaluator_options"]["function"] == "__main__:train_and_score"
    assert config["fingerprint"]["inputs"]["data"]["path"] == "out/bars.npz"
    again = run([str(EXAMPLES / "custom_space_npz.py"), "--small", "--out", "out"], tmp_path)  # continues: finished
    assert again.returncode == 0 and again.stdout == completed.stdout, again.stderr


def test_ask_tell_stopped_and_run_again_ends_as_a_run_never_stopped(tmp_path):
    stopped = run([str(EXAMPLES / "ask_tell.py"), "--small", "--run-dir", "stopped", "--stop-after", "6"], tmp_path)
    assert stopped.returncode == 3 and "stopping after 6 results" in stopped.stdout, stopped.stderr
    # the two of generation 1 (uids 4-7) not told before the stop: which two depends on which the pool finished first
    with open(tmp_path / "stopped" / "evaluations.csv", newline="") as handle:
        told = {int(row["uid"]) for row in csv.DictReader(handle)}
    assert told >= {0, 1, 2, 3} and len(told) == 6
    resumed = run([str(EXAMPLES / "ask_tell.py"), "--small", "--run-dir", "stopped"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "after generation 0 (4 evaluated)" in resumed.stdout
    assert f"generation 1: asked {sorted({4, 5, 6, 7} - told)}" in resumed.stdout
    whole = run([str(EXAMPLES / "ask_tell.py"), "--small", "--run-dir", "whole"], tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert (tmp_path / "stopped" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert len(front(tmp_path / "whole")) >= 2


def test_supernet_reused_under_a_latency_limit(tmp_path):
    completed = run([str(EXAMPLES / "supernet_reuse.py"), "--small", "--out", "out"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    limit = float(re.search(r"median latency ([0-9.]+) ms", completed.stdout).group(1))
    reused = tmp_path / "out" / "reused"
    config = json.loads((reused / "run.json").read_text())
    assert config["evaluator_options"] == {"supernet": str((tmp_path / "out" / "trained").absolute())}
    assert config["constraints"] == [f"latency<={limit!r}"]
    assert (reused / "evaluator" / "supernet.pt").is_file()
    with open(reused / "evaluations.csv", newline="") as handle:
        latencies = {row["arch"]: float(row["latency"]) for row in csv.DictReader(handle)}
    rows = front(reused)
    assert rows and all(latencies[r["arch"]] <= limit for r in rows)
    assert set(rows[0]) == {"arch", "acc", "params"}


def test_read_run_with_pandas(tmp_path):
    pytest.importorskip("pandas")
    completed = run([str(EXAMPLES / "read_run.py"), "--small", "demo"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "12 evaluations, 0 failed, in 3 generations" in completed.stdout
    archs = [r["arch"] for r in front(tmp_path / "demo")]
    printed = completed.stdout.split("front (")[1].splitlines()[2:]
    assert [line.split()[0] for line in printed] == archs
    assert completed.stdout.startswith("run demo: space read-run-demo, evaluator function, seed 0")


def readme_python_api() -> str:
    """The python code blocks of the README's "Python API" section, joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python API section has no python code block"
    return "\n".join(blocks)


def test_the_readme_python_api_section_runs_as_written(tmp_path):
    (tmp_path / "readme_api.py").write_text(readme_python_api())
    completed = run(["readme_api.py"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    for name in ("readme-evolve", "readme-ask-tell", "readme-subclass"):
        assert front(tmp_path / "checkpoints" / name), name
    evolved = front(tmp_path / "checkpoints" / "readme-evolve")
    assert all(float(r["params"]) <= 5000 for r in evolved)  # the constraint
    assert str(tmp_path / "checkpoints" / "readme-evolve") in completed.stdout
    assert f"'arch': '{evolved[0]['arch']}'" in completed.stdout
