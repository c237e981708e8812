from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from evonas.errors import CheckpointError
from evonas.measure.latency import LatencyTable, layers_of, measure_latency, path_modules
from evonas.networks.supernet import Choice
from evonas.spaces import get_space

SHAPE = (1, 1, 8, 8)


@pytest.fixture(scope="module")
def macro():
    space = get_space("macro")
    supernet = space.build_supernet(num_classes=10, in_channels=1, image_size=8, channels=4, head_channels=16)
    layers = layers_of(supernet, SHAPE)
    return space, supernet, layers, LatencyTable.measure(layers)


def test_layers_cover_the_network_in_order_with_their_input_shapes(macro):
    space, supernet, layers, _ = macro
    choices = [layer for layer in layers if isinstance(layer.module, Choice)]
    assert [c.module.gene for c in choices] == list(range(len(space.genes)))
    assert layers[0].module is supernet.network.stem and layers[0].input_shape == SHAPE
    assert layers[-1].module is supernet.network.classifier
    assert choices[1].input_shape == (1, 8, 4, 4)  # after the first stride-2 layer: 2 x 4 channels, half the size


def test_table_has_an_entry_per_distinct_module_and_predicts_the_sum_of_a_paths_entries(macro):
    space, _, layers, table = macro
    expected = {layer.signature(option) for layer in layers
                for option in (layer.module.options if isinstance(layer.module, Choice) else [layer.module])}
    assert set(table.entries) == expected and all(v > 0 for v in table.entries.values())
    genotype = space.decode("01201201")
    path = path_modules(layers, genotype)
    assert table.predict(layers, genotype) == pytest.approx(sum(table.entries[layer.signature(m)] for layer, m in path))
    assert table.predict(layers, space.decode("22222222")) > table.predict(layers, space.decode("00000000"))


def test_table_round_trips_through_json_and_refuses_what_it_cannot_read(macro, tmp_path):
    space, _, layers, table = macro
    table.save(tmp_path / "table.json")
    loaded = LatencyTable.load(tmp_path / "table.json")
    assert loaded.entries == table.entries and loaded.info["threads"] == 1
    (tmp_path / "bad.json").write_text(json.dumps({"version": 99, "entries": {}}))
    with pytest.raises(CheckpointError, match="version 99"):
        LatencyTable.load(tmp_path / "bad.json")
    (tmp_path / "torn.json").write_text((tmp_path / "table.json").read_text()[:50])
    with pytest.raises(CheckpointError, match="unreadable"):
        LatencyTable.load(tmp_path / "torn.json")
    wider = get_space("macro").build_supernet(num_classes=10, in_channels=1, image_size=8, channels=6, head_channels=16)
    with pytest.raises(CheckpointError, match="no entry"):
        table.predict(layers_of(wider, SHAPE), space.decode("01201201"))


def test_measure_latency_uses_the_given_threads_and_restores_the_count():
    before = torch.get_num_threads()
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    assert measure_latency(Probe(), (1, 3), threads=1, warmup=1, repeats=3) >= 0
    assert seen == [1] * 4 and torch.get_num_threads() == before


def test_table_predictions_rank_like_measured_latency_on_clearly_different_networks(macro):
    """Coarse check only (shared machine); benchmarks/latency_table.py reports Spearman over 50 networks."""
    space, _, layers, table = macro
    small, large = space.decode("00000000"), space.decode("22222222")
    timed = [measure_latency(space.build(g, num_classes=10, in_channels=1, image_size=8, channels=4, head_channels=16),
                             SHAPE, repeats=31) for g in (small, large)]
    assert (table.predict(layers, large) > table.predict(layers, small)) == (timed[1] > timed[0])
    assert np.isfinite(timed).all()


def test_measuring_a_table_shows_its_own_bar_over_the_distinct_modules(macro, capsys):
    _, _, layers, _ = macro
    table = LatencyTable.measure(layers[:3], progress=True)
    err = capsys.readouterr().err
    assert "latency table:   0%" in err and f" 0/{len(table.entries)} " in err  # a bar over the distinct modules
    LatencyTable.measure(layers[:1])
    assert capsys.readouterr().err == ""
