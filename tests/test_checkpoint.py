from __future__ import annotations

import errno
import json
import os

import pytest

from evonas.checkpoint import EvaluationRow, RunStore, _checksum, atomic_write, format_value, parse_value
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


def checkpoint(store, generation, population):
    """A generation file as `Search` writes it, recording evaluations.csv as it is now."""
    size, digest = store.sync_evaluations()
    store.write_generation(generation, {"next_uid": 0, "evaluated": 0, "exhausted": False, "evaluator_seconds": 0.0,
                                        "evaluations_csv": {"bytes": size, "sha256": digest}, "population": population})


def test_generation_checksum_catches_corruption_and_falls_back(tmp_path):
    store = new_store(tmp_path)
    checkpoint(store, 0, [1, 2])
    checkpoint(store, 1, [3, 4])
    assert store.restore_point().state["population"] == [3, 4]
    path = store.path / "generations" / "000001.json"
    path.write_text(path.read_text().replace("[\n  3", "[\n  5"))  # edited content, stale checksum
    warnings = []
    assert store.restore_point(warn=warnings.append).state["population"] == [1, 2]
    assert "fails its checksum" in warnings[0]
    path.write_text(path.read_text()[:40])  # truncated
    assert store.restore_point(warn=warnings.append).state["generation"] == 0
    assert "unreadable" in warnings[1]


def test_a_generation_newer_than_latest_is_used(tmp_path):
    store = new_store(tmp_path)
    checkpoint(store, 0, [])
    checkpoint(store, 1, [])
    (store.path / "LATEST").write_text("000000.json\n")  # crash between the two renames
    assert store.restore_point().state["generation"] == 1


def test_evaluations_log_appends_commits_and_keeps_complete_rows_after_the_checkpoint(tmp_path):
    store = new_store(tmp_path)
    row = EvaluationRow(0, 0, "01201201", (), "sample", "ok", {"acc": 91.25, "latency": 1 / 3}, 0.5)
    store.append_evaluations([row])
    checkpoint(store, 0, [0])
    later = EvaluationRow(1, 1, "11111111", (0,), "resample", "ok", {"acc": 92.0, "latency": 2.0}, 0.1)
    store.append_evaluations([later])
    with open(store.path / "evaluations.csv", "a") as handle:
        handle.write("1,2,22222222,0,resample,ok,93")  # a line cut off by a crash
    point = store.restore_point()
    assert point.committed == [row] and point.tail == [later]
    store.truncate_evaluations(point.size)
    assert store.restore_point().tail == []
    assert (store.path / "evaluations.csv").read_bytes().endswith(b"0.500000\n")


def test_a_truncated_or_edited_log_falls_back_to_the_generation_whose_prefix_matches(tmp_path):
    store = new_store(tmp_path)
    rows = [EvaluationRow(g, g, arch, (), "sample", "ok", {"acc": 90.0 + g, "latency": 1.0}, 0.5)
            for g, arch in enumerate(("01201201", "11111111", "22222222"))]
    for g, row in enumerate(rows):
        store.append_evaluations([row])
        checkpoint(store, g, [g])
    log = store.path / "evaluations.csv"
    original = log.read_bytes()
    log.write_bytes(original[:-1])  # `truncate -s -1`
    warnings = []
    point = store.restore_point(warn=warnings.append)
    assert point.state["generation"] == 1 and point.committed == rows[:2] and point.tail == []  # the altered rows are not reused
    assert "000002.json (truncated or edited)" in warnings[0]
    log.write_bytes(original.replace(b"91,1", b"99,1"))  # an edit inside generation 1's rows
    point = store.restore_point(warn=warnings.append)
    assert point.state["generation"] == 0 and point.committed == rows[:1] and point.tail == []
    log.write_bytes(original[:10])  # not even the header is left
    with pytest.raises(CheckpointError, match="no valid header"):
        store.restore_point()


@pytest.mark.parametrize(
    "field,value",
    [("generation", "1"), ("next_uid", -1), ("evaluated", 2.5), ("exhausted", 0), ("evaluator_seconds", "fast"),
     ("evaluations_csv", {"bytes": "10", "sha256": "0" * 64}), ("evaluations_csv", {"bytes": 10}), ("population", [1, "2"]),
     ("population", {"1": 2}), ("fingerprint", 7), ("generation", 5), ("population", None)],
)
def test_a_generation_forged_with_a_valid_checksum_but_wrong_types_is_a_checkpoint_error(tmp_path, field, value):
    store = new_store(tmp_path)
    checkpoint(store, 1, [1])
    path = store.path / "generations" / "000001.json"
    document = json.loads(path.read_text())
    del document["checksum"]
    document[field] = value
    document["checksum"] = _checksum(document)
    path.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=f"field '{field}'") as raised:
        store.load_generation("000001.json")
    assert "\n" not in str(raised.value)


def test_front_file_and_config_update(tmp_path):
    store = new_store(tmp_path)
    store.write_front(["acc", "latency"], [("01201201", [91.25, 0.5]), ("00000000", [45.0, 0.1])])
    assert (store.path / "front.csv").read_text() == "arch,acc,latency\n01201201,91.25,0.5\n00000000,45,0.1\n"
    assert store.read_front() == (["acc", "latency"], [("01201201", [91.25, 0.5]), ("00000000", [45.0, 0.1])])
    store.update_config({"generations": 9})
    assert json.loads((store.path / "run.json").read_text())["generations"] == 9


def test_atomic_write_leaves_the_old_file_and_no_temporary_when_replace_or_the_disk_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write(target, "old")

    def refuse(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    for name in ("replace", "fsync"):
        with monkeypatch.context() as patch:
            patch.setattr(os, name, refuse)
            with pytest.raises(CheckpointError, match="cannot write .*f.json: No space left on device"):
                atomic_write(target, "new")
        assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            atomic_write(target, "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]


def test_a_generation_reaches_its_name_only_by_renaming_a_synced_temporary(tmp_path, monkeypatch):
    """Writing a generation in place (no temporary, no fsync, no os.replace) fails this test."""
    store = new_store(tmp_path)
    checkpoint(store, 0, [])
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))) or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", str(a), str(b))) or real_replace(a, b))
    checkpoint(store, 1, [])
    target = str(store.path / "generations" / "000001.json")
    (renamed,) = [e for e in events if e[0] == "replace" and e[2] == target]
    at = events.index(renamed)
    assert renamed[1] != target and ("fsync", renamed[1]) in events[:at]  # its content was synced under another name
    assert ("fsync", str(store.path / "generations")) in events[at:]  # then the rename itself
    # a failing rename leaves no generation 1 at all: the newest is still generation 0
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(CheckpointError):
        checkpoint(store, 2, [])
    assert not (store.path / "generations" / "000002.json").exists()
    assert store.restore_point().state["generation"] == 1


def test_a_creation_killed_before_run_json_leaves_a_folder_that_can_be_created_again(tmp_path):
    store = new_store(tmp_path)
    store.close()
    (store.path / "run.json").unlink()  # as if killed just before run.json was renamed into place
    (store.path / ".run.json.123.tmp").write_text("{")
    assert RunStore.create(store.path, {"seed": 2}, ["acc"]).read_config()["seed"] == 2
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "evaluations.csv").write_text("a,b\n1,2\n")  # not a header alone: someone's file
    with pytest.raises(CheckpointError, match="not empty"):
        RunStore.create(tmp_path / "mine", {}, ["acc"])
