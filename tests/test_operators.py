from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonas.genotype import Genotype
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.operators.surgery import EDITS
from evonas.spaces import get_space

SPACES = ["nb201", "macro"]
# Operators of every space; the surgery space's own edits are tested in test_surgery.py.
GENERIC_MUTATIONS = sorted(set(MUTATIONS) - {"edit", *EDITS})
GENERIC_CROSSOVERS = sorted(set(CROSSOVERS) - {"layers"})


def genotypes(space_name: str):
    space = get_space(space_name)
    return st.tuples(*(st.integers(0, len(g) - 1) for g in space.genes)).map(lambda genes: Genotype(space_name, genes))


@pytest.mark.parametrize("name", GENERIC_MUTATIONS)
@pytest.mark.parametrize("space_name", SPACES)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_mutation_gives_a_valid_different_genotype_and_leaves_the_parent(name, space_name, data, seed):
    space = get_space(space_name)
    parent = data.draw(genotypes(space_name))
    before = parent.genes
    child = MUTATIONS[name](parent, space, rng=np.random.default_rng(seed))
    space.validate(child)
    assert child != parent
    assert parent.genes == before


@pytest.mark.parametrize("space_name", SPACES)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_neighbour_mutation_changes_exactly_one_gene_by_one_step_when_ordinal(space_name, data, seed):
    space = get_space(space_name)
    parent = data.draw(genotypes(space_name))
    child = MUTATIONS["neighbour"](parent, space, rng=np.random.default_rng(seed))
    changed = [i for i, (a, b) in enumerate(zip(parent.genes, child.genes)) if a != b]
    assert len(changed) == 1
    if space.genes[changed[0]].ordinal:
        assert abs(parent.genes[changed[0]] - child.genes[changed[0]]) == 1


@pytest.mark.parametrize("name", GENERIC_CROSSOVERS)
@pytest.mark.parametrize("space_name", SPACES)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_crossover_children_are_valid_and_take_each_gene_from_a_parent(name, space_name, data, seed):
    space = get_space(space_name)
    a, b = data.draw(genotypes(space_name)), data.draw(genotypes(space_name))
    before = (a.genes, b.genes)
    first, second = CROSSOVERS[name](a, b, space, rng=np.random.default_rng(seed))
    for child in (first, second):
        space.validate(child)
    for i in range(len(a.genes)):
        assert {first.genes[i], second.genes[i]} == {a.genes[i], b.genes[i]}
    assert (a.genes, b.genes) == before


def test_two_point_crossover_swaps_one_contiguous_segment():
    space = get_space("macro")
    a, b = space.decode("00000000"), space.decode("22222222")
    for seed in range(50):
        first, _ = CROSSOVERS["two-point"](a, b, space, rng=np.random.default_rng(seed))
        text = space.encode(first)
        assert text.strip("0") == "2" * text.count("2")  # one run of 2s inside 0s
        assert 0 < text.count("2") < 8


def test_resample_mutation_changes_about_one_gene_on_average():
    space = get_space("nb201")
    rng = np.random.default_rng(0)
    parent = space.decode("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    changes = [sum(a != b for a, b in zip(parent.genes, MUTATIONS["resample"](parent, space, rng=rng).genes)) for _ in range(2000)]
    assert min(changes) == 1 and max(changes) >= 3
    assert 1.2 < np.mean(changes) < 1.8  # 1/n per gene, at least one change: E = 1 + (1-1/n)^... ~ 1.4 for n=6
