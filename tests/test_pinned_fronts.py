"""Today's search, pinned: the fronts and every proposal of table runs. A change to what the default pipeline
proposes, in what order, or whom it keeps, fails here: same seeds, same fronts. The searches as they were before
issue 16 (no gene model, no neutral or swap moves, a predictor pool of 2 that always filters) keep their pins,
computed before the pipeline was composed of pieces (issue 15)."""

from __future__ import annotations

import csv
import hashlib

import pytest

from evonas.populations.manager import SearchOptions
from evonas.populations.screening import ScreenOptions
from evonas.search import RunConfig, Search

NB201_OBJECTIVES = ("acc=cifar10_test_acc", "latency=latency_fpga_ms")
NB201_FRONT = """arch,acc,latency
|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,94.28,7.42096
|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|,94.27,5.93616
|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,94.23,5.42096
|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,94.13,4.16336
|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|,93.84,3.64816
|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|nor_conv_1x1~2|,93.62,3.42096
|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,93.62,3.42096
|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,93.48,2.90576
|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|,92.28,2.39056
|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|,90.74,2.16336
|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|skip_connect~2|,89.86,1.64816
|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|,86.45,1.13296
"""
NB201_FRONT_BEFORE_ISSUE_16 = """arch,acc,latency
|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,94.13,4.16336
|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|,93.97,3.64816
|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,93.62,3.42096
|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,93.48,2.90576
|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|,92.34,2.39056
|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,90.73,2.16336
|nor_conv_1x1~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|,90,2.05776
|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|skip_connect~2|,89.86,1.64816
|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|,86.45,1.13296
"""
BEFORE_ISSUE_16 = {"predictor_pool": 2.0, "predictor_fit": 0.0, "model_share": 0.0, "neutral_moves": False, "swap_moves": False}


def run_digests(config: RunConfig, run_dir) -> tuple[str, str, int]:
    """md5 of front.csv, md5 of every evaluation's (uid, arch, parents, operator) in order, and their number."""
    Search.start(config, run_dir).run()
    with open(run_dir / "evaluations.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    proposals = "\n".join(f"{r['uid']},{r['arch']},{r['parents']},{r['operator']}" for r in rows)
    front = (run_dir / "front.csv").read_text()
    return hashlib.md5(front.encode()).hexdigest(), hashlib.md5(proposals.encode()).hexdigest(), len(rows)


@pytest.mark.parametrize(
    "search, front, digests",
    [
        (SearchOptions(), NB201_FRONT, ("70ef1ff374a08bd71c9fd74b3f74a975", "64668057160334ee15affd689b874fd2", 300)),
        (SearchOptions(**BEFORE_ISSUE_16), NB201_FRONT_BEFORE_ISSUE_16,
         ("07f090d506c423092c8ff0120bb875b4", "bf99bee7a69e44f5a888ff93d1c63a48", 300)),
    ],
    ids=["default", "before-issue-16"],
)
def test_nb201_table_run_of_300_evaluations(nb201_table, tmp_path, search, front, digests):
    config = RunConfig(space="nb201", evaluator="table", evaluator_options={"table": str(nb201_table)},
                       objectives=NB201_OBJECTIVES, evaluations=300, seed=0, search=search)
    assert run_digests(config, tmp_path / "run") == digests
    assert (tmp_path / "run" / "front.csv").read_text() == front


def test_nb201_run_json_written_before_local_search_the_predictor_equivalents_and_the_gene_model(nb201_table, tmp_path):
    config = RunConfig(space="nb201", evaluator="table", evaluator_options={"table": str(nb201_table)},
                       objectives=NB201_OBJECTIVES, evaluations=150, seed=1)
    written = {**config.to_json(), "search": {"population": 20}}  # as run.json was before these options: resumed as it ran
    assert run_digests(RunConfig.from_json(written), tmp_path / "run") == (
        "d0bb63b1e996da47e0b6108588664b7a", "d0e4f320ee5b7bd981dde40f42c7229e", 150)


def macro_config(table, **changes) -> RunConfig:
    return RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(table)}, objectives=("acc=top1", "params"),
                     **changes)


@pytest.mark.parametrize(
    "changes, digests",
    [
        ({"evaluations": 300, "seed": 0}, ("2683a420b90a4492868f1ac8c6f422ce", "3a99b6ad8ef254e3baaabb9ebc42fbdc", 300)),
        ({"evaluations": 300, "seed": 0, "search": SearchOptions(**BEFORE_ISSUE_16)},
         ("430673d4129799a67d87fbbfd6999f15", "daf9ed850a7407fbda6deb1599e67e4a", 300)),
        (
            {"constraints": ("energy_mj<=2.5",), "evaluations": 150, "seed": 3,
             "search": SearchOptions(**{**BEFORE_ISSUE_16, "population": 12, "local_search": 0.25, "predictor_pool": 1.5,
                                        "crossover": "two-point"})},
            ("14c91dcb521b7d0f919ae41e9ffd44e4", "9b696b2febb8e8efd0984f5dc2180ada", 150),
        ),
    ],
    ids=["default", "before-issue-16", "constrained-variation"],
)
def test_macro_table_runs_on_the_synthetic_table(synthetic_table, tmp_path, changes, digests):
    assert run_digests(macro_config(synthetic_table, **changes), tmp_path / "run") == digests


def test_screened_macro_table_run(synthetic_table, tmp_path, one_torch_thread):
    screen = ScreenOptions(proxy="params", factor=3, in_channels=1, image_size=8, widths={"channels": 4, "head_channels": 16})
    config = macro_config(synthetic_table, search=SearchOptions(population=6, **BEFORE_ISSUE_16), screen=screen, generations=3, seed=4)
    assert run_digests(config, tmp_path / "run") == ("5f13e3edd6684935122efd48f61fcc66", "90d3c4caa5bcb3c265c88190402881c2", 24)
