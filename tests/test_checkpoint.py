from __future__ import annotations

import json
import os

import pytest

from evonas.checkpoint import EvaluationRow, RunStore, atomic_write, format_value, parse_value
from evonas.errors import CheckpointError


def new_store(tmp_path, config=None):
    return RunStore.create(tmp_path / "run", config or {"seed": 1}, ["acc", "latency"])


def test_values_round_trip_exactly_through_text():
    for value in (0.1, 1 / 3, 93.97, 387882.0, -2.5e-300, 1e300):
        assert parse_value(format_value(value)) == value
    assert format_value(387882.0) == "387882" and format_value(float("nan")) == ""


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, "old")
    atomic_write(target, "new content")
    assert target.read_text() == "new content"
    assert os.listdir(tmp_path) == ["f.json"]


def test_create_refuses_other_runs_and_non_empty_folders(tmp_path):
    new_store(tmp_path)
    with pytest.raises(CheckpointError, match="already holds this run; resume"):
        new_store(tmp_path)
    with pytest.raises(CheckpointError, match="holds a different run"):
        new_store(tmp_path, {"seed": 2})
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="not empty"):
        RunStore.create(other, {}, ["acc"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a directory"):
        RunStore.create(tmp_path / "file", {}, ["acc"])


def test_unwritable_location_is_a_checkpoint_error(tmp_path):
    (tmp_path / "plain-file").write_text("x")  # a parent that is a file cannot hold a directory, even for root
    with pytest.raises(CheckpointError, match="cannot write run directory"):
        RunStore.create(tmp_path / "plain-file" / "run", {}, ["acc"])


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(CheckpointError, match="not an evonas run directory"):
        RunStore.open(tmp_path)


def test_generation_checksum_catches_corruption_and_falls_back(tmp_path):
    store = new_store(tmp_path)
    store.write_generation(0, {"population": [1, 2]})
    store.write_generation(1, {"population": [3, 4]})
    assert store.load_latest()["population"] == [3, 4]
    path = store.path / "generations" / "000001.json"
    path.write_text(path.read_text().replace("[\n  3", "[\n  5"))  # edited content, stale checksum
    warnings = []
    assert store.load_latest(warn=warnings.append)["population"] == [1, 2]
    assert "fails its checksum" in warnings[0]
    path.write_text(path.read_text()[:40])  # truncated
    assert store.load_latest(warn=warnings.append)["generation"] == 0
    assert "unreadable" in warnings[1]


def test_a_generation_newer_than_latest_is_used(tmp_path):
    store = new_store(tmp_path)
    store.write_generation(0, {"population": []})
    store.write_generation(1, {"population": []})
    (store.path / "LATEST").write_text("000000.json\n")  # crash between the two renames
    assert store.load_latest()["generation"] == 1


def test_evaluations_log_appends_commits_and_cuts_back(tmp_path):
    store = new_store(tmp_path)
    row = EvaluationRow(0, 0, "01201201", (), "sample", "ok", {"acc": 91.25, "latency": 1 / 3}, 0.5)
    store.append_evaluations([row])
    size, digest = store.sync_evaluations()
    later = EvaluationRow(1, 1, "11111111", (0,), "resample", "ok", {"acc": 92.0, "latency": 2.0}, 0.1)
    store.append_evaluations([later])
    with open(store.path / "evaluations.csv", "a") as handle:
        handle.write("1,2,22222222,0,resample,ok,93")  # a line cut off by a crash
    committed, tail = store.read_evaluations(size, digest)
    assert committed == [row] and tail == [later]
    store.truncate_evaluations(size)
    assert store.read_evaluations() == ([row], [])
    with pytest.raises(CheckpointError, match="does not match its checkpoint"):
        store.read_evaluations(size, "0" * 64)


def test_front_file_and_config_update(tmp_path):
    store = new_store(tmp_path)
    store.write_front(["acc", "latency"], [("01201201", [91.25, 0.5]), ("00000000", [45.0, 0.1])])
    assert (store.path / "front.csv").read_text() == "arch,acc,latency\n01201201,91.25,0.5\n00000000,45,0.1\n"
    assert store.read_front() == (["acc", "latency"], [("01201201", [91.25, 0.5]), ("00000000", [45.0, 0.1])])
    store.update_config({"generations": 9})
    assert json.loads((store.path / "run.json").read_text())["generations"] == 9
