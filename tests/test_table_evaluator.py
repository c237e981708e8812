from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError, TableError
from evonas.evaluators import Candidate, make_evaluator
from evonas.spaces import get_space
from tests.tables import write_macro_table

MACRO = get_space("macro")


def candidates(*archs):
    return [Candidate(i, MACRO.decode(a), a, np.random.SeedSequence(i)) for i, a in enumerate(archs)]


def table_evaluator(path, sources):
    return make_evaluator("table", space=MACRO, sources=sources, state_dir=None, options={"table": str(path)})


def test_lookup_maps_metric_names_to_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arch,top1,size\n00000000,50.5,100\n22222222,91,900\n")
    evaluator = table_evaluator(path, {"acc": "top1", "params": "size"})
    results = list(evaluator.evaluate(candidates("22222222", "00000000")))
    assert [r.metrics for r in results] == [{"acc": 91.0, "params": 900.0}, {"acc": 50.5, "params": 100.0}]


def test_same_column_may_serve_two_metrics(tmp_path):
    path = write_macro_table(tmp_path / "full.csv")
    evaluator = table_evaluator(path, {"acc": "top1", "latency": "energy_mj", "energy": "energy_mj"})
    (result,) = evaluator.evaluate(candidates("01201201"))
    assert result.metrics["latency"] == result.metrics["energy"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("name,top1\n00000000,1\n", "no 'arch' column"),
        ("arch,other\n00000000,1\n", "no column 'top1'"),
        ("arch,top1\n00000000,1\n00000001,high\n", r"line 3, column 'top1': 'high' is not a number"),
        ("arch,top1\n00000000,1\n0000000x,2\n", r"line 3: not a NAS-Bench-Macro arch string"),
        ("arch,top1\n00000000,1\n,2\n", "line 3: empty arch"),
        ("arch,top1\n00000000,1\n00000000,2\n", "listed already on line 2"),
        ("arch,top1\n00000000,1,7\n", "line 2: 3 fields"),
        ("arch,top1\n", "no rows"),
        ("arch,top1\n00000000,nan\n", "NaN"),
        ("arch,top1\n00000000,1\n00000001,-inf\n", "line 3, column 'top1': value is infinite"),
        ("arch,top1\n\"" + "0" * 200_000 + "\",1\n", "not a readable CSV: field larger than field limit"),
        (b"arch,top1\n00000000,\xff\xfe\n", "not a CSV text file"),
    ],
)
def test_malformed_tables_are_named_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(TableError, match=message):
        table_evaluator(path, {"acc": "top1"})


def test_missing_file_and_missing_option(tmp_path):
    with pytest.raises(TableError, match="cannot read table"):
        table_evaluator(tmp_path / "absent.csv", {"acc": "top1"})
    with pytest.raises(ConfigError, match="needs --table"):
        make_evaluator("table", space=MACRO, sources={"acc": "top1"}, state_dir=None, options={})
    with pytest.raises(ConfigError, match="does not take --epochs"):
        make_evaluator("table", space=MACRO, sources={}, state_dir=None, options={"table": "x", "epochs": 3})


def test_architecture_missing_from_the_table_is_an_error(tmp_path):
    path = tmp_path / "partial.csv"
    path.write_text("arch,top1\n00000000,1\n")
    evaluator = table_evaluator(path, {"acc": "top1"})
    with pytest.raises(TableError, match="11111111 is not in table"):
        list(evaluator.evaluate(candidates("11111111")))


def test_published_tables_load_whole(nb201_table, macro_table):
    nb201 = make_evaluator(
        "table", space=get_space("nb201"), sources={"acc": "cifar10_test_acc"}, state_dir=None, options={"table": str(nb201_table)}
    )
    assert len(nb201.rows) == 15625
    macro = table_evaluator(macro_table, {"acc": "cifar10_test_acc", "params": "params"})
    assert len(macro.rows) == 6561 and macro.rows["00000000"] == (45.3633, 387882.0)
