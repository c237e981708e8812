from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ArchitectureError, ConfigError
from evonas.genotype import Genotype
from evonas.spaces import SPACES, get_space


def test_registry_lists_spaces_and_rejects_unknown_names_with_the_known_ones():
    assert {"nb201", "macro"} <= set(SPACES)
    with pytest.raises(ConfigError, match="unknown space 'nope'; known: .*macro.*nb201"):
        get_space("nope")


@pytest.mark.parametrize("name,size,genes", [("nb201", 15625, 6), ("macro", 6561, 8), ("mobile", 7**16, 16)])
def test_sizes(name, size, genes):
    space = get_space(name)
    assert space.size == size and len(space.genes) == genes


def test_nb201_string_round_trip_matches_the_official_format():
    space = get_space("nb201")
    text = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    genotype = space.decode(text)
    assert genotype.genes == (4, 2, 1, 2, 1, 1)
    assert space.encode(genotype) == text


@pytest.mark.parametrize(
    "text",
    [
        "|none~0|+|none~0|none~1|",  # two nodes
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",  # wrong source index
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # unknown op
        "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # missing bar
        "|none~0|+|none~0|+|none~0|none~1|none~2|",  # too few edges
    ],
)
def test_nb201_rejects_malformed_strings(text):
    with pytest.raises(ArchitectureError):
        get_space("nb201").decode(text)


@pytest.mark.parametrize("name,text", [("macro", "0120120"), ("macro", "012012012"), ("macro", "01201203"), ("macro", "0120120a"),
                                       ("mobile", "012345601234560"), ("mobile", "0123456012345607")])
def test_single_path_spaces_reject_malformed_strings(name, text):
    with pytest.raises(ArchitectureError, match="digits"):
        get_space(name).decode(text)


def test_mobile_string_round_trip():
    space = get_space("mobile")
    genotype = space.decode("0123456012345606")
    assert genotype.genes[:8] == (0, 1, 2, 3, 4, 5, 6, 0) and space.encode(genotype) == "0123456012345606"


@pytest.mark.parametrize("name", ["nb201", "macro"])
def test_index_enumerates_the_space_bijectively(name):
    space = get_space(name)
    positions = [space.index(space.from_index(i)) for i in range(space.size)]
    assert positions == list(range(space.size))
    assert len({space.encode(space.from_index(i)) for i in range(space.size)}) == space.size


@pytest.mark.parametrize("name", ["nb201", "macro", "mobile"])
def test_sample_is_valid_reproducible_and_covers_every_choice(name):
    space = get_space(name)
    draws = [space.sample(np.random.default_rng(5)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(500)]
    for s in samples:
        space.validate(s)
    for i, gene in enumerate(space.genes):
        assert {s.genes[i] for s in samples} == set(range(len(gene)))


def test_validate_rejects_foreign_and_out_of_range_genotypes():
    space = get_space("macro")
    with pytest.raises(ArchitectureError, match="space 'nb201'"):
        space.validate(Genotype("nb201", (0,) * 8))
    with pytest.raises(ArchitectureError, match="8 genes"):
        space.validate(Genotype("macro", (0,) * 7))
    with pytest.raises(ArchitectureError, match="choice 3"):
        space.validate(Genotype("macro", (0, 0, 0, 3, 0, 0, 0, 0)))


def test_neighbours_differ_in_one_gene_and_respect_order_when_asked():
    space = get_space("macro")
    g = space.decode("01200000")
    every = list(space.neighbours(g))
    assert len(every) == 8 * 2 and len(set(every)) == 16
    assert all(sum(a != b for a, b in zip(n.genes, g.genes)) == 1 for n in every)
    adjacent = list(space.neighbours(g, adjacent_only=True))
    # layer 0 (choice 0) and 2 (choice 2) have one adjacent step, layer 1 (choice 1) two, others one
    assert len(adjacent) == 1 + 2 + 1 + 5
    assert all(abs(a - b) <= 1 for n in adjacent for a, b in zip(n.genes, g.genes))


def test_nb201_canonical_form_sets_edges_that_compute_nothing_to_none():
    space = get_space("nb201")
    dead_end = space.decode("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")  # node 1 reaches no output
    assert str(space.canonical(dead_end)) == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    unfed = space.decode("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|")  # node 1 is zero
    assert str(space.canonical(unfed)) == "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    live = space.decode("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
    assert space.canonical(live) == live
    forms = {space.canonical(space.from_index(i)) for i in range(space.size)}
    assert len(forms) == 9445  # the distinct networks of NAS-Bench-201 (/work/shared/NOTES.md)
    assert all(space.canonical(form) == form for form in forms)


def test_spaces_without_equivalences_are_their_own_canonical_form():
    space = get_space("macro")
    genotype = space.decode("01201201")
    assert space.canonical(genotype) is genotype
