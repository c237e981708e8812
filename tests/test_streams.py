"""The run's random streams keep their spawn keys: changing one would change every result of a seed."""

from __future__ import annotations

import numpy as np

from evonas import streams


def test_every_stream_keeps_its_spawn_key():
    assert streams.evaluation_seed(7, 12).spawn_key == (1, 12)
    assert streams.supernet_seed(7, 1, 3).spawn_key == (3, 1, 3)
    assert streams.retrain_seed(7, 12).spawn_key == (4, 12)
    assert streams.screen_seed(7, 99).spawn_key == (5, 99)
    assert all(seed.entropy == 7 for seed in (streams.evaluation_seed(7, 0), streams.screen_seed(7, 0)))


def test_generators_draw_what_their_spawn_keys_give():
    def expected(entropy, key):
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key)).integers(2**62, size=3).tolist()

    assert streams.generation_rng(7, 4).integers(2**62, size=3).tolist() == expected(7, (0, 4))
    assert streams.data_split_rng(7).integers(2**62, size=3).tolist() == expected(7, (2,))
    assert streams.clutter_rng(2).integers(2**62, size=3).tolist() == expected(20260102, (2,))
    assert streams.held_out_split_rng().integers(2**62, size=3).tolist() == np.random.default_rng(20260101).integers(2**62, size=3).tolist()
    assert streams.generation_rng(7, 4).random() != streams.generation_rng(8, 4).random()


def test_no_module_derives_a_stream_of_its_own():
    from pathlib import Path

    package = Path(streams.__file__).parent
    derived = [p.relative_to(package).as_posix() for p in package.rglob("*.py") if "spawn_key=" in p.read_text() and p.name != "streams.py"]
    assert derived == []
