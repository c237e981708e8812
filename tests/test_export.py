from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from evonas.errors import CheckpointError, ConfigError
from evonas.export import PUBLISHED_INPUT, export, load_network
from evonas.history import RunHistory
from evonas.populations.manager import SearchOptions
from evonas.report import front_table
from evonas.search import RunConfig, Search
from evonas.spaces import get_space
from evonas.training import accuracy
from tests.tables import finished_run

TINY = {"data": "digits", "epochs": 2, "batch_size": 128, "calibration_batches": 2, "widths": {"channels": 4, "head_channels": 16}}


@pytest.fixture(scope="module")
def supernet_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "supernet"
    config = RunConfig(space="macro", evaluator="supernet", evaluator_options=TINY, objectives=("acc", "params"),
                       search=SearchOptions(population=6), generations=1, seed=4)
    search = Search.start(config, run_dir)
    search.run()
    return run_dir, search.evaluator


def test_exported_network_reproduces_the_accuracy_the_search_measured(supernet_run, tmp_path):
    run_dir, evaluator = supernet_run
    history = RunHistory.load(run_dir)
    best = front_table(history).rows[0][0]
    out, inherited = export(run_dir, tmp_path / "best.pt", rank=1)
    assert inherited
    document = json.loads((tmp_path / "best.json").read_text())
    assert document["arch"] == best and document["space"] == "macro" and document["inherited_weights"]
    network = load_network(out)
    measured = next(r.metrics["acc"] for r in history.rows if r.arch == best)
    assert accuracy(network, evaluator.data.x_val, evaluator.data.y_val) == pytest.approx(measured, abs=1e-9)
    # The in-run network: the supernet on that path after BatchNorm recalibration.
    genotype = get_space("macro").decode(best)
    in_run = evaluator.inherited_network(genotype)
    x = evaluator.data.x_val[:16]
    assert torch.allclose(network(x), in_run(x), atol=1e-6)


def test_torchscript_and_onnx_give_the_same_outputs(supernet_run, tmp_path):
    run_dir, evaluator = supernet_run
    arch = front_table(RunHistory.load(run_dir)).rows[-1][0]
    reference = load_network(export(run_dir, tmp_path / "net.pt", arch=arch)[0])
    x = evaluator.data.x_val[:8]
    scripted = torch.jit.load(str(export(run_dir, tmp_path / "net.ts", arch=arch)[0]))
    assert torch.allclose(scripted(x), reference(x), atol=1e-5)
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(str(export(run_dir, tmp_path / "net.onnx", arch=arch)[0]))
    onnx.checker.check_model(model)
    (logits,) = ReferenceEvaluator(model).run(None, {"images": x.numpy()})
    assert np.allclose(logits, reference(x).detach().numpy(), atol=1e-4)


def test_a_table_run_exports_the_published_network_untrained(synthetic_table, tmp_path):
    finished_run(synthetic_table, tmp_path / "run", generations=1)
    out, inherited = export(tmp_path / "run", tmp_path / "net.pt", arch="01201201")
    assert not inherited
    network = load_network(out)
    assert network(torch.zeros(2, PUBLISHED_INPUT["in_channels"], 32, 32)).shape == (2, 10)
    assert json.loads((tmp_path / "net.json").read_text())["metrics"] == {}  # never evaluated by the run


def test_bad_requests_are_errors(synthetic_table, tmp_path):
    finished_run(synthetic_table, tmp_path / "run", generations=1)
    with pytest.raises(ConfigError, match="exactly one of"):
        export(tmp_path / "run", tmp_path / "a.pt")
    with pytest.raises(ConfigError, match="--rank 999"):
        export(tmp_path / "run", tmp_path / "a.pt", rank=999)
    with pytest.raises(ConfigError, match="--arch"):
        export(tmp_path / "run", tmp_path / "a.pt", arch="9")
    with pytest.raises(ConfigError, match="cannot export to 'a.h5'"):
        export(tmp_path / "run", tmp_path / "a.h5", rank=1)
    (tmp_path / "junk.pt").write_bytes(b"not a network")
    with pytest.raises(CheckpointError, match="not a network exported by evonas"):
        load_network(tmp_path / "junk.pt")
