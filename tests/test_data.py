from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.data import CLUTTER, check_labels, clutter, load_dataset
from evonas.errors import ConfigError


def test_cluttered_digits_keep_the_test_split_and_change_train_and_validation_with_the_seed():
    a, again, other = (load_dataset("cluttered-digits", seed=s) for s in (0, 0, 1))
    canvas = CLUTTER["canvas"]
    assert a.x_train.shape[1:] == (1, canvas, canvas) and a.num_classes == 10 and a.image_size == canvas
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == 1797 * CLUTTER["copies"]
    assert torch.equal(a.x_train, again.x_train) and torch.equal(a.y_val, again.y_val)
    # the held-back split depends on the data only (its standardisation uses the training split's statistics)
    assert torch.equal(a.y_test, other.y_test) and torch.equal(a.x_test > a.x_test.min(), other.x_test > other.x_test.min())
    assert not torch.equal(a.x_val, other.x_val)
    assert a.x_train.stride() == torch.empty(a.x_train.shape).stride()
    plain = load_dataset("digits", seed=0)
    assert torch.equal(plain.y_test.repeat_interleave(CLUTTER["copies"]), a.y_test)


def test_clutter_pastes_each_image_whole_among_fragments_of_the_others():
    rng = np.random.default_rng(0)
    images = np.zeros((5, 1, 4, 4), dtype=np.float32)
    for k in range(5):
        images[k, 0] = (k + 1) / 10  # each image one distinct flat value
    out, labels = clutter(images, np.arange(5), rng, canvas=10, copies=3, fragments=2, fragment_size=2)
    assert out.shape == (15, 1, 10, 10) and labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    for k in range(15):
        value = (k // 3 + 1) / 10
        windows = np.lib.stride_tricks.sliding_window_view(out[k, 0], (4, 4))
        assert (windows >= value).all(axis=(2, 3)).any()  # the image is somewhere, whole (max-combined)
        assert np.count_nonzero(out[k]) <= 16 + 2 * 4
    again, _ = clutter(images, np.arange(5), np.random.default_rng(0), canvas=10, copies=3, fragments=2, fragment_size=2)
    assert np.array_equal(out, again)


def test_unknown_data_source_and_impossible_clutter_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="neither an embedded dataset"):
        load_dataset(str(tmp_path / "absent"), seed=0)
    with pytest.raises(ConfigError, match="canvas"):
        clutter(np.zeros((2, 1, 8, 8), np.float32), np.zeros(2), np.random.default_rng(0), canvas=6, copies=1,
                fragments=1, fragment_size=3)


def test_valid_npz_and_image_folders_load_with_every_class_in_every_split(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.integers(0, 256, (40, 6, 6, 3), dtype=np.uint8), y=np.arange(40) % 4)
    for label, name in enumerate(("cat", "dog")):
        (tmp_path / "folder" / name).mkdir(parents=True)
        for k in range(5):
            Image.fromarray(np.full((6, 6, 3), 50 * label + k, dtype=np.uint8)).save(tmp_path / "folder" / name / f"{k}.png")
    for source, classes in ((tmp_path / "data.npz", 4), (tmp_path / "folder", 2)):
        data = load_dataset(str(source), seed=0)
        assert data.num_classes == classes and data.in_channels == 3 and data.image_size == 6
        for labels in (data.y_train, data.y_val, data.y_test):
            assert sorted(set(labels.tolist())) == list(range(classes))


@pytest.mark.parametrize(
    "labels,message",
    [
        ([0, 0, 0], "the labels hold 1 class"),
        ([1, 2, 1], "from 1 to 2 \\(renumber them 0..1\\)"),
        ([0, -1, 0], "from -1 to 0"),
        ([0, 3_000_000, 1], "3 distinct values from 0 to 3000000"),
    ],
)
def test_labels_must_be_0_to_k_minus_1_with_every_class_present(labels, message):
    with pytest.raises(ConfigError, match=message):
        check_labels(np.array(labels), "data.npz")
    assert check_labels(np.array([2, 0, 1, 1]), "data.npz") == 3
