from __future__ import annotations

import pytest

import evonas.evaluators.train as train_module
from evonas.data import load_dataset
from evonas.errors import ConfigError
from evonas.evaluators.supernet import DEFAULT_DATA
from evonas.history import RunHistory
from evonas.report import front_table, read_retrain, with_test_accuracy
from evonas.retrain import retrain
from tests.tables import finished_run

SMALL = {"epochs": 1}


@pytest.fixture
def table_run(synthetic_table, tmp_path):
    finished_run(synthetic_table, tmp_path / "run", generations=1)
    return tmp_path / "run"


def test_retrain_trains_the_best_of_the_front_and_records_test_accuracy(table_run, monkeypatch):
    calls = []
    original = train_module.TrainEvaluator._trained_accuracy

    def recording(trainer, candidate):
        calls.append(trainer)
        return original(trainer, candidate)

    monkeypatch.setattr(train_module.TrainEvaluator, "_trained_accuracy", recording)
    table = retrain(table_run, top=2, epochs=1)
    front = front_table(RunHistory.load(table_run))
    assert [row[1] for row in table.rows] == [row[0] for row in front.rows[:2]]
    assert table.header == ["rank", "arch", "search_acc", "search_params", "test_acc", "epochs", "seconds"]
    assert all(0 <= float(row[4]) <= 100 and row[5] == "1" for row in table.rows)
    assert [row[2] for row in table.rows] == [row[1] for row in front.rows[:2]]  # the search's estimate beside it
    assert all(trainer.final and trainer.training.epochs == 1 for trainer in calls) and len(calls) == 2
    assert read_retrain(table_run).rows == table.rows
    shown = with_test_accuracy(front, read_retrain(table_run))
    assert shown.header[-1] == "test_acc" and shown.rows[0][-1] == f"{float(table.rows[0][4]):.6g}" and shown.rows[-1][-1] == ""


def test_a_second_call_only_trains_what_is_missing_and_repeats_exactly(table_run, monkeypatch):
    first = retrain(table_run, top=1, epochs=1)
    calls = []
    original = train_module.TrainEvaluator._trained_accuracy
    monkeypatch.setattr(train_module.TrainEvaluator, "_trained_accuracy", lambda trainer, c: calls.append(c) or original(trainer, c))
    second = retrain(table_run, top=2, epochs=1)
    assert len(calls) == 1 and second.rows[0] == first.rows[0]
    (table_run / "retrain.csv").unlink()
    again = retrain(table_run, top=2, epochs=1)
    assert [row[4] for row in again.rows] == [row[4] for row in second.rows]  # same seed per architecture


def test_bad_top_is_an_error(table_run):
    with pytest.raises(ConfigError, match="--top must be at least 1"):
        retrain(table_run, top=0)


def test_test_acc_is_measured_on_the_test_split_after_training_on_training_and_validation(table_run, monkeypatch):
    """Reporting the validation accuracy (or training on the training split alone) as test_acc fails this test."""
    trained_on = []
    monkeypatch.setattr(train_module, "train_network", lambda model, x, y, *args, **kwargs: trained_on.append(len(x)))
    monkeypatch.setattr(train_module, "accuracy", lambda model, x, y: float(len(y)))  # names the split by its size
    table = retrain(table_run, top=1, epochs=1)
    data = load_dataset(DEFAULT_DATA, seed=RunHistory.load(table_run).config["seed"])
    assert len(data.y_test) != len(data.y_val)
    assert float(table.rows[0][4]) == len(data.y_test)
    assert trained_on == [len(data.y_train) + len(data.y_val)]
