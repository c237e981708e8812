from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from evonas.measure.size import count_flops, count_params
from evonas.networks.supernet import Supernet
from evonas.spaces import get_space

SPACES = ("nb201", "macro", "mobile")
# Narrow networks keep the tests fast; the structure is the same at any width.
SMALL = {"nb201": {"channels": 4, "cells_per_stage": 2}, "macro": {"channels": 4, "head_channels": 16},
         "mobile": {"channels": 4, "head_channels": 16}}


def small(space_name, genotype=None, *, num_classes=10, in_channels=1, image_size=8, seed=0):
    space = get_space(space_name)
    generator = torch.Generator().manual_seed(seed)
    shape = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size, "generator": generator}
    if genotype is None:
        return space.build_supernet(**shape, **SMALL[space_name])
    return space.build(genotype, **shape, **SMALL[space_name])


def uniform(space_name, choice):
    space = get_space(space_name)
    return space.make([choice] * len(space.genes))


NB201_NO_CONV = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|avg_pool_3x3~1|skip_connect~2|",
]
NB201_ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("arch,params", [(NB201_NO_CONV[0], 73_306), (NB201_NO_CONV[1], 73_306), (NB201_ALL_CONV3, 1_531_546)])
def test_nb201_default_network_has_the_published_parameter_count(arch, params):
    space = get_space("nb201")
    network = space.build(space.decode(arch), num_classes=10, in_channels=3, image_size=32)
    assert count_params(network) == params


def test_macro_default_network_matches_the_published_params_and_flops(macro_table):
    space = get_space("macro")
    with open(macro_table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked = [rows[i] for i in np.random.default_rng(0).choice(len(rows), size=12, replace=False)]
    for row in [*picked, next(r for r in rows if r["arch"] == "00000000")]:
        network = space.build(space.decode(row["arch"]), num_classes=10, in_channels=3, image_size=32)
        assert count_params(network) == int(row["params"]), row["arch"]
        assert count_flops(network, (1, 3, 32, 32)) == 2 * int(row["flops"]), row["arch"]  # table counts multiply-adds


def test_macro_identity_network_has_the_published_parameter_count():
    space = get_space("macro")
    assert count_params(space.build(space.decode("00000000"), num_classes=10, in_channels=3, image_size=32)) == 387_882


def test_mobile_choices_grow_in_parameters_at_default_widths():
    space = get_space("mobile")
    counts = [count_params(space.build(uniform("mobile", c), num_classes=10, in_channels=3, image_size=32))
              for c in range(len(space.genes[0]))]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    assert space.size == 7**16


@pytest.mark.parametrize("space_name", SPACES)
@pytest.mark.parametrize("in_channels,image_size,num_classes", [(1, 8, 10), (3, 32, 4), (1, 28, 2), (3, 7, 5)])
def test_networks_fit_any_image_shape_and_class_count(space_name, in_channels, image_size, num_classes):
    space = get_space(space_name)
    genotype = space.sample(np.random.default_rng(image_size))
    network = small(space_name, genotype, num_classes=num_classes, in_channels=in_channels, image_size=image_size)
    out = network(torch.randn(3, in_channels, image_size, image_size))
    assert out.shape == (3, num_classes) and torch.isfinite(out).all()


@pytest.mark.parametrize("space_name", SPACES)
def test_every_choice_of_every_gene_builds_and_runs(space_name):
    space = get_space(space_name)
    sizes = set()
    for choice in range(len(space.genes[0])):
        network = small(space_name, uniform(space_name, choice))
        assert network(torch.randn(2, 1, 8, 8)).shape == (2, 10)
        sizes.add(count_params(network))
    assert len(sizes) >= 3  # the choices are really different networks


@pytest.mark.parametrize("space_name", SPACES)
def test_initialisation_depends_on_the_generator_only_and_leaves_global_state_alone(space_name):
    genotype = uniform(space_name, 1)
    before = torch.random.get_rng_state()
    first, again, other = (small(space_name, genotype, seed=s).state_dict() for s in (1, 1, 2))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)
    unseeded = get_space(space_name).build(genotype, num_classes=10, in_channels=1, image_size=8, **SMALL[space_name])
    seeded_zero = small(space_name, genotype, seed=0).state_dict()
    assert all(torch.equal(seeded_zero[k], v) for k, v in unseeded.state_dict().items())


def train_a_little(supernet: Supernet, rng: np.random.Generator, steps: int = 5) -> None:
    """A few SGD steps on random paths, so that the weights are no longer their initial values."""
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    supernet.train()
    for _ in range(steps):
        supernet.select(supernet.space.sample(rng))
        x = torch.randn(8, 1, 8, 8, generator=generator)
        y = torch.randint(0, 10, (8,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(supernet(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize("space_name", SPACES)
def test_subnet_is_the_built_network_with_the_paths_weights_and_outputs(space_name):
    space = get_space(space_name)
    supernet = small(space_name)
    rng = np.random.default_rng(3)
    train_a_little(supernet, rng)
    x = torch.randn(6, 1, 8, 8)
    for _ in range(4):
        genotype = space.sample(rng)
        subnet = supernet.subnet(genotype)
        built = small(space_name, genotype)
        assert type(subnet) is type(built) and subnet.state_dict().keys() == built.state_dict().keys()
        assert count_params(subnet) < count_params(supernet)
        for mode in (False, True):  # inference (running statistics) and training (batch statistics)
            supernet.train(mode)
            subnet.train(mode)
            with torch.no_grad():
                torch.testing.assert_close(subnet(x), supernet.select(genotype)(x), rtol=0, atol=0)


def test_supernet_paths_share_the_weights_of_common_choices():
    space = get_space("macro")
    supernet = small("macro")
    a, b = space.decode("12012012"), space.decode("12000000")
    shared = supernet.path_state_dict(a)["layers.0.conv.0.weight"]
    assert shared.data_ptr() == supernet.path_state_dict(b)["layers.0.conv.0.weight"].data_ptr()
    assert supernet.path_state_dict(a)["layers.1.conv.0.weight"].shape != (
        supernet.path_state_dict(space.decode("11000000"))["layers.1.conv.0.weight"].shape
    )


def test_supernet_refuses_to_run_before_a_path_is_selected_and_rejects_foreign_genotypes():
    supernet = small("macro")
    with pytest.raises(RuntimeError, match="select a path"):
        supernet(torch.randn(1, 1, 8, 8))
    with pytest.raises(Exception, match="space 'nb201'"):
        supernet.select(uniform("nb201", 0))


def test_nb201_genotypes_with_the_same_canonical_form_compute_the_same_outputs_with_the_same_weights(one_torch_thread):
    space = get_space("nb201")
    supernet = space.build_supernet(num_classes=10, in_channels=3, image_size=8, channels=4, cells_per_stage=1,
                                    generator=torch.Generator().manual_seed(3)).eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    rng = np.random.default_rng(5)
    pairs = 0
    with torch.no_grad():
        while pairs < 6:
            genotype = space.sample(rng)
            form = space.canonical(genotype)
            if form == genotype:
                continue
            assert torch.equal(supernet.select(genotype)(x), supernet.select(form)(x)), str(genotype)
            pairs += 1
        live = space.decode("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
        changed = live.replace(0, 2)  # a live edge changed: another function
        assert not torch.allclose(supernet.select(live)(x), supernet.select(changed)(x))
